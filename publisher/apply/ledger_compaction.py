"""Hive: the ledger kept to a few files.

Every INSERT into a Hive table leaves a file, and every read of the ledger (each plan, each
apply's guard) lists and opens all of them: 10,000 publications left 20,000 files, and
planning paid 16.7 s for them (bench/ledger_history.py). The ledger's rows are written into
the partition of their UTC day (planning/ledger.py). A day is closed when no apply writes
into it any more: ``OPEN_DAYS`` back by this machine's clock, a day's margin for clocks
apart and for a statement started before midnight.

A compaction, under the lock table ``<ledger>__compaction`` (table_lock.py; skipped while
another apply holds it):

1. drops what the newest earlier compaction holds (every day up to its last, and the older
   compactions), once that compaction is ``SETTLE`` old. Not at once: Spark skips a listed
   partition whose folder is gone, so a plan or a guard that listed the partitions before the
   copy existed and read them after the drop would miss rows without an error;
2. copies the closed days and the earlier compactions into a new partition
   ``compacted-<last day>-<UTC time>``, as one file, each row once (SELECT DISTINCT), and
   checks that it holds as many rows as it read, or drops it again.

No row is deleted before a compaction an hour old holds it: an apply killed at any point
loses none; a row is read twice at most (a copy and what it copied), and ledger.parse keeps
one.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from publisher.apply import table_lock
from publisher.dialects import Dialect
from publisher.model.errors import PublishFailed
from publisher.model.plan import CompactLedger, ReleaseLock, TakeLock
from publisher.model.relation import Relation
from publisher.model.target import Target
from publisher.planning import ledger

OPEN_DAYS = 2
"""Today and yesterday are written into; a day before that is closed."""
SETTLE = timedelta(hours=1)
"""How old a compaction is before the rows it copied are dropped."""

DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
COMPACTED = re.compile(r"compacted-(\d{4}-\d{2}-\d{2})-(\d{14})")
TIME_FORMAT = "%Y%m%d%H%M%S"


@dataclass(frozen=True)
class Work:
    """What a compaction does to partitions (values of ``written``) found at one moment."""

    drop: tuple[str, ...]  # held by a settled compaction
    copy: tuple[str, ...]  # into a new compaction: empty when no closed day is new
    last_day: str = ""  # the newest closed day copied

    def __bool__(self) -> bool:
        return bool(self.drop or self.copy)


def work(partitions: list[str], now: datetime) -> Work:
    last_open = now.date() - timedelta(days=OPEN_DAYS)
    closed = sorted(p for p in partitions if DAY.fullmatch(p) and date.fromisoformat(p) <= last_open)
    made = sorted((m[1], m[2], p) for p in partitions if (m := COMPACTED.fullmatch(p)))
    drop: tuple[str, ...] = ()
    held_to = ""
    if made:
        held_to, when, _ = made[-1]
        if now - datetime.strptime(when, TIME_FORMAT).replace(tzinfo=UTC) >= SETTLE:
            drop = (*(d for d in closed if d <= held_to), *(p for *_, p in made[:-1]))
    kept = [d for d in closed if d not in drop]
    if not any(d > held_to for d in kept):
        return Work(drop, ())
    return Work(drop, (*kept, *(p for *_, p in made if p not in drop)), kept[-1])


def compact(
    target: Target,
    dialect: Dialect,
    step: CompactLedger,
    run_id: str,
    say: Callable[[str], None],
    now: datetime | None = None,
) -> str:
    """Compact the ledger; what was done, in a few words."""
    now = now or datetime.now(UTC)
    home = Relation(step.database, None, step.table)
    if not work(_partitions(target, dialect, home), now):
        return "nothing to compact"
    table = dialect.table(home)
    # No ledger check of the holder: a compaction runs after its publication is recorded done.
    lock = TakeLock(step.database, step.table, step.lock, 0, step.purpose, refresh=(table,))
    try:
        table_lock.take(target, dialect, lock, run_id, say)
    except PublishFailed as exc:
        return f"skipped: {exc.message}"
    try:
        return _compact_locked(target, dialect, home, work(_partitions(target, dialect, home), now), now)
    finally:
        table_lock.drop_if_held(target, dialect, ReleaseLock(step.database, step.lock, step.purpose), run_id)


def _compact_locked(target: Target, dialect: Dialect, home: Relation, todo: Work, now: datetime) -> str:
    table = dialect.table(home)
    said = []
    if todo.drop:
        target.execute(drop_partitions(dialect, home, todo.drop))
        said.append(f"dropped {len(todo.drop)} partition(s) a compaction holds")
    if todo.copy:
        made = f"compacted-{todo.last_day}-{now.strftime(TIME_FORMAT)}"
        columns = ", ".join(dialect.quote(n) for n in ledger.NAMES)
        source = f"{columns} FROM {table}\n{_where(dialect, todo.copy)}"
        expected = int(target.fetch(f"SELECT COUNT(*) FROM (SELECT DISTINCT {source}) copied")[0][0])
        written = f"{dialect.quote(ledger.WRITTEN)} = {dialect.literal(made)}"
        # One file: COALESCE is Spark's hint; Apache Hive reads it as a comment.
        target.execute(f"INSERT INTO TABLE {table} PARTITION ({written})\nSELECT /*+ COALESCE(1) */ DISTINCT {source}")
        found = int(target.fetch(f"SELECT COUNT(*) FROM {table} WHERE {written}")[0][0])
        if found != expected:
            target.execute(drop_partitions(dialect, home, (made,)))
            raise PublishFailed(f"the ledger's compaction {made} held {found:,} rows, not {expected:,}: dropped again")
        said.append(f"{len(todo.copy)} partition(s), {expected:,} rows, copied into {made}")
    return "; ".join(said) or "nothing to compact"


def _where(dialect: Dialect, partitions: tuple[str, ...]) -> str:
    return f"WHERE {dialect.quote(ledger.WRITTEN)} IN ({', '.join(dialect.literal(p) for p in partitions)})"


def drop_partitions(dialect: Dialect, home: Relation, partitions: tuple[str, ...]) -> str:
    specs = ", ".join(f"PARTITION ({dialect.quote(ledger.WRITTEN)} = {dialect.literal(p)})" for p in partitions)
    return f"ALTER TABLE {dialect.table(home)} DROP IF EXISTS {specs}"


def _partitions(target: Target, dialect: Dialect, home: Relation) -> list[str]:
    """The values of ``written``, from SHOW PARTITIONS rows such as ``written=2026-12-02``."""
    rows = target.fetch(f"SHOW PARTITIONS {dialect.table(home)}")
    return [str(r[0]).partition("=")[2] for r in rows]
