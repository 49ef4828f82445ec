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
   compactions), once that compaction is ``SETTLE`` old, and only after a count shows that
   every row of them is in it (a row written late into a copied day, by a clock far behind,
   is not: then nothing is dropped and a new compaction copies them all). Not at once after
   copying: Spark skips a listed partition whose folder is gone, so a plan or a guard that
   listed the partitions before the copy existed and read them after the drop would miss
   rows without an error;
2. copies the closed days and the earlier compactions into a new partition
   ``compacted-<last day>-<UTC time>``, each row once (SELECT DISTINCT), into one file (one
   reducer: DISTRIBUTE BY a constant), and checks that it holds as many rows as it read, or
   drops it again.

No row is deleted unless a compaction at least an hour old is counted to hold it: an apply
killed at any point loses none; meanwhile a row may be read more than once (its day, a
compaction, a newer one), and ledger.parse keeps one.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from publisher.apply import table_lock
from publisher.apply.shared_inserts import alongside_others
from publisher.dialects import Dialect
from publisher.dialects.hive import partition_values
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
    held_by: str = ""  # the compaction that holds the rows of ``drop``

    def __bool__(self) -> bool:
        return bool(self.drop or self.copy)


def work(partitions: list[str], now: datetime, *, recopy: bool = False) -> Work:
    """``recopy``: the newest compaction lacks rows of what it would drop: drop nothing, and
    copy every closed day and compaction into a new one."""
    last_open = now.date() - timedelta(days=OPEN_DAYS)
    closed = sorted(p for p in partitions if (d := _date(p)) is not None and d <= last_open)
    made = sorted((m[1], m[2], p) for p in partitions if (m := COMPACTED.fullmatch(p)) and _time(m[2]) is not None)
    if recopy:
        every = (*closed, *(p for *_, p in made))
        return Work((), every, max([*closed, *(d for d, *_ in made)])) if len(every) > 1 else Work((), ())
    drop: tuple[str, ...] = ()
    held_to = held_by = ""
    if made:
        held_to, when, newest = made[-1]
        if now - (_time(when) or now) >= SETTLE:
            drop = (*(d for d in closed if d <= held_to), *(p for *_, p in made[:-1]))
            held_by = newest if drop else ""
    kept = [d for d in closed if d not in drop]
    if not any(d > held_to for d in kept):
        return Work(drop, (), held_by=held_by)
    return Work(drop, (*kept, *(p for *_, p in made if p not in drop)), kept[-1], held_by)


def _date(value: str) -> date | None:
    """A day partition's date; None for any other name (left alone)."""
    try:
        return date.fromisoformat(value) if DAY.fullmatch(value) else None
    except ValueError:
        return None


def _time(stamp: str) -> datetime | None:
    try:
        return datetime.strptime(stamp, TIME_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        return None


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
    # Another apply compacting is no reason to wait or to say so: the skip says who holds it.
    quiet = lambda text: None if text.startswith("waiting for") else say(text)  # noqa: E731
    try:
        table_lock.take(target, dialect, lock, run_id, quiet)
    except PublishFailed as exc:
        return f"skipped: {exc.message}"
    try:
        return _compact_locked(target, dialect, home, now)
    finally:
        table_lock.drop_if_held(target, dialect, ReleaseLock(step.database, step.lock, step.purpose), run_id)


def _compact_locked(target: Target, dialect: Dialect, home: Relation, now: datetime) -> str:
    found = _partitions(target, dialect, home)
    todo = work(found, now)
    said = []
    if todo.drop:
        # Dropped only if all their rows are in it: its own count was checked when it was
        # made, unless that apply was killed first; and a late row may have come since.
        held = _distinct_rows(target, dialect, home, (todo.held_by,))
        if _distinct_rows(target, dialect, home, (*todo.drop, todo.held_by)) == held:
            target.execute(drop_partitions(dialect, home, todo.drop))
            said.append(f"dropped {len(todo.drop)} partition(s) {todo.held_by} holds")
        else:
            said.append(f"{todo.held_by} lacks rows of the partitions it would replace: none dropped")
            todo = work(found, now, recopy=True)
    if todo.copy:
        made = f"compacted-{todo.last_day}-{now.strftime(TIME_FORMAT)}"
        expected = _distinct_rows(target, dialect, home, todo.copy)
        written = f"{dialect.quote(ledger.WRITTEN)} = {dialect.literal(made)}"
        # One reducer, one file, in Spark and in Apache Hive alike: every row to the same one.
        rows = f"SELECT DISTINCT {_source(dialect, home, todo.copy)}\nDISTRIBUTE BY 1"
        with alongside_others(target, dialect):  # other applies record into the ledger meanwhile
            target.execute(f"INSERT INTO TABLE {dialect.table(home)} PARTITION ({written})\n{rows}")
        held = int(target.fetch(f"SELECT COUNT(*) FROM {dialect.table(home)} WHERE {written}")[0][0])
        if held != expected:
            target.execute(drop_partitions(dialect, home, (made,)))
            raise PublishFailed(f"the ledger's compaction {made} held {held:,} rows, not {expected:,}: dropped again")
        said.append(f"{len(todo.copy)} partition(s), {expected:,} rows, copied into {made}")
    return "; ".join(said) or "nothing to compact"


def _source(dialect: Dialect, home: Relation, partitions: tuple[str, ...]) -> str:
    """Every ledger column of the rows of ``partitions``: the part of a SELECT after its keyword."""
    columns = ", ".join(dialect.quote(n) for n in ledger.NAMES)
    values = ", ".join(dialect.literal(p) for p in partitions)
    return f"{columns} FROM {dialect.table(home)}\nWHERE {dialect.quote(ledger.WRITTEN)} IN ({values})"


def _distinct_rows(target: Target, dialect: Dialect, home: Relation, partitions: tuple[str, ...]) -> int:
    return int(target.fetch(f"SELECT COUNT(*) FROM (SELECT DISTINCT {_source(dialect, home, partitions)}) d")[0][0])


def drop_partitions(dialect: Dialect, home: Relation, partitions: tuple[str, ...]) -> str:
    specs = ", ".join(f"PARTITION ({dialect.quote(ledger.WRITTEN)} = {dialect.literal(p)})" for p in partitions)
    return f"ALTER TABLE {dialect.table(home)} DROP IF EXISTS {specs}"


def _partitions(target: Target, dialect: Dialect, home: Relation) -> list[str]:
    """The values of ``written``, from SHOW PARTITIONS rows such as ``written=2026-12-02``."""
    rows = target.fetch(f"SHOW PARTITIONS {dialect.table(home)}")
    return [partition_values(str(r[0]))[0][1] for r in rows]
