"""The single place where plan steps run: dry-run writes them, apply executes them."""

from __future__ import annotations

import os
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from publisher.errors import PublishFailed
from publisher.plan import Publication, Step
from publisher.relation import Relation
from publisher.targets.base import Target


class ObjectStore(Protocol):
    def put(self, uri: str, body: str) -> None: ...
    def delete(self, uri: str) -> None: ...


@dataclass
class StepEvent:
    publication: Publication
    index: int  # 1-based; 0 for undo and on-failure steps
    step: Step
    elapsed: float
    result: Any = None


Listener = Callable[[str, StepEvent], None]


def _quiet(kind: str, event: StepEvent) -> None:
    pass


def fill_secrets(sql: str, names: tuple[str, ...]) -> str:
    """``${NAME}`` references of the step's secrets replaced by their values, at the last moment."""
    for name in names:
        value = os.environ.get(name)
        if value is None:
            raise PublishFailed(f"environment variable {name} is not set (a secret the load needs)")
        sql = sql.replace(f"${{{name}}}", value.replace("'", "''"))
    return sql


def mask_secrets(text: str, names: tuple[str, ...]) -> str:
    """``text`` with any secret value of ``names`` replaced by its reference."""
    for name in names:
        value = os.environ.get(name)
        if value:
            text = text.replace(value, f"${{{name}}}")
    return text


class AlreadyPublished(Exception):
    """A guard found the publication in the ledger: another apply published it."""


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return re.sub(r"\s+", " ", text.splitlines()[0])[:500]


@dataclass
class Executor:
    """Runs one publication's steps against an open target."""

    target: Target | None
    objects: ObjectStore | None = None
    dry_run: bool = False
    listener: Listener = _quiet
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    serial: threading.Lock = field(default_factory=threading.Lock)  # shared by parallel executors
    captured: dict[str, int] = field(default_factory=dict)

    def run(self, publication: Publication) -> None:
        """All steps in order; on failure the undo of completed steps, newest first, then the
        publication's on-failure steps. (On success, the steps themselves tidy up.)"""
        undo: list[Step] = []
        self.captured = {}
        for index, step in enumerate(publication.steps, start=1):
            try:
                self._run_step(publication, index, step)
            except AlreadyPublished:
                self._give_up(publication, undo)
                raise
            except PublishFailed as exc:
                self._give_up(publication, undo)
                raise PublishFailed(f"{publication.label}: step {index} ({step.purpose}): {exc.message}") from None
            except Exception as exc:  # the engine's error, reported in one line
                self._give_up(publication, undo)
                message = mask_secrets(_first_line(exc), step.secrets)
                raise PublishFailed(f"{publication.label}: step {index} ({step.purpose}) failed: {message}") from None
            if step.commits:
                undo.clear()
            elif step.undo:
                undo.append(step)

    def _run_step(self, publication: Publication, index: int, step: Step) -> None:
        self.listener("start", StepEvent(publication, index, step, 0.0))
        started = time.monotonic()
        if self.dry_run:
            result = None
        elif step.serial:
            with self.serial:
                result = self._execute(step)
        else:
            result = self._execute(step)
        self.listener("done", StepEvent(publication, index, step, time.monotonic() - started, result))

    def _execute(self, step: Step) -> Any:
        if step.kind == "put_object":
            assert self.objects is not None and step.body is not None
            self.objects.put(step.sql, step.body)
            return None
        if step.kind == "delete_object":
            assert self.objects is not None
            self.objects.delete(step.sql)
            return None
        if step.kind == "check_location":
            assert self.target is not None
            database, _, name = step.sql.partition(".")
            found = self.target.table_location(Relation(database, None, name))
            if found != step.body:
                raise PublishFailed(f"{step.sql} is at {found}, not at {step.body} as planned; nothing was swapped")
            return None
        assert self.target is not None
        sql = self._fill(step)
        if step.expect_rows is None and step.capture is None and not step.guard:
            self.target.execute(sql)
            return None
        count = int(self.target.fetch(sql)[0][0])
        if step.guard and count:
            raise AlreadyPublished()
        if step.capture:
            self.captured[step.capture] = count
        if step.expect_rows is not None:
            expected = step.expect_rows + (self.captured[step.plus] if step.plus else 0)
            if count != expected:
                raise PublishFailed(f"found {count} rows, expected {expected}")
        return count

    def _fill(self, step: Step) -> str:
        """The statement with its run-time values: captured counts, run id, time, secrets."""
        sql = step.sql
        for name in step.fills:
            sql = sql.replace(f"@@{name}@@", str(self.captured[name]))
        now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")
        sql = sql.replace("@@run_id@@", self.run_id).replace("@@now@@", now)
        return fill_secrets(sql, step.secrets)

    def _give_up(self, publication: Publication, undo: list[Step]) -> None:
        for step in reversed(undo):
            assert step.undo is not None
            if not self._best_effort(publication, Step(step.undo, f"undo: {step.purpose}")):
                # Later undos assume this one happened (a DROP after a failed move back
                # could delete the table's data): stop, and leave the state as it is.
                self.listener("warning", StepEvent(publication, 0, step, 0.0, "undo stopped here: check the table"))
                return
        for step in publication.on_failure:
            self._best_effort(publication, step)

    def _best_effort(self, publication: Publication, step: Step) -> bool:
        # A failed undo or tidy-up must not hide the error that caused it; it is reported.
        try:
            self._run_step(publication, 0, step)
        except Exception as exc:
            self.listener("warning", StepEvent(publication, 0, step, 0.0, mask_secrets(_first_line(exc), step.secrets)))
            return False
        return True
