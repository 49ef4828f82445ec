"""HiveQL, as run by Apache Hive and by Spark SQL with Hive support."""

from __future__ import annotations

import re
import string
from typing import TYPE_CHECKING, Any, ClassVar

from publisher.dialects import hive_types as types
from publisher.dialects.base import ColumnDef, Dialect, LoadSource, count_check, file_sizes
from publisher.model.location import Location
from publisher.model.plan import CheckValues, ReleaseLock, Step, TakeLock, sql
from publisher.model.relation import Relation
from publisher.model.target import HiveTable, TableState, TargetTable
from publisher.targets.hive import HIVE

if TYPE_CHECKING:
    from publisher.inputs.spec import Spec
    from publisher.results import Results

# Fraction digits of the Avro timestamps that Hive's AvroSerDe would misread as milliseconds.
AVRO_EPOCH_DIGITS = {"us": 6, "ns": 9}

MICRO_NANO = {"us": "microseconds", "ns": "nanoseconds"}

NONSTRICT = "SET hive.exec.dynamic.partition.mode=nonstrict"

NUMBERS_TO_TIMESTAMPS = "SET hive.strict.timestamp.conversion=false"
"""Apache Hive 3+ refuses CAST(<number> AS TIMESTAMP) unless this is off (default true: "Casting
NUMERIC types to TIMESTAMP is prohibited", measured on Hive 4.0.1); Spark ignores the key."""

# Hive SerDe clause for each result format of a staging external table.
STORED_AS = {"pqt": "PARQUET", "avro": "AVRO"}

SMALL_FILE = 4 << 20
"""Spark plans each file as at least a 4 MB read (spark.sql.files.openCostInBytes,
https://spark.apache.org/docs/latest/sql-performance-tuning.html): smaller files cost more to
open than to read, and Hive lists and opens every one (the small-files problem)."""
MANY_SMALL_FILES = 100
"""Small files worth a warning: at ~10 ms to list and open each, 100 add a second or more."""


DEFAULT_PARTITION = "__HIVE_DEFAULT_PARTITION__"
"""The partition Hive puts rows with a NULL partition value in (hive.exec.default.partition.name)."""

STRING_TYPES = frozenset({"STRING", "VARCHAR", "CHAR"})

_CHAR_NAMES = {"\n": "a line break (\\n)", "\r": "a carriage return (\\r)", "\t": "a tab"}


def _char_literal(c: str) -> str:
    """A one-character HiveQL literal; control characters as escapes Hive and Spark both read."""
    if c in ("\n", "\r", "\t"):
        return "'" + {"\n": "\\n", "\r": "\\r", "\t": "\\t"}[c] + "'"
    if c.isprintable() and c not in "'\\":
        return f"'{c}'"
    return f"'\\u{ord(c):04x}'"


def _char_name(c: str) -> str:
    return _CHAR_NAMES.get(c) or (f"the delimiter {c!r}" if c.isprintable() else f"the delimiter \\x{ord(c):02x}")


SUBSTITUTION_MARKER = "${"
"""What Hive and Spark replace in SQL text, string literals included, unless the session's
variable substitution is off (engines/hive_substitution.py)."""


def first_marker(text: str) -> str | None:
    """The first ``${...}`` in ``text`` (up to 40 characters), or None."""
    at = text.find(SUBSTITUTION_MARKER)
    if at < 0:
        return None
    end = text.find("}", at)
    return text[at : end + 1] if 0 <= end - at < 40 else text[at : at + 40]


HADOOP_GLOB = "{}[]*?\\"
"""Characters of a Hadoop glob pattern (org.apache.hadoop.fs.GlobPattern)."""

_URI_CHARS = frozenset(string.ascii_letters + string.digits + "-._~!$&'()*+,;=:@/?")
"""What java.net.URI takes as written in a path, query or fragment (RFC 2396), beside escapes."""


