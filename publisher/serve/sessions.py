"""The server's publish sessions: one per accepted PUT, queued and run in background threads
through the same workflow as `publisher apply` (make_plan, apply_plan, the ledger).

Publications into one table run one at a time, in the order they were accepted; others run
in parallel up to ``concurrency``. Each run plans again, live, just before it runs: the table
may have changed since the PUT was planned (an earlier publication in the queue, a CI apply).
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from publisher.apply.executor import StepEvent
from publisher.engines.pool import Pool
from publisher.inputs.config import Config
from publisher.inputs.spec import Spec
from publisher.model.errors import Errors, PlanStale, PublisherError
from publisher.model.identity import PublicationId
from publisher.model.plan import RowCheck
from publisher.planning.ledger import Entry
from publisher.serve.redact import Redactor
from publisher.workflow.apply import apply_plan
from publisher.workflow.make import make_plan

State = Literal["Created", "InProgress", "Complete", "Failed"]
Reason = Literal["JobStarted", "JobRunning", "AlreadyPublished"]

log = logging.getLogger("publisher.serve")

STALE_ATTEMPTS = 5
"""Plans of a session, when other processes keep changing its table while it waits for the lock."""
STOPPED = "the server stopped before this publication started; nothing ran: PUT it again"


def session_id(run_id: str) -> str:
    """A ledger run id as a session id: the CLI's hex uuid in the platform's dashed form."""
    try:
        return str(uuid.UUID(run_id))
    except ValueError:
        return run_id


def _iso(moment: datetime | None) -> str | None:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None


@dataclass
class StepRecord:
    index: int  # 1-based; 0 for an undo or a tidy-up after a failure
    purpose: str
    state: str = "running"  # running | done | failed
    started: float = field(default_factory=time.monotonic)
    elapsed: float | None = None
    rows: int | None = None

    def to_json(self) -> dict[str, Any]:
        elapsed = self.elapsed if self.elapsed is not None else time.monotonic() - self.started
        return {
            "index": self.index,
            "purpose": self.purpose,
            "state": self.state,
            "elapsedSeconds": round(elapsed, 3),
            "rows": self.rows,
        }


@dataclass
class Session:
    """One publish request and what became of it."""

    id: str
    job_group: int
    publication: dict[str, Any]
    spec: Spec | None = None  # None for a session read back from the ledger
    reason: Reason = "JobStarted"
    state: State = "Created"
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    started_at: datetime | None = None
    finished_at: datetime | None = None
    steps: list[StepRecord] = field(default_factory=list)
    error: str | None = None
    note: str | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def active(self) -> bool:
        return self.state in ("Created", "InProgress")

    def to_json(self) -> dict[str, Any]:
        return {
            "sessionId": self.id,
            "jobgroupId": self.job_group,
            "state": self.state,
            "reason": self.reason,
            "publication": self.publication,
            "createdAt": _iso(self.created_at),
            "startedAt": _iso(self.started_at),
            "finishedAt": _iso(self.finished_at),
            "steps": [s.to_json() for s in self.steps],
            "error": self.error,
            "note": self.note,
            "warnings": self.warnings,
        }


def describe(spec: Spec) -> dict[str, Any]:
    """A spec as a session shows it: the publication's identity and where it goes."""
    pid = spec.id
    return {
        "jobGroup": pid.job_group,
        "flowNodeId": pid.flow_node_id,
        "connection": {"id": spec.connection.id, "name": spec.connection.name},
        "database": pid.database,
        "table": pid.table,
        "action": pid.action,
        "inputFormat": spec.input_format,
        # What the plan writes, known once planned, whatever becomes of it:
        "plannedTable": None,
        "resultRows": None,  # the results' rows, from their metadata (null for CSV and JSON)
        # What is published: null until the session is Complete, and for ever if it fails (a failed
        # publication is undone: the table holds none of its rows).
        "publishedTable": None,
        "rows": None,
    }


