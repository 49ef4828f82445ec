"""Hive: one writer per table, through a lock table beside it.

Hive has no transactions across statements, but the metastore's CREATE TABLE is atomic
and fails when the table exists: whoever creates ``<table>__lock`` holds the lock, and
drops it after its last change (or after a failure). Its properties say who holds it:
run, host, process and since when, and when its lease ends. A lock is taken over when
its holder is gone: its process has ended on this host (or, in this process, its run has
ended), or its lease has expired (a holder on another host that died).

The takeover has one window: two waiters that find the same dead lock at once may both
drop it; the second drop can then remove the first waiter's new lock. Each waiter reads
the lock again just before dropping it and drops only the one it judged dead, which
narrows the window to the two statements between them.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from publisher.dialects import Dialect
from publisher.model.errors import PublishFailed
from publisher.model.plan import ReleaseLock, TakeLock
from publisher.model.relation import Relation
from publisher.model.target import Target

POLL_SECONDS = 1.0
LEASE_SECONDS = 6 * 3600
"""How long a lock of a holder on another host is honoured: longer than any publication."""

HOLDER_READS = 3
"""Reads of a lock's properties that fail while the lock is there (dropped and taken again)."""

_held: set[str] = set()  # runs of this process that hold a lock now
_held_guard = threading.Lock()


@dataclass(frozen=True)
class Holder:
    run: str
    host: str
    pid: int
    since: str
    expires: float

    def gone(self, now: float) -> bool:
        if now > self.expires:
            return True
        if self.host != socket.gethostname():
            return False
        if self.pid == os.getpid():
            with _held_guard:
                return self.run not in _held  # a run of this process that ended without releasing
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        return False

    def shown(self) -> str:
        return f"run {self.run} on {self.host} (pid {self.pid}) since {self.since} UTC"


def take(target: Target, dialect: Dialect, step: TakeLock, run_id: str, say: Callable[[str], None]) -> str:
    """Create the lock table, waiting while a live holder has it; returns who held it before, if anyone."""
    lock = Relation(step.database, None, step.lock)
    deadline = time.monotonic() + step.wait_seconds
    waited_for: Holder | None = None
    while True:
        current = _try_create(target, dialect, lock, run_id)
        if current is None:
            _refresh(target, dialect, step.refresh)
            return f"taken (after waiting for {waited_for.shown()})" if waited_for else "taken"
        if current.gone(time.time()) or _finished(target, dialect, step.ledger, current.run):
            again = _holder(target, dialect, lock)
            if again is not None and again.run == current.run:
                target.execute(dialect.drop_table(lock, if_exists=True))
                say(f"took over the lock on {step.database}.{step.table} from {current.shown()}, which is gone")
            continue
        if waited_for is None or waited_for.run != current.run:
            say(f"waiting for {current.shown()}, which is publishing into {step.database}.{step.table}")
            waited_for = current
        if time.monotonic() > deadline:
            raise PublishFailed(
                f"gave up after {step.wait_seconds}s waiting for the lock on {step.database}.{step.table}, "
                f"held by {current.shown()}"
            )
        time.sleep(POLL_SECONDS)


def _refresh(target: Target, dialect: Dialect, tables: tuple[str, ...]) -> None:
    """Spark's REFRESH TABLE: the session reads the files now there, not those it listed
    before. Only where the engine caches file lists: Apache Hive has no such statement."""
    if not dialect.caches_file_lists:
        return
    for table in tables:
        # A table not made yet (the first publication's) has no list to drop: Spark's error
        # for it says nothing the next statement would not.
        with contextlib.suppress(Exception):
            target.execute(f"REFRESH TABLE {table}")


def _try_create(target: Target, dialect: Dialect, lock: Relation, run_id: str) -> Holder | None:
    """None: the lock is ours now; else who holds it."""
    while True:
        now = time.time()
        holder = Holder(run_id, socket.gethostname(), os.getpid(), _utc(now), now + LEASE_SECONDS)
        with _held_guard:
            _held.add(run_id)
        try:
            target.execute(_create(dialect, lock, holder))
            return None
        except Exception:
            with _held_guard:
                _held.discard(run_id)
            current = _holder(target, dialect, lock)
            if current is None:
                continue  # released between the two statements: try again
            if current.run == run_id:
                raise  # our own CREATE failed for another reason
            return current


def drop_if_held(target: Target, dialect: Dialect, step: ReleaseLock, run_id: str) -> str:
    """Drop the lock table if this run holds it: a lock taken over, or a table publisher did
    not make, is left alone."""
    lock = Relation(step.database, None, step.lock)
    try:
        holder = _holder(target, dialect, lock)
    except PublishFailed:
        return "not ours: left alone"
    if holder is None or not (holder.run == run_id or _finished(target, dialect, step.ledger, holder.run)):
        return "not held by this run: left alone"
    target.execute(dialect.drop_table(lock, if_exists=True))
    return "released"


def _finished(target: Target, dialect: Dialect, ledger: str, run: str) -> bool:
    """Whether the ledger records the holder's run as done: it was killed after its last
    change, before dropping its lock. (Each publication's run id is its own.)"""
    if not ledger:
        return False
    _refresh(target, dialect, (ledger,))
    where = f"{dialect.quote('run_id')} = {dialect.literal(run)} AND {dialect.quote('state')} = 'done'"
    query = f"SELECT COUNT(*) FROM {ledger} WHERE {where}"
    return int(target.fetch(query)[0][0]) > 0


def release(run_id: str) -> None:
    """The run ended (its release statement ran, or it failed): its lock is no longer live."""
    with _held_guard:
        _held.discard(run_id)


def _create(dialect: Dialect, lock: Relation, holder: Holder) -> str:
    props = {
        "publisher.run": holder.run,
        "publisher.host": holder.host,
        "publisher.pid": str(holder.pid),
        "publisher.since": holder.since,
        "publisher.expires": str(int(holder.expires)),
    }
    listed = ", ".join(f"{dialect.literal(k)}={dialect.literal(v)}" for k, v in props.items())
    return f"CREATE TABLE {dialect.table(lock)} (held_by STRING) TBLPROPERTIES ({listed})"


def _holder(target: Target, dialect: Dialect, lock: Relation) -> Holder | None:
    """Who holds the lock, from its properties; None when there is no lock table now."""
    for attempt in range(HOLDER_READS):
        try:
            rows = target.fetch(f"SHOW TBLPROPERTIES {dialect.table(lock)}")
            break
        except Exception:
            # Listing the database's tables costs a metastore call on every release: only
            # when the properties cannot be read is it asked whether the lock is there at all.
            if lock.name not in target.table_names(lock):
                return None  # no lock, or dropped in between
            if attempt == HOLDER_READS - 1:
                raise
            # There now: dropped and taken again by a third apply between the two statements.
    props = {str(r[0]).strip(): str(r[1]).strip() for r in rows if len(r) >= 2}
    if "publisher.run" not in props:
        raise PublishFailed(
            f"{lock} exists and is not a lock publisher took: rename it (publisher names its table lock so)"
        )
    try:
        return Holder(
            props.get("publisher.run", "?"),
            props.get("publisher.host", "?"),
            int(props.get("publisher.pid", "0")),
            props.get("publisher.since", "?"),
            float(props.get("publisher.expires", "0")),
        )
    except ValueError:
        return Holder(props["publisher.run"], "?", 0, "?", 0.0)  # unreadable lease: expired


def _utc(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%d %H:%M:%S")