def java_uri_refuses(text: str) -> str | None:
    """What in ``text`` (scheme:[//authority]path) java.net.URI's parser refuses, named for a
    message; None: it parses. Beside ``_URI_CHARS`` it takes ``%`` with two hex digits and any
    non-ASCII character that is not a control or a space; one ``#`` starts the fragment."""
    _, _, rest = text.partition(":")
    path, _, fragment = rest.partition("#")
    for part in (path, fragment):
        at = 0
        while at < len(part):
            c = part[at]
            if c == "%":
                if not re.fullmatch("[0-9A-Fa-f]{2}", part[at + 1 : at + 3]):
                    return "a percent sign not followed by two hex digits"
                at += 3
                continue
            if c not in _URI_CHARS and not (ord(c) > 127 and c.isprintable() and not c.isspace()):
                return "a space" if c == " " else f"the character {c!r}"
            at += 1
    return None


MADE_BY_PUBLISHER = "publisher.made"
"""The property of the tables the publisher creates (a twin made LIKE a table has its table's)."""

PURGE = "external.table.purge"
"""An external table whose files its DROP deletes (Hive 3+; Hive 4 sets it on the plain tables
its metastore translates to external)."""


class Hive(Dialect):
    name = HIVE.name
    title = HIVE.title
    integer_digits = types.INTEGERS
    column_name_limit = (128, "characters")
    quote_char = "`"
    replace_via = "location_swap"
    """Hive commits every statement on its own; there is no BEGIN/COMMIT across statements.
    ALTER TABLE ... SET LOCATION repoints a table at once: readers see the old files or the
    new ones, never none (measured on Spark 4.3 and its Thrift Server)."""
    stages_results = True
    comment_in_create = True
    """CREATE TABLE ... COMMENT 'text' sets the table's comment in the same statement (Hive's
    DDL grammar; Spark takes the clause too), which DESCRIBE shows and the metastore keeps."""
    created_storage: ClassVar[str] = "PARQUET"
    """Tables the publisher creates are Parquet, whatever the results' format."""

    ledger_types: ClassVar[dict[str, str]] = {"int": "BIGINT", "text": "STRING", "timestamp": "TIMESTAMP"}
    ledger_storage = " STORED AS PARQUET"
    ledger_partitioned = True
    # Spark's own Parquet writer commits every INSERT through one `_temporary` folder in the
    # table's folder: of two INSERTs into one table at once (two serve processes and a CI
    # apply recording into one ledger), the first to commit deletes the other's files.
    # Measured on the Thrift Server, 3 sessions x 15 INSERTs into one partition: 9 failed
    # (FileNotFoundException .../_temporary/0, TASK_WRITE_FAILED) and one reported success
    # lost its row. Hive's own writer, which these settings choose, stages each INSERT in a
    # folder of its own (.hive-staging_hive_<id>): 45 of 45 kept. Spark's default (true) is
    # set again after, the writer every other statement of the publisher is tested with.
    # Apache Hive keeps unknown spark.* keys as plain session variables: no effect there.
    shared_insert_settings = (
        ("spark.sql.hive.convertInsertingPartitionedTable", "false", "true"),
        ("spark.sql.hive.convertInsertingUnpartitionedTable", "false", "true"),  # pre-partition ledgers
    )

    # This class is Spark SQL's flavour (its Thrift Server, the embedded engine), and any
    # engine that does not name itself: Spark caches file lists, and its Hive 2.3 metastore
    # keeps the files of a dropped external table whatever external.table.purge says (the
    # property is Hive 3's, HIVE-19981), so the publisher's tables are managed there.
    caches_file_lists = True

    def for_engine(self, product: str | None) -> Dialect:
        return APACHE_HIVE if (product or "").startswith("Apache Hive") else self

    def made_table(self) -> TargetTable | None:
        return HiveTable(managed=True, kind="managed", made_by_publisher=True)

    def layout_warnings(self, results: Results, slices: int | None = None) -> tuple[str, ...]:
        sizes = [f.size for f in results.files]
        small = [n for n in sizes if n < SMALL_FILE]
        if len(small) < MANY_SMALL_FILES:
            return ()
        return (
            f"{len(small):,} of the results' files are under 4 MB ({file_sizes(sizes)}): many tiny files, each "
            "opened and planned as a 4 MB read (Spark's openCostInBytes); have the job write fewer, larger files",
        )

    def unreadable_location(self, uri: str) -> str | None:
        # Spark reads a Parquet Hive table through its own reader (convertMetastoreParquet), which
        # expands the table's path as a Hadoop glob (DataSource.checkAndGlobPathIfNecessary):
        # 'job{a,b}' names jobA and jobB, 'job${x}' no folder at all (measured: PATH_NOT_FOUND).
        # Measured for table folders too, an unpartitioned table stored under a folder named
        # 'b{}': on Spark 4.3 it is created, then every INSERT and SELECT fails (also 'v${x}',
        # 'k[a]'); on Apache Hive 4.0.1 the INSERT succeeds and SELECT counts 0 rows (MapReduce's
        # FileInputFormat globs its input paths too).
        found = sorted(set(uri) & set(HADOOP_GLOB))
        if not found:
            return None
        return (
            f"holds {' '.join(found)}, which Spark reads as a Hadoop glob pattern (another folder, or none): "
            "use a folder whose path has none of " + " ".join(HADOOP_GLOB)
        )

    def substitution_token(self, text: str) -> str | None:
        return first_marker(text)

    def escape_string(self, value: str) -> str:
        # Hive and Spark read backslash escapes in literals; '' is not an escaped quote there.
        return value.replace("\\", "\\\\").replace("'", "\\'")

    lock_wait_seconds: ClassVar[int] = 3600
    """How long an apply waits for another that publishes into the same table."""

    def lock_name(self, relation: Relation) -> str:
        """The lock table beside ``relation`` (reserved: the spec schema refuses a table of this name)."""
        return f"{relation.name}__lock"

    def table_lock(self, relation: Relation, ledger: Relation) -> tuple[Step, ...]:
        # No transaction makes a second apply wait: a lock table does (apply/table_lock.py).
        # Spark caches a table's file list per session: once the lock is ours, the ledger and
        # the table are refreshed, or the guard would miss the row the previous holder wrote.
        lock = self.lock_name(relation)
        purpose = "one writer per table: take the table's lock (wait while another apply holds it)"
        refresh = (self.table(ledger), self.table(relation)) if self.caches_file_lists else ()
        wait = self.lock_wait_seconds
        return (TakeLock(relation.database, relation.name, lock, wait, purpose, refresh, self.table(ledger)),)

    def table_unlock(self, relation: Relation) -> tuple[Step, ...]:
        return (ReleaseLock(relation.database, self.lock_name(relation), "release the table's lock"),)

    def views_query(self, relation: Relation) -> str | None:
        # The metastore keeps a view's SQL, not what it reads: a DROP TABLE under a view
        # succeeds and the view fails later. Retention matches the views' text instead.
        return f"SHOW VIEWS IN {self.quote(relation.database)}"

    def view_names(self, rows: list[tuple[Any, ...]]) -> list[str]:
        # Spark: (namespace, viewName, isTemporary), its session's temporary views among them;
        # Apache Hive: (tab_name).
        if rows and len(rows[0]) >= 3:
            return [str(row[1]) for row in rows if str(row[2]).lower() not in ("true", "1")]
        return [str(row[0]) for row in rows]

    def view_text_query(self, view: Relation) -> str:
        return f"SHOW CREATE TABLE {self.table(view)}"

    def stale_lock(self, relation: Relation, ledger: Relation, names: frozenset[str]) -> tuple[Step, ...]:
        if self.lock_name(relation) not in names:
            return ()
        purpose = "drop the table's lock if an apply that finished left it (killed after its last change)"
        return (ReleaseLock(relation.database, self.lock_name(relation), purpose, self.table(ledger)),)

    def create_namespace(self, name: str) -> str:
        return f"CREATE DATABASE IF NOT EXISTS {self.quote(name)}"

    def insert_target(self, relation: Relation, columns: tuple[str, ...]) -> str:
        # Hive before 1.2 takes no column list; the ledger's columns are in table order.
        return f"TABLE {self.table(relation)}"

    def table(self, relation: Relation) -> str:
        return f"{self.quote(relation.database)}.{self.quote(relation.name)}"

    def rename(self, relation: Relation, new_name: str) -> str:
        return f"ALTER TABLE {self.table(relation)} RENAME TO {self.table(relation.renamed(new_name))}"

    def column_type(self, arrow_type: Any, column: str) -> str:
        return types.hive_type(arrow_type, column=column)

    def normalize_type(self, reported: str) -> str:
        return types.normalize_hive_type(reported)

    def loads_into(self, result_type: str, table_type: str) -> bool:
        return types.hive_loads_into(result_type, table_type)

    def storage_loses(self, storage: str | None, column: str, arrow_type: Any) -> str | None:
        # Hive 2.3's AvroSerDe writes every TIMESTAMP as timestamp-millis: micro- and
        # nanoseconds of the results would be cut off without an error (measured on both engines).
        unit = getattr(arrow_type, "unit", None)
        if storage == "avro" and types.hive_type(arrow_type, column=column) == "TIMESTAMP" and unit in ("us", "ns"):
            return (
                f"column {column}: results TIMESTAMP in {MICRO_NANO[unit]}, which an Avro table keeps only to the "
                "millisecond (results written in milliseconds load)"
            )
        return None

    def create_table_suffix(self) -> str:
        # The mark says who made the table: where the ledger goes missing, the next plan finds
        # it and stops instead of publishing everything again (planning/snapshot.py).
        properties = [f"{self.literal(MADE_BY_PUBLISHER)}='true'"]
        if self.creates_external:
            properties.append(f"{self.literal(PURGE)}='true'")
        return f" STORED AS {self.created_storage}\nTBLPROPERTIES ({', '.join(properties)})"

    def location(self, uri: str) -> str:
        """A results location as Hive reads it: local folders as file: URIs."""
        return uri if "://" in uri else "file://" + uri

    def load_source(self, spec: Spec, results: Results, staging: Relation, stamp: str) -> LoadSource:
        # LOAD DATA INPATH would move the job's files into the warehouse: read them in place
        # through an external table instead, whose DROP leaves the files alone.
        columns = tuple(self._staged(c, spec.input_format) for c in results.columns)
        cols = ",\n".join(f"  {self.quote(c.name)} {'BIGINT' if c.read else c.type}" for c in columns)
        create = (
            f"CREATE EXTERNAL TABLE {self.table(staging)} (\n{cols}\n)"
            f" STORED AS {STORED_AS[spec.input_format]} LOCATION {self.literal(self.location(results.location))}"
        )
        if results.avro_schema is not None:
            # Hive's AvroSerDe matches fields by exact name, and Hive lower-cases column
            # names: without the files' own field names, OrderId would read as NULL.
            create += f"\nTBLPROPERTIES ('avro.schema.literal'={self.literal(results.avro_schema)})"
        steps: list[Step] = [sql(create, "stage the results in place (external table: files are not moved)")]
        if any(c.read for c in columns):
            # Session-scoped, as the insert that reads the staged numbers runs on this connection.
            steps.append(sql(NUMBERS_TO_TIMESTAMPS, "allow the exact conversion of the staged numbers to TIMESTAMP"))
        check = count_check(self, staging, results, "check the engine reads the results' rows and values")
        if check is not None:
            steps.append(check)
        tidy = (sql(self.drop_table(staging, if_exists=True), "drop the staging table (the files stay)"),)
        return LoadSource(tuple(steps), self.table(staging), tidy, columns)

    def _staged(self, column: Any, input_format: str) -> ColumnDef:
        """A result column as the staging table reads it."""
        name = self.fold(column.name)
        kind = self.column_type(column.type, column.name)
        unit = getattr(column.type, "unit", None)
        if input_format == "avro" and kind == "TIMESTAMP" and unit in AVRO_EPOCH_DIGITS:
            # Hive's AvroSerDe reads every Avro timestamp as milliseconds: stage micro- and
            # nanosecond timestamps as their raw numbers and convert them exactly.
            digits = AVRO_EPOCH_DIGITS[unit]
            read = f"CAST(CAST({self.quote(name)} AS DECIMAL(38,{digits})) / {10**digits} AS TIMESTAMP)"
            return ColumnDef(name, kind, read)
        return ColumnDef(name, kind)

    def value_checks(
        self, stage: Relation, source: LoadSource, dynamic: tuple[str, ...], into: TableState | None
    ) -> tuple[Step, ...]:
        checks: list[tuple[str, str, str]] = []  # (column, condition, what the engine makes of it)
        unsafe = into.of(HiveTable).unescaped if into is not None else ()
        for column in source.columns:
            if column.type.upper().split("(")[0] not in STRING_TYPES:
                continue
            name = self.quote(column.name)
            if column.name in dynamic:
                # Hive (and Spark) write a dynamic partition value '' into __HIVE_DEFAULT_PARTITION__,
                # the partition of NULL: it reads back as NULL (measured on both engines).
                condition = f"{name} = '' OR {name} = {self.literal(DEFAULT_PARTITION)}"
                why = f"an empty string or {DEFAULT_PARTITION} as a partition value, which Hive stores as NULL"
                checks.append((column.name, condition, why))
            elif unsafe:
                condition = " OR ".join(f"INSTR({name}, {_char_literal(c)}) > 0" for c in unsafe)
                shown = " or ".join(_char_name(c) for c in unsafe)
                why = f"{shown}, which the text table (no ESCAPED BY) would split the value or the row at"
                checks.append((column.name, condition, why))
        if not checks:
            return ()
        table = self.table(stage)
        each = ",\n       ".join(f"COUNT(CASE WHEN {condition} THEN 1 END)" for _, condition, _ in checks)
        return (
            CheckValues(
                tuple(c for c, _, _ in checks),
                f"SELECT {each}\nFROM {table}",
                tuple(f"SELECT {self.quote(c)} FROM {table} WHERE {condition} LIMIT 1" for c, condition, _ in checks),
                tuple(why for _, _, why in checks),
                "check the table would store every value as sent (none of these values)",
            ),
        )

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
        assert rows is None, "HiveServer2 reports no row counts: Hive's rows are checked by COUNT"
        select = f"SELECT {self.select_list(source.columns, table_columns)}\nFROM {source.reference}"
        purpose = "replace the rows in one statement" if overwrite else "copy the rows"
        insert = sql(self.insert_select(into, table_columns, select, partition, overwrite=overwrite), purpose)
        return (*self.partition_mode(partition), insert)

    def insert_select(
        self,
        into: Relation,
        columns: tuple[ColumnDef, ...],
        query: str,
        partition: tuple[tuple[str, str | None], ...] = (),
        *,
        overwrite: bool = False,
    ) -> str:
        verb = "INSERT OVERWRITE TABLE" if overwrite else "INSERT INTO TABLE"
        if partition:
            spec_text = ", ".join(
                self.quote(n) if v is None else f"{self.quote(n)}={self.literal(v)}" for n, v in partition
            )
            verb = f"{verb} {self.table(into)} PARTITION ({spec_text})"
        else:
            verb = f"{verb} {self.table(into)}"
        # The column list makes the insert match by name: by position, Spark would put a
        # DOUBLE into a BIGINT column without complaint.
        names = ", ".join(self.quote(c.name) for c in columns)
        return f"{verb} ({names})\n{query}"

    def partition_mode(self, partition: tuple[tuple[str, str | None], ...]) -> tuple[Step, ...]:
        """What an insert into ``partition`` needs first: where every partition column takes
        the rows' values, Hive's default strict mode refuses it. Spark lets it pass only where
        it writes the table itself (Parquet, ORC); into an Avro or text table, or on Apache
        Hive, it failed at apply. Session-scoped: a publication's statements run on one connection."""
        if partition and all(v is None for _, v in partition):
            return (sql(NONSTRICT, "allow partitions taken from the rows (Hive's strict mode wants a static one)"),)
        return ()

    def add_columns(self, relation: Relation, columns: tuple[ColumnDef, ...]) -> tuple[str, ...]:
        if not columns:
            return ()
        cols = ", ".join(f"{self.quote(c.name)} {c.type}" for c in columns)
        return (f"ALTER TABLE {self.table(relation)} ADD COLUMNS ({cols})",)

    def create_like(self, relation: Relation, like: Relation) -> str:
        if self.creates_external:
            # Made LIKE an external table, a twin is still managed, so ACID where managed tables
            # are (measured on Hive 4.0.1, create.as.insert.only): it says EXTERNAL and purge itself.
            purge = f"TBLPROPERTIES ({self.literal(PURGE)}='true')"
            return f"CREATE EXTERNAL TABLE {self.table(relation)} LIKE {self.table(like)} {purge}"
        return f"CREATE TABLE {self.table(relation)} LIKE {self.table(like)}"

    def set_location(self, relation: Relation, location: Location) -> str:
        return f"ALTER TABLE {self.table(relation)} SET LOCATION {self.location_literal(location)}"