def describe_entry(entry: Entry, connection_name: str) -> dict[str, Any]:
    """A ledger row as the publications endpoint and ledger-read sessions show it."""
    return {
        "jobGroup": entry.job_group,
        "flowNodeId": entry.flow_node_id,
        "connection": {"id": entry.connection_id, "name": connection_name},
        "database": entry.database_name,
        "table": entry.table_name,
        "action": entry.action,
        "state": "published" if entry.state == "done" else "pending",  # pending alone: interrupted, or running
        "plannedTable": entry.published_table,
        "resultRows": entry.row_count,
        # A pending row is not a publication (yet): nothing of it is reported as published.
        "publishedTable": entry.published_table if entry.state == "done" else None,
        "rows": entry.row_count if entry.state == "done" else None,
        "at": str(entry.published_at)[:19].replace(" ", "T") + "Z",
        "sessionId": session_id(entry.run_id),
        "specFile": entry.spec_file,
        "specHash": entry.spec_hash,
        "detail": entry.detail,  # what apply found: rows a merge replaced, partitions switched
    }


TableKey = tuple[int, str, str]

KEPT = 10_000
"""Finished sessions kept in memory; older ones are answered from the ledgers."""


def table_key(pid: PublicationId) -> TableKey:
    return (pid.connection_id, pid.database, pid.table)


