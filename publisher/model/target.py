"""What the executor and the live planner need from an engine connection."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeVar, runtime_checkable

from publisher.model.layout import Layout
from publisher.model.location import Location
from publisher.model.relation import Relation

if TYPE_CHECKING:
    from publisher.model.plan import CopyRows


@dataclass(frozen=True)
class ColumnState:
    """A column of an existing table, its type as the engine reports it (lower case)."""

    name: str
    type: str


PRIVILEGES = ("SELECT", "INSERT", "UPDATE", "DELETE", "REFERENCES")
"""Table privileges that mean the same on Redshift and PostgreSQL, in the order GRANT lists them."""

GranteeKind = Literal["user", "group", "role", "public"]
"""Redshift's grantees: users and groups are in relacl; roles (CREATE ROLE) only in
svv_relation_privileges; a role is never granted WITH GRANT OPTION (its admin_option is false)."""


@dataclass(frozen=True)
class Grant:
    """Privileges granted on a table to one grantee (a user, a group, a role, or PUBLIC)."""

    kind: GranteeKind
    grantee: str  # "" for PUBLIC
    privileges: tuple[str, ...]  # among PRIVILEGES, in its order
    grantable: bool = False  # WITH GRANT OPTION

    def label(self) -> str:
        return "PUBLIC" if self.kind == "public" else f"{self.kind} {self.grantee}"


@dataclass(frozen=True)
class ColumnFacts:
    """Redshift: what a column of an existing table carries beyond its name and type."""

    comment: str | None = None
    encoding: str | None = None  # format_encoding(): lzo, az64, none (RAW), ...; None: not read
    not_null: bool = False
    default: str | None = None  # the engine's text of the DEFAULT expression (identity columns: None)
    identity: str | None = None  # IDENTITY (seed, step) as "seed,step"


KeyKind = Literal["PRIMARY KEY", "UNIQUE"]


@dataclass(frozen=True)
class KeyConstraint:
    """A PRIMARY KEY or UNIQUE constraint (Redshift: informational, not enforced)."""

    kind: KeyKind
    columns: tuple[str, ...]
    name: str | None = None  # as the catalog names it (None: unnamed, a plan's own)

    def describe(self) -> str:
        return f"{self.kind} ({', '.join(self.columns)})"


@dataclass(frozen=True)
class TableFacts:
    """Redshift, read at plan time: the table's comment, its columns' comments, encodings,
    NOT NULL, defaults and identity, its key constraints, and the foreign keys that refer to
    it or that it has."""

    comment: str | None = None
    columns: tuple[tuple[str, ColumnFacts], ...] = ()  # by column name, in the table's order
    keys: tuple[KeyConstraint, ...] = ()
    foreign_keys: tuple[str, ...] = ()  # its own FOREIGN KEYs, described ("fk (a) -> schema.table")
    referenced_by: tuple[str, ...] = ()  # FOREIGN KEYs of other tables to it: "schema.table (constraint)"
    encodings_read: bool = True  # False: the catalog showed none (pg_attribute_info shows a user its own tables)

    def column(self, name: str) -> ColumnFacts:
        return dict(self.columns).get(name, ColumnFacts())


NO_FACTS = TableFacts()


HiveTableKind = Literal["managed", "external-owned", "external-foreign", "acid", "acid-insert-only", "view"]
"""Who owns a Hive table's files, read from DESCRIBE FORMATTED: managed (the engine's);
external with ``external.table.purge=true`` (owned: DROP deletes them, as Hive 4 makes every plain
table: MetastoreDefaultTransformer sets EXTERNAL, purge and TRANSLATED_TO_EXTERNAL); external
without purge (foreign: the files are whoever wrote them); full or insert-only ACID
(``transactional=true``, Cloudera's default for managed tables); a view."""

KIND_WORDS: dict[HiveTableKind, str] = {
    "managed": "managed",
    "external-owned": "external, owned (external.table.purge=true: DROP deletes its files)",
    "external-foreign": "external, foreign (no purge: its files belong to whoever wrote them)",
    "acid": "full ACID (transactional=true)",
    "acid-insert-only": "insert-only ACID (transactional_properties=insert_only)",
    "view": "a view",
}


@dataclass(frozen=True)
class TargetTable:
    """A target's own facts of a table, beyond the core that planning reads (TableState). Each
    target's is a frozen dataclass whose defaults say "nothing of the kind": what ``TableState.of``
    gives where nothing was read (offline, another target)."""

    # Why a table must stay, as retention (planning/retention.py) asks every target alike.

    def must_stay(self) -> str:
        """Why the table must stay, whatever depends on it; "" when nothing of the target's says so."""
        return ""

    def dependents(self) -> tuple[str, ...]:
        """What the target's catalog says depends on the table (views, foreign keys), described."""
        return ()

    def drop_refused(self) -> str:
        """Why the publisher's user may not drop the table; "" when it may."""
        return ""


@dataclass(frozen=True)
class HiveTable(TargetTable):
    """Hive, read from DESCRIBE FORMATTED: who owns the table's files, and what its storage cannot keep."""

    managed: bool | None = None  # the engine owns the files (DROP deletes them)
    kind: HiveTableKind | None = None  # who owns the files; None: not read
    bucketed: bool = False  # CLUSTERED BY ... INTO n BUCKETS
    transactional: bool = False  # ACID (transactional=true)
    # Made plain and turned external by Hive 4's metastore (TRANSLATED_TO_EXTERNAL=TRUE): its
    # folder moves with a RENAME, as a managed table's does (HiveAlterHandler; the emulation too)
    translated: bool = False
    made_by_publisher: bool = False  # created by the publisher (its TBLPROPERTIES mark, dialects/hive.py)
    # What a text table without ESCAPED BY cannot hold in a value (its delimiter, line breaks)
    unescaped: tuple[str, ...] = ()

    @property
    def owns_files(self) -> bool:
        """The table's files are its own (managed, or external with purge), so a swap may hand
        its folder to a twin that is dropped with it."""
        return self.kind in ("managed", "external-owned") if self.kind else bool(self.managed)

    def must_stay(self) -> str:
        if self.kind is not None and not self.owns_files:
            return f"it is {KIND_WORDS[self.kind]}: retention drops only tables whose files are their own"
        return ""

    def unsupported_shape(self, *, appends: bool = False, engine_writes_acid: bool = False) -> str | None:
        """What about this table an action that writes into it cannot keep its promise on;
        ``appends``: the action only adds rows (INSERT INTO); ``engine_writes_acid``: the
        engine writes ACID tables under its own transactions (Apache Hive)."""
        if self.bucketed:
            return "is bucketed (CLUSTERED BY ... INTO n BUCKETS)"
        acid = self.kind in ("acid", "acid-insert-only") or self.transactional
        words = KIND_WORDS[self.kind] if self.kind in ("acid", "acid-insert-only") else "transactional (ACID)"
        if acid and not engine_writes_acid:
            return f"is {words}: Spark cannot read or write it as Hive's transactions need"
        if acid and not appends:
            # INSERT OVERWRITE or MERGE would commit the new rows before the publisher could
            # count them: only an append, whose rows are checked after as any load's, is planned.
            return f"is {words}: its rows would be replaced under Hive's transactions before they could be checked"
        return None


@dataclass(frozen=True)
class CatalogTable(TargetTable):
    """A table of a PostgreSQL-family catalog (Redshift, PostgreSQL), read from pg_catalog: what
    binds the table, who may change it, and its columns' definitions. What planning reads of
    both; each target's subclass adds its own."""

    dependent_views: tuple[str, ...] = ()  # views bound to the table (schema.view), which block DROP
    owner: str | None = None  # the table's owner, where not the user the publisher connects as
    owner_only: bool = False  # only that owner may rename or drop it (the publisher is no superuser)
    grants: tuple[Grant, ...] = ()  # privileges granted to others than the owner
    ungranted: tuple[str, ...] = ()  # granted privileges the publisher does not copy, described
    unseen_grants: str | None = None  # which grants the publisher's user could not read, and why
    facts: TableFacts | None = None  # comments, encodings, NOT NULL, defaults, keys; None: not read

    def dependents(self) -> tuple[str, ...]:
        referenced_by = self.facts.referenced_by if self.facts is not None else ()
        return (*self.views(), *(f"foreign key of {k}" for k in referenced_by))

    def views(self) -> tuple[str, ...]:
        """The views the catalog binds to the table, described."""
        return tuple(f"view {v}" for v in self.dependent_views)

    def drop_refused(self) -> str:
        return f"it is owned by {self.owner}: only its owner may drop it" if self.owner_only else ""


@dataclass(frozen=True)
class RedshiftTable(CatalogTable):
    """Redshift: its late-binding views and physical design, beside the catalog's facts."""

    late_binding_views: tuple[str, ...] = ()  # views WITH NO SCHEMA BINDING naming the table (schema.view)
    layout: Layout = Layout()  # distribution and sort keys (AUTO and none: empty)
    # Columns stored with capitals (made where enable_case_sensitive_identifier was on), as stored:
    # the lower-case names the publisher writes do not reach them.
    cased_columns: tuple[str, ...] = ()
    cased_name: str | None = None  # the table's own name, where stored with capitals (so made)

    def views(self) -> tuple[str, ...]:
        # Late-binding views record no dependency: the catalog finds them by the name they read.
        return (*super().views(), *(f"late-binding view {v}" for v in self.late_binding_views))


@dataclass(frozen=True)
class IndexFacts:
    """An index no constraint makes (PostgreSQL), as the catalog describes it."""

    name: str
    definition: str  # its CREATE INDEX statement, as pg_get_indexdef writes it
    # What follows USING in that statement (method, keys, INCLUDE, WITH, WHERE): the same index
    # on another table. None: the statement is not of the plain form (ON ONLY: a partitioned table's).
    using: str | None = None
    columns: tuple[str, ...] = ()  # the table's columns it reads: keys, expressions, predicate
    unique: bool = False


@dataclass(frozen=True)
class PostgresTable(CatalogTable):
    """PostgreSQL: what a replacement table cannot carry over, beside the catalog's facts."""

    indexes: tuple[IndexFacts, ...] = ()  # indexes no constraint makes (a key constraint's are kept with it)
    partitioned: bool = False  # declaratively partitioned (PARTITION BY): a replacement would not be
    triggers: tuple[str, ...] = ()  # its own triggers' names, which a replacement would not have


Own = TypeVar("Own", bound=TargetTable)


@dataclass(frozen=True)
class TableState:
    """An existing table: the core that planning reads of every target (its columns in order
    and, where known, its storage format, location and partitioning), and its target's own facts."""

    columns: tuple[ColumnState, ...]
    storage: str | None = None
    location: Location | None = None  # where the table's files are, where the target tells (Hive)
    partition_columns: tuple[str, ...] = ()  # PARTITIONED BY these (also among columns)
    view: bool = False  # the name is a view, not a table
    partitions: tuple[str, ...] | None = None  # SHOW PARTITIONS rows, where a strategy read them
    own: TargetTable | None = None  # the target's own facts (HiveTable, RedshiftTable); None: none read

    def of(self, facts: type[Own], /) -> Own:
        """The target's own facts of this table, or ``facts``' defaults where none were read."""
        return self.own if isinstance(self.own, facts) else facts()

    def with_own(self, facts: type[Own], /, **changes: Any) -> TableState:
        """A copy whose target's own facts (``facts``', its defaults where none were read) are changed."""
        return replace(self, own=replace(self.of(facts), **changes))


class Target(Protocol):
    """One open connection to one engine. Only the executor and live planning use it."""

    shared: bool
    """Whether other processes reach the same tables through this engine at the same moment
    (a server; not the embedded engine, whose metastore this one process holds)."""

    def execute(self, sql: str) -> int | None:
        """Run one statement; raise on failure. The rows an INSERT, UPDATE or DELETE changed,
        where the engine reports them; else None."""

    def fetch(self, sql: str) -> list[tuple[Any, ...]]:
        """Run one query and return all rows."""

    def namespace_exists(self, relation: Relation) -> bool:
        """Whether the relation's database (Hive) or schema (Redshift) exists."""

    def table_state(self, relation: Relation, *, exists: bool = False) -> TableState | None:
        """The table's columns and storage, or None when it does not exist; ``exists``: the
        caller saw it listed, so the engine is not asked again whether it exists."""

    def table_location(self, relation: Relation) -> Location | None:
        """Hive: where the table's files are (None when missing); Redshift: None."""

    def namespace_location(self, relation: Relation) -> Location | None:
        """Hive: the database's location, where its managed tables' folders go; else None."""

    def table_names(self, relation: Relation) -> set[str]:
        """Names (lower case) of all tables beside the relation: same database/schema."""

    def table_states(self, relation: Relation) -> dict[str, TableState] | None:
        """Every table beside the relation, by name, read in one query; None where the
        engine cannot (then each table is read on its own)."""

    def slice_count(self) -> int | None:
        """Redshift: the cluster's slices, None where the catalog does not tell them; Hive: None."""

    def keeps_quoted_case(self) -> bool | None:
        """Whether quoted names keep their case in this session (Redshift's
        enable_case_sensitive_identifier), read once per connection; None where the engine has
        no such setting (Hive)."""

    def substitution(self) -> str | None:
        """Why the engine would not run SQL text as sent (Hive: ``${...}`` substitution that
        could not be turned off in this session); None: it runs it as sent."""

    def product(self) -> str | None:
        """The engine's product and version, read once per connection ("Apache Hive 4.0.1",
        "Spark SQL 4.0.1"); None where the engine does not say."""

    def close(self) -> None:
        """Release the connection."""


@runtime_checkable
class CopiesRows(Protocol):
    """A target whose engine cannot read the results itself: the publisher streams their rows in
    (PostgreSQL's COPY FROM STDIN)."""

    def copy_rows(self, step: CopyRows) -> int:
        """Stream the step's result files into its table; the rows COPY reports it wrote."""