# Characters Hive (FileUtils.escapePathName) and Spark escape as %XX in partition paths.
PATH_ESCAPED = frozenset([chr(c) for c in range(0x20)] + list("\"#%'*/:=?\\{[]^") + [chr(0x7F)])


def partition_path(pairs: tuple[tuple[str, str], ...]) -> str:
    """``day=2026-12-01/origin=a%2Fb``: a partition as SHOW PARTITIONS prints it."""
    return "/".join(f"{_escape(name)}={_escape(value)}" for name, value in pairs)


def partition_values(path: str) -> tuple[tuple[str, str], ...]:
    """(column, value) pairs of a SHOW PARTITIONS row; the inverse of ``partition_path``."""
    pairs = []
    for part in path.split("/"):
        name, _, value = part.partition("=")
        pairs.append((_unescape(name), _unescape(value)))
    return tuple(pairs)


def _escape(text: str) -> str:
    return "".join(f"%{ord(c):02X}" if c in PATH_ESCAPED else c for c in text)


def _unescape(text: str) -> str:
    out, i = [], 0
    while i < len(text):
        two = text[i + 1 : i + 3]
        if text[i] == "%" and len(two) == 2 and all(c in "0123456789abcdefABCDEF" for c in two):
            out.append(chr(int(two, 16)))
            i += 3
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


