"""The publication ledger: which publications a target already holds, kept in that target.

A publication's identity is (jobGroup, flowNodeId, connection, database, table, action).
Rows are only ever inserted: 'pending' before a Hive load starts, 'done' when it is
complete (on Redshift in the load's own transaction). The newest 'done' row says what
was published; a 'pending' row without a later 'done' marks an interrupted publish.

On Hive every INSERT leaves a file, and every read of the ledger opens them all: its rows
are partitioned by the UTC day they were written (``written``), and an apply rewrites the
days no apply writes into any more as one file (apply/ledger_compaction.py). Until a later
compaction, an hour on at least, drops what one copied, a row may be read more than once:
``parse`` keeps one.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from publisher.dialects import Dialect
from publisher.dialects.base import ColumnDef
from publisher.inputs.spec import Spec
from publisher.model.identity import PublicationId
from publisher.model.location import Location
from publisher.model.plan import CompactLedger, Guard, LedgerRecord, Param, SqlPart, Step, sql
from publisher.model.relation import Relation

# (column, logical type): int, text or timestamp; each dialect names the SQL types.
COLUMNS: tuple[tuple[str, str], ...] = (
    ("job_group", "int"),
    ("flow_node_id", "int"),
    ("connection_id", "int"),
    ("database_name", "text"),
    ("table_name", "text"),
    ("action", "text"),
    ("state", "text"),
    ("published_table", "text"),
    ("row_count", "int"),
    ("rows_before", "int"),
    ("stamp", "text"),
    ("location_before", "text"),
    ("spec_file", "text"),
    ("spec_hash", "text"),
    ("spec_b64", "text"),
    ("run_id", "text"),
    ("published_at", "timestamp"),
    ("detail", "text"),
    ("project", "text"),
)
NAMES = tuple(name for name, _ in COLUMNS)
WRITTEN = "written"
"""The Hive ledger's partition column: the UTC day a row was written (YYYY-MM-DD), or
``compacted-...`` for the rows a compaction rewrote. Ledgers of earlier versions lack it."""
ADDED_LATER = ("detail", "project")
"""Columns that ledgers made by earlier versions lack: read as NULL there, and added by the
next apply (``upgrade``)."""


@dataclass(frozen=True)
class Entry:
    """One ledger row."""

    job_group: int
    flow_node_id: int
    connection_id: int
    database_name: str
    table_name: str
    action: str
    state: str
    published_table: str
    row_count: int | None
    rows_before: int | None
    stamp: str
    location_before: str | None
    spec_file: str
    spec_hash: str
    spec_b64: str
    run_id: str
    published_at: datetime | str
    detail: str | None = None  # what apply found: the rows a merge replaced, the partitions switched
    project: str | None = None  # the publishing project's name; None: none was set (or an earlier version wrote it)

    @property
    def id(self) -> PublicationId:
        return PublicationId(
            self.job_group, self.flow_node_id, self.connection_id, self.database_name, self.table_name, self.action
        )

    @property
    def spec(self) -> dict[str, Any]:
        """The spec as it was when published."""
        try:
            loaded: dict[str, Any] = json.loads(base64.b64decode(self.spec_b64))
            return loaded
        except ValueError:
            return {}


def owned(entry: Entry, project: str | None) -> bool:
    """Whether the row belongs to ``project``: its own name, or none (rows of unnamed projects
    and of earlier versions, which any project takes as its own, as those versions did)."""
    return entry.project is None or entry.project == project


def same_elsewhere(entry: Entry, spec: Spec) -> bool:
    """A row of another project for the same job, recipe, table and action: connection ids
    are each project's own, so the connection is not compared."""
    mine = spec.id
    return (
        not owned(entry, spec.project)
        and (entry.job_group, entry.flow_node_id, entry.action) == (mine.job_group, mine.flow_node_id, mine.action)
        and (entry.database_name, entry.table_name) == (mine.database, mine.table)
    )


def in_publication_order(entries: Iterable[Entry]) -> tuple[Entry, ...]:
    """Retention's candidates, oldest first. Rows written before the ledger's time had
    microseconds can share a second: their stamps, which a later plan moves past names in use,
    tell them apart, never the order the engine happened to return them in."""
    return tuple(sorted(entries, key=lambda e: (str(e.published_at), e.published_table, e.state == "retired")))


def relation(spec: Spec) -> Relation:
    """Where the ledger of the spec's connection lives."""
    return spec.connection.ledger_relation(spec.relation)


