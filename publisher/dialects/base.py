"""What every dialect provides; targets differ only where a subclass overrides."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from publisher.dialects import types
from publisher.model.layout import NO_LAYOUT, Layout
from publisher.model.location import Location
from publisher.model.plan import Begin, Commit, RowCheck, Step
from publisher.model.relation import Relation
from publisher.model.target import NO_FACTS, Grant, KeyConstraint, TableFacts, TableState, TargetTable
from publisher.targets import target

if TYPE_CHECKING:
    from publisher.inputs.spec import Spec
    from publisher.results import Results


@dataclass(frozen=True)
class ColumnDef:
    name: str
    type: str
    read: str | None = None  # an expression that reads the staged column as ``type``, where storage differs


@dataclass(frozen=True)
class LoadSource:
    """How a target reads the results in place: steps that prepare it, what to load from
    (a staging table or a manifest URI), and steps that remove it afterwards."""

    steps: tuple[Step, ...]
    reference: str
    tidy: tuple[Step, ...]
    columns: tuple[ColumnDef, ...]  # the results' columns, in the target's types and order


@dataclass(frozen=True)
class KeptIndexes:
    """An old table's own indexes on its replacement: ``build`` them on it (before the swap, so
    the build holds no lock on the table), and in the swap's transaction ``rename`` the old
    ones aside and the new ones to their names; ``notes`` say which are kept and which not, why."""

    build: tuple[Step, ...] = ()
    rename: tuple[Step, ...] = ()
    notes: tuple[str, ...] = ()


ReplaceVia = Literal["transaction", "location_swap"]
"""How a target replaces a table's rows or definition so that readers see the old rows or the
new ones, never none, and a failure leaves the old:

