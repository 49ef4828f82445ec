"""What live planning read from a target for one spec, and names a publication may create."""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from publisher.model.location import Location
from publisher.model.relation import Relation
from publisher.model.target import TableState
from publisher.planning import ledger

STAMP_FORMAT = "%Y%m%d%H%M%S"
"""The UTC plan-time suffix of new tables: <table>_YYYYMMDDhhmmss."""


@dataclass(frozen=True)
class LeftObject:
    """An object an interrupted apply of the publication wrote and did not delete (a COPY
    manifest), with the sha256 of its bytes when the plan read it."""

    uri: str
    sha256: str


@dataclass(frozen=True)
class TargetView:
    """What the target holds for one spec, read-only; for a spec that follows others into
    the same table in one plan, what those earlier publications will leave."""

    namespace_exists: bool
    table: TableState | None
    table_names: frozenset[str]
    table_read: bool = True  # False: ``table`` is as earlier publications of the plan will leave it
    ledger_exists: bool = False
    ledger_traces: tuple[str, ...] = ()  # no ledger, yet what only a publisher leaves is there (it was dropped)
    ledger_lacks: tuple[str, ...] = ()  # columns of newer versions the ledger lacks (ledger.upgrade adds them)
    ledger_partitioned: bool = False  # Hive: by the day rows are written (ledgers of earlier versions are not)
    entries: tuple[ledger.Entry, ...] = ()  # this publication's ledger rows, oldest first
    elsewhere: tuple[ledger.Entry, ...] = ()  # 'done' rows of other projects for the same job, table and action
    row_count: int | None = None  # the table's rows, read only to recover an interrupted load
    # With row_count: the publications into the table recorded done since the interrupted one
    # (other job groups, other projects): what else changed its rows meanwhile.
    published_since: tuple[ledger.Entry, ...] = ()
    namespace_location: Location | None = None  # Hive: where the database's managed tables go
    locations: dict[str, Location] = field(default_factory=dict)  # Hive: table name -> location, to recover
    slices: int | None = None  # Redshift: the cluster's, read where the action loads rows; None: unknown
    substitution: str | None = None  # why the engine would rewrite ${...} in SQL text; None: it runs it as sent
    engine: str | None = None  # the engine's product and version ("Apache Hive 4.0.1"), where it says
    keeps_case: bool | None = None  # quoted names keep their case (Redshift's setting on); None: no such setting
    objects_left: tuple[LeftObject, ...] = ()  # this publication's objects (manifests) interrupted applies left
    # Retention (keepLast, keepFor), read only for specs that ask for it: the ledger's rows of the
    # timestamped tables the publisher made for this table ('done' and 'retired'), oldest first;
    # those tables as they are (None: not there); the database's views and their SQL, where the
    # engine does not bind views to their tables (Hive: a text match decides what a view reads).
    made: tuple[ledger.Entry, ...] = ()
    made_tables: dict[str, TableState | None] = field(default_factory=dict)
    views: tuple[tuple[str, str], ...] = ()


def names_for(name: str, stamp: str) -> tuple[str, ...]:
    """Every table name a publication into ``name`` may create: the timestamped table and
    the staging (__stage), replacement (__new) and set-aside (__old) tables."""
    return tuple(f"{name}{infix}_{stamp}" for infix in ("", "__stage", "__new", "__old"))


def stamp_for(name: str, now: datetime, taken: Iterable[AbstractSet[str]]) -> str:
    """The plan-time stamp, moved on by a second while a name it makes is in one of the
    ``taken`` sets, so a new table never collides with an existing table or one planned
    earlier in the same plan."""
    moment = now
    while any(n in names for names in taken for n in names_for(name, moment.strftime(STAMP_FORMAT))):
        moment += timedelta(seconds=1)
    return moment.strftime(STAMP_FORMAT)


def new_location(namespace_location: Location, table: Relation) -> Location:
    """Where Hive puts a new managed table: its database's folder, then the table's name."""
    return namespace_location.child(table.name)