def parse(rows: list[tuple[Any, ...]]) -> list[Entry]:
    """The rows as entries, each once: a compaction's copy and the rows it copied are both
    read until the copied ones are dropped."""
    return [Entry(*row) for row in dict.fromkeys(tuple(row) for row in rows)]


def select_all(dialect: Dialect, ledger: Relation, lacking: tuple[str, ...] = ()) -> str:
    """Every row; ``lacking``: columns an older ledger does not have yet, read as NULL."""
    names = ", ".join("NULL" if n in lacking else n for n in NAMES)
    return f"SELECT {names} FROM {dialect.table(ledger)}"


def select_where(
    dialect: Dialect, ledger: Relation, column: str, value: int | str, lacking: tuple[str, ...] = ()
) -> str:
    """The rows whose ``column`` (one of NAMES) equals ``value``, a literal of the dialect."""
    assert column in NAMES, column
    return f"{select_all(dialect, ledger, lacking)}\nWHERE {dialect.quote(column)} = {dialect.literal(value)}"


def select_job_groups(
    dialect: Dialect, ledger: Relation, job_groups: frozenset[int], lacking: tuple[str, ...] = ()
) -> str:
    """The rows of these job groups: every row of each publication planned, whatever its
    state, and none of the rest of the history (which grows by one or two rows a publication)."""
    values = ", ".join(dialect.literal(g) for g in sorted(job_groups))
    return f"{select_all(dialect, ledger, lacking)}\nWHERE {dialect.quote('job_group')} IN ({values})"


def lacking(columns: tuple[str, ...]) -> tuple[str, ...]:
    """The columns added later that a ledger with ``columns`` lacks."""
    present = {c.lower() for c in columns}
    return tuple(n for n in ADDED_LATER if n not in present)


def upgrade(dialect: Dialect, ledger: Relation, missing: tuple[str, ...]) -> tuple[Step, ...]:
    """Adds the columns an older ledger lacks. Two applies may both add one: the second finds
    it there, which is what it wanted (``exists_ok``)."""
    return tuple(
        sql(
            dialect.add_columns(ledger, (ColumnDef(name, dialect.ledger_types[dict(COLUMNS)[name]]),))[0],
            f"add the ledger's {name} column (ledgers of earlier versions lack it)",
            serial=True,
            exists_ok=True,
        )
        for name in missing
    )


def ensure(dialect: Dialect, ledger: Relation) -> tuple[Step, ...]:
    """Creates the ledger on first apply; harmless when it exists."""
    cols = ",\n".join(f"  {dialect.quote(n)} {dialect.ledger_types[t]}" for n, t in COLUMNS)
    namespace = ledger.schema or ledger.database
    partitioned = f"\nPARTITIONED BY ({dialect.quote(WRITTEN)} STRING)" if dialect.ledger_partitioned else ""
    return (
        sql(dialect.create_namespace(namespace), "create the ledger's home if missing"),
        sql(
            f"CREATE TABLE IF NOT EXISTS {dialect.table(ledger)} (\n{cols}\n){partitioned}{dialect.ledger_storage}",
            "create the publication ledger if missing",
            serial=True,
        ),
    )


KEY = ("job_group", "flow_node_id", "connection_id", "database_name", "table_name", "action")
"""The ledger's columns of a PublicationId, in its field order."""

LOCK_COLUMNS = (*KEY, "state")
"""A target table's lock table: the 'done' rows of the publications into that table, which
its guard reads (transactions that publish read no shared table, only write the ledger)."""


def lock_relation(spec: Spec) -> Relation:
    """The lock table of the spec's target table, beside the ledger: one per target table, so
    that publications into different tables hold different locks. Named after the table (to
    be recognised) with a digest of the whole name (to be unique and within length limits)."""
    home, target = relation(spec), spec.relation
    # A named project's own lock (its guard reads its own 'done' rows); unnamed: as before.
    owner = f"{spec.project}/" if spec.project else ""
    digest = hashlib.sha256(f"{owner}{spec.connection.id}/{target.database}/{target.schema}/{target.name}".encode())
    return home.renamed(f"lock_{digest.hexdigest()[:12]}_{target.name}")


def ensure_lock(dialect: Dialect, lock: Relation) -> Step:
    cols = ",\n".join(f"  {dialect.quote(n)} {dialect.ledger_types[dict(COLUMNS)[n]]}" for n in LOCK_COLUMNS)
    return sql(
        f"CREATE TABLE IF NOT EXISTS {dialect.table(lock)} (\n{cols}\n)",
        "create the target table's lock table if missing (publications into it wait for each other there)",
        serial=True,
    )