- ``transaction``: DDL and DML run in one transaction, committed or rolled back together
  (DELETE and INSERT, or a replacement renamed into the table's place, then COMMIT);
- ``location_swap``: every statement commits on its own; a loaded twin's files are handed to the
  table at once (ALTER TABLE ... SET LOCATION), and each step that changes something has an undo.

Code that depends on it matches it exhaustively (``match ... case _: assert_never``), so that
a new value makes ``mypy --strict`` list every place that needs its sequence."""


class Dialect:
    name: ClassVar[str]
    title: ClassVar[str]
    """The engine's name in messages (its descriptor's, publisher/targets/)."""
    column_name_limit: ClassVar[tuple[int, str]]
    """The longest column name: a number of "characters" or "bytes"."""
    case_setting: ClassVar[str | None] = None
    """The session setting under which quoted names keep their case (the publisher still writes
    them in lower case); None where the engine has none and folds every name."""
    quote_char: ClassVar[str]
    replace_via: ClassVar[ReplaceVia]
    """How a table is replaced (ReplaceVia)."""
    counts_changed_rows: ClassVar[bool] = False
    """The engine reports the rows an INSERT or DELETE changed (``Target.execute``): checks
    can use them rather than count the table again."""
    stages_results: ClassVar[bool] = False
    """The results are read through a staging table, where their values are checked before
    they move (and checked again in a table that holds only the new rows: the engine may store
    a value otherwise than it was read, Hive a partition value '' as NULL)."""

    guards_lock_table: ClassVar[bool] = False
    """In a transaction, publications LOCK a lock table of the target table's own (``lock``),
    whose rows their guard reads, rather than the ledger: publications into different tables do
    not wait for each other, and readers of the ledger (plan, status) never wait. (Without a
    transaction, ``table_lock`` makes publishers of one table wait: Hive's lock tables, apply/table_lock.py.)"""

    keys_bind_tables: ClassVar[bool] = False
    """FOREIGN KEYs of other tables block DROP TABLE and follow a renamed table
    (``referencing_keys`` counts them)."""

    keys_enforced: ClassVar[bool] = False
    """PRIMARY KEY and UNIQUE constraints are enforced: a load of rows that break one fails."""

    encoding_keywords: ClassVar[dict[str, str]] = {}
    """Column compression encodings as the catalog names them, and as ENCODE writes them."""

    views_bind_tables: ClassVar[bool] = False
    """Views are bound to the tables they read: DROP TABLE fails while one exists, and a
    renamed table takes its views along (``bound_views`` counts them)."""

    ledger_types: ClassVar[dict[str, str]]
    """SQL types of the ledger's logical column types: int, text, timestamp."""
    ledger_storage: ClassVar[str] = ""
    comment_in_create: ClassVar[bool] = False
    """CREATE TABLE carries the table's comment (``create_table(comment=...)``); elsewhere a
    ``comment_on_table`` statement follows it."""

    ledger_partitioned: ClassVar[bool] = False
    """The ledger is partitioned by the day its rows are written, and compacted (Hive: one
    file an INSERT; planning/ledger.py)."""

    shared_insert_settings: ClassVar[tuple[tuple[str, str, str], ...]] = ()
    """(key, value, value after) of the session settings under which a statement runs that
    other processes may run into the same table at the same moment: the ledger's records
    (``serial`` steps) and its compaction. Each is set before and set to its value after."""

    integer_digits: ClassVar[dict[str, int]]
    """Its integer types, narrowest first, with the decimal digits their values can need."""

    def exact_digits(self, canonical: str) -> tuple[int, int] | None:
        """(integer digits, decimal places) of an exact numeric type in this dialect's canonical
        spelling; None for any other type."""
        return types.exact_digits(canonical, self.integer_digits)

    def fold(self, name: str) -> str:
        """A name as the engine stores it unquoted, and as the publisher writes and compares it:
        its target's name case (publisher/targets/)."""
        return target(self.name).folds(name)

    # Capabilities that differ between the engines of one target (its flavours), chosen at
    # connect from the engine's product (for_engine): planning reads them, never the product.
    rename_moves_translated: ClassVar[bool] = False
    """RENAME moves the folder of a table the metastore made external on its own (Hive 4's
    TRANSLATED_TO_EXTERNAL), as a managed table's."""
    caches_file_lists: ClassVar[bool] = False
    """The engine caches a table's file list per session (Spark): REFRESH TABLE drops it."""
    creates_external: ClassVar[bool] = False
    """Tables the publisher creates are declared EXTERNAL with ``external.table.purge``, never
    left to the metastore's default for managed tables (which may make them ACID)."""
    appends_to_acid: ClassVar[bool] = False
    """INSERT INTO a transactional (ACID) table runs under the engine's own transactions."""

    def for_engine(self, product: str | None) -> Dialect:
        """This dialect as spoken by the engine that names itself ``product`` ("Apache Hive
        4.0.1", read once per connection; None: unknown): the flavour whose capabilities are
        that engine's. A target with one flavour is its own."""
        return self

    def made_table(self) -> TargetTable | None:
        """The target's own facts of a table the publisher creates, as the plan foresees them
        for later publications of the same plan; None: nothing beyond the core."""
        return None

    def substitution_token(self, text: str) -> str | None:
        """The first token of ``text`` an engine that substitutes variables in SQL text would
        replace (Hive's ``${...}``); None: nothing, or the engine substitutes nothing."""
        return None

    def literal(self, value: object) -> str:
        """A SQL literal of a value the publisher writes (numbers, names, paths, base64)."""
        if value is None:
            return "NULL"
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            raise TypeError(f"no literal for {value!r}")
        if isinstance(value, int):
            return str(value)
        return "'" + self.escape_string(value) + "'"

    def escape_string(self, value: str) -> str:
        return value.replace("'", "''")

    def unwritable_text(self, value: str) -> str | None:
        """Why free text of a spec (``description``) cannot reach the engine as a literal, as
        written; None: ``literal`` writes it exactly. No engine keeps a NUL in a string."""
        return "holds a NUL character, which no table comment keeps" if "\x00" in value else None

    def create_namespace(self, name: str) -> str:
        raise NotImplementedError

    def insert_target(self, relation: Relation, columns: tuple[str, ...]) -> str:
        """The part of INSERT INTO that names the table (and its columns, where the target takes them)."""
        return f"{self.table(relation)} ({', '.join(self.quote(c) for c in columns)})"

    def lock(self, relation: Relation) -> tuple[Step, ...]:
        """Steps that make other publishers of ``relation`` wait until the transaction ends."""
        return ()

    def table_lock(self, relation: Relation, ledger: Relation) -> tuple[Step, ...]:
        """Steps that make other publishers of ``relation`` wait, where no transaction does;
        afterwards the session sees what they wrote into it and into ``ledger``."""
        return ()

    def table_unlock(self, relation: Relation) -> tuple[Step, ...]:
        """Steps that let them go on: after the last change, and after a failure."""
        return ()

    def stale_lock(self, relation: Relation, ledger: Relation, names: frozenset[str]) -> tuple[Step, ...]:
        """Steps that drop a lock an apply left after its last change (``names``: the tables there)."""
        return ()

    def quote(self, identifier: str) -> str:
        q = self.quote_char
        return f"{q}{identifier.replace(q, q + q)}{q}"

    def table(self, relation: Relation) -> str:
        raise NotImplementedError

    def rename(self, relation: Relation, new_name: str) -> str:
        raise NotImplementedError

    def unreadable_location(self, uri: str) -> str | None:
        """Why the engine would read another folder than ``uri`` names (None: it reads that one)."""
        return None

    def unsettable_location(self, location: Location) -> str | None:
        """Why the engine would refuse to point a table or partition at ``location`` (None: it would not)."""
        return None

    def refused_values(self, results: Results) -> str | None:
        """Why the engine would store some of the results' values otherwise than sent, as far as
        their metadata or sample tell, before any row moves (None: they tell nothing of it)."""
        return None

    def value_notes(self, results: Results) -> tuple[str, ...]:
        """What the plan says of how the results' NULLs and empty strings load."""
        return ()

    def value_checks(
        self, stage: Relation, source: LoadSource, dynamic: tuple[str, ...], into: TableState | None
    ) -> tuple[Step, ...]:
        """Steps that stop the publication before any change where the staged results hold
        values the table would store otherwise than sent: ``dynamic``, the partition columns
        taken from the rows; ``into``, the existing table the rows go into (None: a new one)."""
        return ()

    def not_carried_over(self, table: TableState) -> tuple[str, ...]:
        """What of ``table`` a replacement built from the results' schema does not have, beyond
        what strategies keep (grants, owner, comments, columns' definitions, key constraints):
        notes for the plan of a dropAndLoad."""
        return ()

    def kept_indexes(
        self,
        table: TableState,
        new: Relation,
        old: Relation,
        columns: tuple[ColumnDef, ...],
        keys: tuple[KeyConstraint, ...] = (),
    ) -> KeptIndexes:
        """``table``'s own indexes (none a key constraint makes) on ``new``, its replacement with
        ``columns``, and the names of its ``keys`` (those CREATE TABLE keeps), where the target
        has such indexes and names; ``old``: the name ``table`` is moved to."""
        return KeptIndexes()

    def layout_warnings(self, results: Results, slices: int | None = None) -> tuple[str, ...]:
        """Where the results' files (their count and sizes) will load far below what the
        engine can do; ``slices``: the cluster's, where known. Advice for the plan, never an error."""
        return ()

    # Types: each dialect maps them in its own module (hive_types.py, redshift_types.py).
    def column_type(self, arrow_type: Any, column: str) -> str:
        raise NotImplementedError

    def normalize_type(self, reported: str) -> str:
        raise NotImplementedError

    def loads_into(self, result_type: str, table_type: str) -> bool:
        raise NotImplementedError

    def storage_loses(self, storage: str | None, column: str, arrow_type: Any) -> str | None:
        """Why a table stored as ``storage`` cannot hold a result column's values exactly,
        whatever its declared type; None: it can."""
        return None

    # Statements
    def create_table(
        self,
        relation: Relation,
        columns: tuple[ColumnDef, ...],
        *,
        partitioned_by: tuple[ColumnDef, ...] = (),
        layout: Layout = NO_LAYOUT,
        kept: TableFacts = NO_FACTS,
        comment: str | None = None,
    ) -> str:
        """CREATE TABLE. ``partitioned_by``: Hive partition columns, stored apart from
        ``columns`` (which may list them too); ``layout``: distribution and sort keys, only
        where the target has them (validation refuses them elsewhere); ``kept``: columns'
        encodings, NOT NULL and defaults, and key constraints, where the target reads them;
        ``comment``: the table's, where ``comment_in_create``."""
        assert not layout, f"{self.title} tables have no distribution or sort keys"
        assert kept == NO_FACTS, f"{self.title}: the publisher reads no column facts"
        assert comment is None or self.comment_in_create, f"{self.title}: the comment is a statement of its own"
        names = {c.name for c in partitioned_by}
        cols = ",\n".join(f"  {self.quote(c.name)} {c.type}" for c in columns if c.name not in names)
        described = f"\nCOMMENT {self.literal(comment)}" if comment is not None else ""
        parts = ", ".join(f"{self.quote(c.name)} {c.type}" for c in partitioned_by)
        partitioned = f"\nPARTITIONED BY ({parts})" if parts else ""
        table = self.table(relation)
        external = "EXTERNAL " if self.creates_external else ""
        return f"CREATE {external}TABLE {table} (\n{cols}\n){described}{partitioned}{self.create_table_suffix()}"

    def create_table_suffix(self) -> str:
        return ""

    def grant(self, relation: Relation, grant: Grant) -> str:
        """GRANT the privileges of ``grant`` on the table (targets whose tables carry grants)."""
        raise NotImplementedError

    def set_owner(self, relation: Relation, owner: str) -> str:
        raise NotImplementedError

    def comment_on_table(self, relation: Relation, text: str) -> str:
        raise NotImplementedError

    def plain_default(self, expression: str) -> bool:
        """Whether a column DEFAULT read from the catalog is one the publisher copies."""
        return False

    def default_encoding(self, sql_type: str, *, sort_key: bool) -> str | None:
        """The encoding a column gets without ENCODE (as the catalog names it); None: unknown."""
        return None

    def comment_on_column(self, relation: Relation, column: str, text: str) -> str:
        raise NotImplementedError

    def referencing_keys(self, relation: Relation) -> str:
        """A query of the number of FOREIGN KEYs of other tables that refer to the table."""
        raise NotImplementedError

    def bound_views(self, relation: Relation) -> str:
        """A query of the number of views bound to the table (where ``views_bind_tables``)."""
        raise NotImplementedError

    def count(self, relation: Relation) -> str:
        return f"SELECT COUNT(*) FROM {self.table(relation)}"

    def counts(self, relation: Relation, columns: tuple[str, ...]) -> str:
        """Rows, then each column's non-NULL values, in one scan."""
        each = "".join(f", COUNT({self.quote(c)})" for c in columns)
        return f"SELECT COUNT(*){each} FROM {self.table(relation)}"

    def views_query(self, relation: Relation) -> str | None:
        """A query listing the views of ``relation``'s namespace, where views are not bound to
        their tables (retention then matches each view's text, ``view_text_query``); None where
        the catalog names a table's dependents itself."""
        return None

    def view_names(self, rows: list[tuple[Any, ...]]) -> list[str]:
        """The view names in ``views_query``'s rows."""
        return [str(row[0]) for row in rows]

    def view_text_query(self, view: Relation) -> str:
        """A query whose rows hold the view's SQL text (where ``views_query`` is not None)."""
        raise NotImplementedError

    def drop_table(self, relation: Relation, *, if_exists: bool = False) -> str:
        return f"DROP TABLE {'IF EXISTS ' if if_exists else ''}{self.table(relation)}"

    def begin(self) -> tuple[Begin, ...]:
        """Opens a transaction, where the target has multi-statement transactions."""
        return ()

    def commit(self) -> tuple[Commit, ...]:
        return ()

    def delete_all(self, relation: Relation) -> str:
        """Empties a table inside the open transaction."""
        return f"DELETE FROM {self.table(relation)}"

    # merge: the results' rows (``rows``: a table, or a query in parentheses) matched by key.
    def _key_match(self, table: str, keys: tuple[str, ...]) -> str:
        return " AND ".join(f"{table}.{self.quote(k)} = r.{self.quote(k)}" for k in keys)

    def key_problems(self, rows: str, keys: tuple[str, ...]) -> str:
        """One row: the keys found more than once in ``rows``, and the rows with a NULL key (one scan)."""
        k = ", ".join(self.quote(c) for c in keys)
        null = " OR ".join(f"{self.quote(c)} IS NULL" for c in keys)
        return (
            "SELECT COALESCE(SUM(CASE WHEN n > 1 AND has_null = 0 THEN 1 ELSE 0 END), 0),\n"
            "       COALESCE(SUM(CASE WHEN has_null = 1 THEN n ELSE 0 END), 0)\n"
            f"FROM (SELECT {k}, COUNT(*) AS n, MAX(CASE WHEN {null} THEN 1 ELSE 0 END) AS has_null\n"
            f"      FROM {rows} r GROUP BY {k}) g"
        )

    def repeated_keys(self, rows: str, keys: tuple[str, ...], shown: int = 5) -> str:
        """A few keys found more than once in ``rows``, each with its number of rows."""
        k = ", ".join(self.quote(c) for c in keys)
        not_null = " AND ".join(f"{self.quote(c)} IS NOT NULL" for c in keys)
        return f"SELECT {k}, COUNT(*) FROM {rows} r WHERE {not_null} GROUP BY {k} HAVING COUNT(*) > 1 LIMIT {shown}"

    def matched_rows(self, relation: Relation, rows: str, keys: tuple[str, ...]) -> str:
        """The rows of the table whose key is among ``rows``' keys: those a merge replaces."""
        match = self._key_match("t", keys)
        return f"SELECT COUNT(*) FROM {self.table(relation)} t\nWHERE EXISTS (SELECT 1 FROM {rows} r WHERE {match})"

    def unmatched_rows(
        self, relation: Relation, rows: str, keys: tuple[str, ...], columns: tuple[str, ...], within: tuple[str, ...]
    ) -> str:
        """SELECT of the table's rows whose key is not among ``rows``' keys: those a merge keeps;
        ``within``: only in the partitions (of these columns) that ``rows`` touch."""
        names = ", ".join(f"t.{self.quote(c)}" for c in columns)
        touched = f"EXISTS (SELECT 1 FROM {rows} r WHERE {self._key_match('t', within)})\n  AND " if within else ""
        match = self._key_match("t", keys)
        return (
            f"SELECT {names} FROM {self.table(relation)} t\n"
            f"WHERE {touched}NOT EXISTS (SELECT 1 FROM {rows} r WHERE {match})"
        )

    def rows_within(self, relation: Relation, rows: str, within: tuple[str, ...]) -> str:
        """The table's rows in the partitions (of columns ``within``) that ``rows`` touch."""
        match = self._key_match("t", within)
        return f"SELECT COUNT(*) FROM {self.table(relation)} t\nWHERE EXISTS (SELECT 1 FROM {rows} r WHERE {match})"

    def insert_select(
        self,
        into: Relation,
        columns: tuple[ColumnDef, ...],
        query: str,
        partition: tuple[tuple[str, str | None], ...] = (),
        *,
        overwrite: bool = False,
    ) -> str:
        """INSERT INTO ``into`` (``columns``) the rows of ``query``, into their partitions."""
        raise NotImplementedError

    def partition_mode(self, partition: tuple[tuple[str, str | None], ...]) -> tuple[Step, ...]:
        """Steps an insert into ``partition`` needs first (Hive's dynamic partition mode)."""
        return ()

    def add_columns(self, relation: Relation, columns: tuple[ColumnDef, ...]) -> tuple[str, ...]:
        """ALTER TABLE statements that add ``columns`` (none for none)."""
        raise NotImplementedError

    def stage_rows(self, stage: Relation, source: LoadSource, spec: Spec) -> tuple[Step, ...]:
        """Steps that put the results' rows into the table ``stage``, shaped like the results
        (where the engine cannot join the results where they are)."""
        raise NotImplementedError

    def delete_matched(self, relation: Relation, rows: str, keys: tuple[str, ...]) -> str:
        """Deletes the table's rows whose key is among ``rows``' keys, in the open transaction."""
        table = self.table(relation)
        return f"DELETE FROM {table}\nUSING {rows} r\nWHERE {self._key_match(table, keys)}"

    def select_list(self, result_columns: tuple[ColumnDef, ...], table_columns: tuple[ColumnDef, ...]) -> str:
        """The results' columns, in the table's order, cast where a type widens."""
        by_name = {c.name: c for c in result_columns}
        parts = []
        for col in table_columns:
            # A table column the results lack is left out of the insert (Fit.inserted): its
            # DEFAULT applies, where a CAST(NULL ...) would override it.
            assert col.name in by_name, f"column {col.name} is not among the results'"
            found = by_name[col.name]
            name = self.quote(col.name)
            value = found.read or name
            if self.needs_cast(found.type, col.type):
                parts.append(f"CAST({value} AS {col.type}) AS {name}")
            else:
                parts.append(name if value == name else f"{value} AS {name}")
        return ", ".join(parts)

    def needs_cast(self, result_type: str, table_type: str) -> bool:
        """Whether a result column is CAST on its way into a table column."""
        return result_type != table_type

    def create_like(self, relation: Relation, like: Relation) -> str:
        raise NotImplementedError

    def set_location(self, relation: Relation, location: Location) -> str:
        raise NotImplementedError

    def location_literal(self, location: Location) -> str:
        """A location in a LOCATION clause: its text as Hive and Spark read it back (a path, not
        percent-encoded: ``new Path(text)``), as a string literal."""
        return self.literal(str(location))

    def manifests_of(self, spec: Spec, results: Results) -> str | None:
        """The s3:// URI prefix every object a load of the spec's publication writes starts
        with, whatever its plan; None: its loads write no objects."""
        return None

    def load_source(self, spec: Spec, results: Results, staging: Relation, stamp: str) -> LoadSource:
        """Makes the results readable by the engine without moving or changing them."""
        raise NotImplementedError

    def insert(
        self,
        into: Relation,
        source: LoadSource,
        table_columns: tuple[ColumnDef, ...],
        spec: Spec,
        *,
        overwrite: bool = False,
        partition: tuple[tuple[str, str | None], ...] = (),
        rows: int | None = None,
    ) -> tuple[Step, ...]:
        """Adds the results' rows to ``into`` (replacing its rows with ``overwrite``).
        ``partition``: Hive partition columns with a static value, or None for each row's
        own; ``table_columns`` then lists the dynamic ones last and no static one. ``rows``:
        the rows the insert must add, checked by the engine's own count (``counts_changed_rows``)."""
        raise NotImplementedError


def checked_columns(dialect: Dialect, results: Results) -> tuple[tuple[str, int], ...]:
    """(column, non-NULL values) for each result column whose NULLs the metadata counts."""
    if results.rows is None:
        return ()
    rows = results.rows
    return tuple((dialect.fold(c.name), rows - c.null_count) for c in results.columns if c.null_count is not None)


def count_check(
    dialect: Dialect,
    relation: Relation,
    results: Results,
    purpose: str,
    *,
    plus: str | None = None,
    values: bool = True,
) -> RowCheck | None:
    """A query of the rows and (with ``values``) each checked column's non-NULL values, which
    must equal the results' (plus the counts captured under ``plus``); None when the results
    have no row count."""
    if results.rows is None:
        return None
    columns = checked_columns(dialect, results) if values else ()
    return RowCheck(
        (dialect.counts(relation, tuple(n for n, _ in columns)),),
        purpose,
        checks=("rows", *(n for n, _ in columns)),
        expect=(results.rows, *(v for _, v in columns)),
        plus=plus,
    )


def count_capture(dialect: Dialect, relation: Relation, name: str) -> RowCheck:
    """The table's rows, counted before a change and kept as ``name``."""
    return RowCheck((dialect.counts(relation, ()),), "count the rows before", capture=name)


def file_sizes(sizes: list[int]) -> str:
    """'12 files of 40 KB to 3.1 MB (median 512 KB), 9.5 MB in all': a result's layout, for warnings."""
    ordered = sorted(sizes)
    if len(ordered) == 1:
        return f"1 file of {human_bytes(ordered[0])}"
    count = f"{len(ordered):,} files of"
    if ordered[0] == ordered[-1]:
        return f"{count} {human_bytes(ordered[0])} each"
    spread = f"{human_bytes(ordered[0])} to {human_bytes(ordered[-1])}"
    return f"{count} {spread} (median {human_bytes(ordered[len(ordered) // 2])}), {human_bytes(sum(ordered))} in all"


def human_bytes(n: int) -> str:
    """Bytes in the units the engines' guidance uses (1 MB = 1,048,576 bytes, as AWS's and Spark's)."""
    for unit, size in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if n >= size:
            return f"{n / size:.1f} {unit}".replace(".0 ", " ")
    return f"{n} bytes"