class Sessions:
    """Every session of this server process, and the threads that run them."""

    def __init__(self, config: Config, concurrency: int, redactor: Redactor) -> None:
        self.config = config
        self.redact = redactor
        self._lock = threading.Lock()
        self._by_id: dict[str, Session] = {}
        self._latest: dict[int, Session] = {}  # job group -> its newest session
        self._active: dict[PublicationId, Session] = {}
        self._queues: dict[TableKey, deque[Session]] = {}  # waiting, per table
        self._busy: set[TableKey] = set()  # tables with a publication running
        self._threads = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="publish")
        self._serial = threading.Lock()  # the executor's statements that must run alone (ledger inserts)
        self._stopping = False
        self._finished: deque[Session] = deque()

    def get(self, sid: str) -> Session | None:
        with self._lock:
            return self._by_id.get(sid)

    def latest(self, job_group: int) -> Session | None:
        with self._lock:
            return self._latest.get(job_group)

    def active(self, pid: PublicationId) -> Session | None:
        with self._lock:
            return self._active.get(pid)

    def counts(self) -> dict[str, int]:
        with self._lock:
            states = [s.state for s in self._active.values()]
        return {"queued": states.count("Created"), "running": states.count("InProgress")}

    def remember(self, session: Session) -> Session:
        """A finished session (already published): kept, unless one of that id is known."""
        with self._lock:
            known = self._by_id.setdefault(session.id, session)
            self._latest[known.job_group] = known
            if known is session:
                self._forget_old(session)
            return known

    def _forget_old(self, finished: Session) -> None:
        """Keep at most KEPT finished sessions (called holding the lock)."""
        self._finished.append(finished)
        while len(self._finished) > KEPT:
            old = self._finished.popleft()
            self._by_id.pop(old.id, None)
            if self._latest.get(old.job_group) is old:
                del self._latest[old.job_group]

    def submit(self, spec: Spec) -> Session:
        """A new session for ``spec``, queued behind its table's earlier publications."""
        session = Session(str(uuid.uuid4()), spec.job_group, describe(spec), spec)
        key = table_key(spec.id)
        with self._lock:
            if self._stopping:
                raise PublisherError("the server is shutting down: try again when it is back")
            self._by_id[session.id] = session
            self._latest[session.job_group] = session
            self._active[spec.id] = session
            self._queues.setdefault(key, deque()).append(session)
            log.info("session %s: queued %s", session.id, _label(session))
            self._next(key)
        return session

    def _next(self, key: TableKey) -> None:
        """Start the table's next waiting session, unless one runs (called holding the lock)."""
        if key in self._busy or not self._queues.get(key):
            return
        session = self._queues[key].popleft()
        self._busy.add(key)
        self._threads.submit(self._run, session, key)

    def _run(self, session: Session, key: TableKey) -> None:
        try:
            self._publish(session)
        except BaseException as exc:  # a bug must not stop the queue of this table
            self._finish(session, "Failed", error=f"internal error (a bug in publisher): {type(exc).__name__}: {exc}")
        finally:
            with self._lock:
                self._busy.discard(key)
                if session.spec is not None:
                    self._active.pop(session.spec.id, None)
                self._forget_old(session)
                if not self._stopping:
                    self._next(key)

    def _publish(self, session: Session) -> None:
        assert session.spec is not None
        session.state, session.started_at = "InProgress", datetime.now(UTC)
        log.info("session %s: started %s", session.id, _label(session))
        pool = Pool(self.config)
        try:
            for attempt in range(1, STALE_ATTEMPTS + 1):
                # Planned again now: the table or the ledger may have changed since the PUT.
                plan = make_plan(self.config, [session.spec], pool, offline=False)
                publication = plan.publications[0]
                session.publication.update(plannedTable=publication.table, resultRows=publication.rows)
                if publication.status not in ("pending", "unfinished"):
                    self._finish(session, "Complete", note=f"already published: {publication.status_detail}")
                    return
                outcome = apply_plan(
                    plan,
                    self.config,
                    pool,
                    listener=lambda kind, event: self._step(session, kind, event),
                    run_id=session.id,
                    serial=self._serial,
                )[0]
                if not isinstance(outcome.error, PlanStale) or attempt == STALE_ATTEMPTS:
                    break
                # Another process changed the table while this one waited for its lock: nothing ran.
                log.info("session %s: %s; planned again", session.id, self.redact(outcome.error.message))
                session.steps.clear()
        except Errors as exc:
            self._finish(session, "Failed", error="; ".join(e.message for e in exc.errors))
            return
        except Exception as exc:  # a connection dropped, an engine that would not start
            self._finish(session, "Failed", error=f"{type(exc).__name__}: {exc}")
            return
        finally:
            pool.close()
        if outcome.error is not None:
            self._finish(session, "Failed", error=outcome.error.message)
        elif outcome.skipped:
            self._finish(session, "Complete", note="already published by another apply while this one ran")
        elif publication.status == "unfinished":
            self._finish(session, "Complete", note=f"published before, finished now: {publication.status_detail}")
        else:
            self._finish(session, "Complete")

    def _step(self, session: Session, kind: str, event: StepEvent) -> None:
        if kind == "start":
            session.steps.append(StepRecord(event.index, event.step.purpose))
        elif kind == "done":
            step = next((s for s in reversed(session.steps) if s.state == "running"), None)
            if step is not None:
                step.state, step.elapsed = "done", event.elapsed
                counted = isinstance(event.step, RowCheck) and event.step.checks[:1] == ("rows",)
                step.rows = event.result if counted and isinstance(event.result, int) else None
        elif kind == "warning":
            session.warnings.append(self.redact(f"{event.step.purpose}: {event.result}"))

    def _finish(self, session: Session, state: State, *, error: str | None = None, note: str | None = None) -> None:
        for step in session.steps:
            if step.state == "running":
                step.state, step.elapsed = "failed", time.monotonic() - step.started
        session.error = self.redact(" ".join(error.split())) if error else None
        session.note = note
        if state == "Complete" and session.publication.get("plannedTable") is not None:
            # Only now is the plan's table and row count what the target holds (checked by counting).
            session.publication.update(
                publishedTable=session.publication["plannedTable"], rows=session.publication["resultRows"]
            )
        session.finished_at = datetime.now(UTC)
        session.state = state
        took = (session.finished_at - (session.started_at or session.created_at)).total_seconds()
        if state == "Failed":
            log.warning("session %s: failed %s after %.1fs: %s", session.id, _label(session), took, session.error)
        else:
            log.info(
                "session %s: %s %s in %.1fs%s",
                session.id,
                state.lower(),
                _label(session),
                took,
                f" ({note})" if note else "",
            )

    def shutdown(self) -> None:
        """Cancel what waits, wait for what runs."""
        with self._lock:
            self._stopping = True
            waiting = [s for queue in self._queues.values() for s in queue]
            for queue in self._queues.values():
                queue.clear()
            for session in waiting:
                if session.spec is not None:
                    self._active.pop(session.spec.id, None)
        for session in waiting:
            self._finish(
                session, "Failed", error="the server stopped before this publication started; nothing ran: PUT it again"
            )
        running = self.counts()["running"]
        if running:
            log.info("shutting down: waiting for %d running publication(s)", running)
        self._threads.shutdown(wait=True)


def _label(session: Session) -> str:
    p = session.publication
    return f"jobGroup {p['jobGroup']} / flowNodeId {p['flowNodeId']}: {p['action']} into {p['database']}.{p['table']}"