def record_lock(dialect: Dialect, lock: Relation, spec: Spec) -> Step:
    """The 'done' row in the target table's lock table, which the next guard reads."""
    values = ", ".join(dialect.literal(v) for v in (*vars(spec.id).values(), "done"))
    text = f"INSERT INTO {dialect.insert_target(lock, LOCK_COLUMNS)}\nVALUES ({values})"
    return sql(text, "record the publication in the target table's lock table")


def where_identity(dialect: Dialect, pid: PublicationId) -> str:
    values = zip(KEY, vars(pid).values(), strict=True)
    return " AND ".join(f"{dialect.quote(k)} = {dialect.literal(v)}" for k, v in values)


def guard(dialect: Dialect, ledger: Relation, spec: Spec) -> Guard:
    """Stops the publication when another apply has published it since this plan was made."""
    done = f"{dialect.quote('state')} = 'done'"
    if ledger.name == relation(spec).name:
        # The ledger holds every project's rows: count this project's (and unnamed ones, see owned).
        project = dialect.quote("project")
        own = f"{project} = {dialect.literal(spec.project)} OR " if spec.project else ""
        done += f" AND ({own}{project} IS NULL)"
    text = f"SELECT COUNT(*) FROM {dialect.table(ledger)}\nWHERE {where_identity(dialect, spec.id)} AND {done}"
    return Guard((text,), "skip if already published (by a concurrent or earlier apply)")


def record(
    dialect: Dialect,
    ledger: Relation,
    spec: Spec,
    *,
    state: str,
    published_table: str,
    rows: int | None,
    stamp: str,
    rows_before: str | None = None,
    location_before: Location | None = None,
    partitioned: bool = False,
) -> Step:
    """Inserts one ledger row; ``rows_before`` names a captured count. ``partitioned``: into
    the partition of the day it is written (a Hive ledger made by this version)."""
    content = base64.b64encode(spec.canonical_json.encode()).decode()
    values: dict[str, Any] = dict(zip(KEY, vars(spec.id).values(), strict=True))
    values.update(
        state=state,
        published_table=published_table,
        row_count=rows,
        rows_before=None,
        stamp=stamp,
        location_before=str(location_before) if location_before else None,
        spec_file=spec.file.replace("\\", "/"),
        spec_hash=spec.content_hash,
        spec_b64=content,
        project=spec.project,
    )
    parts: list[SqlPart] = [f"INSERT INTO {dialect.insert_target(ledger, NAMES)}"]
    if partitioned:
        parts += [f" PARTITION ({dialect.quote(WRITTEN)} = ", Param("day"), ")"]
    parts.append("\nVALUES (")
    for name in NAMES:
        if name == "rows_before" and rows_before:
            parts.append(Param("captured", rows_before))
        elif name == "run_id":
            parts.append(Param("run_id"))
        elif name == "published_at":
            parts += ["CAST(", Param("now"), " AS TIMESTAMP)"]
        elif name == "detail":
            # What the steps found (rows replaced, partitions switched), known when 'done' is written.
            parts.append(Param("outcome") if state == "done" else "NULL")
        elif name == "project":
            parts.append(dialect.literal(spec.project))
        else:
            parts.append(dialect.literal(values[name]))
        parts.append(", " if name != NAMES[-1] else ")")
    purpose = "record the publication in the ledger" if state == "done" else "record the publish as started"
    return LedgerRecord(_joined(parts), purpose)


def _joined(parts: list[SqlPart]) -> tuple[SqlPart, ...]:
    """Adjacent text parts as one, so that a statement reads as the SQL it is."""
    out: list[SqlPart] = []
    for part in parts:
        if out and isinstance(part, str) and isinstance(out[-1], str):
            out[-1] += part
        else:
            out.append(part)
    return tuple(out)


def compact(dialect: Dialect, ledger: Relation) -> CompactLedger:
    """The step that keeps a partitioned Hive ledger to a few files (apply/ledger_compaction.py)."""
    return CompactLedger(
        ledger.database,
        ledger.name,
        f"{ledger.name}__compaction",
        "compact the ledger: the rows of closed days rewritten as one file (skipped while another apply does it)",
    )


def changes(published: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """Keys whose values differ between the published spec and the current one."""
    keys = sorted(set(published) | set(current))
    return [f"{k}: {published.get(k)!r} -> {current.get(k)!r}" for k in keys if published.get(k) != current.get(k)]