class ApacheHive(Hive):
    """HiveQL as Apache Hive's own HiveServer2 runs it (4.0.1 measured, in its defaults and in
    the Cloudera-like ACID configuration)."""

    # Its metastore moves a translated table's folder with a RENAME, as a managed one's
    # (HiveAlterHandler; measured on 4.0.1).
    rename_moves_translated = True
    # No file-list cache, and no REFRESH TABLE statement (an error).
    caches_file_lists = False
    # Where managed tables are ACID (Cloudera's default, hive.create.as.insert.only), a plain
    # CREATE TABLE comes out insert-only ACID, which Spark cannot read and the publisher could
    # not replace; in Hive 4's defaults it comes out external with purge anyway
    # (MetastoreDefaultTransformer). Declared so, the table is the same in both: external,
    # owned (DROP deletes its folder: measured), in the database's external folder, and a
    # RENAME leaves its folder where it is (a swap's old folder goes with the dropped twin).
    creates_external = True
    # INSERT INTO an ACID table commits under Hive's transactions: readers see all of it or none.
    appends_to_acid = True

    def made_table(self) -> TargetTable | None:
        return HiveTable(managed=False, kind="external-owned", made_by_publisher=True)

    def unsettable_location(self, location: Location) -> str | None:
        # Apache Hive's ALTER TABLE/PARTITION ... SET LOCATION first parses the text as a
        # java.net.URI (AlterTableSetLocationAnalyzer: "Unable to get path"), then uses it as a
        # Hadoop Path, which does not decode: a space or a brace can be written neither way
        # ('%20' would name a folder called '%20'). Spark's parses it as a Path only.
        bad = java_uri_refuses(str(location))
        if not bad:
            return None
        return (
            f"holds {bad}, which Apache Hive's ALTER TABLE ... SET LOCATION refuses (it reads the text as a URI, "
            "then as a path: no spelling names that folder)"
        )


APACHE_HIVE = ApacheHive()
