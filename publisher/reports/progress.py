"""Apply progress: each publication and step with elapsed time and rows, then a summary.
On a terminal the running step shows a live clock; in CI logs, plain lines only."""

from __future__ import annotations

import sys
import threading
import time
from typing import TextIO

from publisher.apply.executor import StepEvent
from publisher.model.errors import PublishFailed
from publisher.model.plan import Publication
from publisher.reports.render import step_lines


class Progress:
    def __init__(self, *, dry_run: bool = False, steps: bool = True, out: TextIO | None = None) -> None:
        self.out = out or sys.stdout
        self.dry_run = dry_run
        self.steps = steps  # False when publications run in parallel: their steps would interleave
        self.live = self.out.isatty() and not dry_run
        self.started = time.monotonic()
        self._publication_started: dict[int, float] = {}
        self._step_started: float | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None
        if self.live:
            self._ticker = threading.Thread(target=self._tick, daemon=True)
            self._ticker.start()

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def _print(self, text: str, *, err: bool = False) -> None:
        with self._lock:
            if self.live:
                self.out.write("\r\033[K")  # clear the live clock line
            print(text, file=sys.stderr if err else self.out, flush=True)

    def _tick(self) -> None:
        while not self._stop.wait(0.5):
            with self._lock:
                if self._step_started is not None:
                    self.out.write(f"\r\033[K        ... {time.monotonic() - self._step_started:.0f}s")
                    self.out.flush()

    def publication(self, kind: str, pub: Publication, error: PublishFailed | None) -> None:
        if kind == "start":
            self._publication_started[id(pub)] = time.monotonic()
            self._print(
                f"\n==> {pub.spec_file}: {pub.label}: {pub.action} into {pub.database}.{pub.table} on {pub.connection}"
            )
            return
        took = time.monotonic() - self._publication_started.pop(id(pub))
        if error is None:
            verb = "would publish" if self.dry_run else "published"
            rows = "" if pub.rows is None else f", {pub.rows:,} rows"
            self._print(f"==> {verb} {pub.label} ({took:.1f}s{rows})")
        else:
            self._print(f"==> FAILED {pub.label} after {took:.1f}s")

    def step(self, kind: str, event: StepEvent) -> None:
        if not self.steps and kind not in ("warning", "note", "retry"):
            return
        if kind == "start":
            if event.index:
                self._print("\n".join(step_lines(event.step, f"{event.index}.")))
            self._step_started = time.monotonic()
        elif kind == "done":
            self._step_started = None
            if not event.index or self.dry_run:
                return
            if isinstance(event.result, str):
                self._print(f"        -> {event.result} ({event.elapsed:.1f}s)")
            elif event.result is not None:
                self._print(f"        -> {event.result:,} rows ({event.elapsed:.1f}s)")
            else:
                self._print(f"        -> ok ({event.elapsed:.1f}s)")
        elif kind == "note":
            self._print(f"note: {event.publication.label}: {event.result}", err=True)
        elif kind == "retry":
            # The engine aborted the transaction for a conflict; it runs again from its start.
            self._step_started = None
            self._print(f"retry: {event.publication.label}: step {event.index} ({event.step.purpose}): {event.result}")
        elif kind == "warning":
            self._print(f"warning: {event.publication.label}: {event.step.purpose} failed: {event.result}", err=True)

    def close(self) -> None:
        self._stop.set()
        if self._ticker:
            self._ticker.join()
