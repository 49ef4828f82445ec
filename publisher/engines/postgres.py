"""PostgreSQL through psycopg 3: catalog queries (engines/pg_catalog.py and PostgreSQL's own),
statements in the plan's transactions, and the results' rows streamed into COPY FROM STDIN.
Importing this module imports no driver: psycopg is imported when a connection opens."""

from __future__ import annotations

import re
import time
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from publisher.engines.drivers import POSTGRES, needs
from publisher.engines.pg_catalog import (
    COLUMN_FACTS_SQL,
    COLUMNS_SQL,
    CONSTRAINTS_SQL,
    DEPENDENT_VIEWS_SQL,
    OWNERS_GRANTS_SQL,
    REFERENCED_BY_SQL,
    SCHEMA_COLUMNS_SQL,
    SCHEMA_SQL,
    keys_and_foreign_keys,
    referenced_by,
)
from publisher.engines.redshift_grants import parse_grants
from publisher.model.errors import PublishFailed, TransactionConflict
from publisher.model.relation import Relation
from publisher.model.target import ColumnFacts, ColumnState, IndexFacts, PostgresTable, TableFacts, TableState, Target

if TYPE_CHECKING:
    from publisher.inputs.config import Config
    from publisher.model.location import Location
    from publisher.model.plan import CopyRows
    from publisher.results import Column, Results
    from publisher.targets.postgres import PostgresSettings

TABLES_SQL = """
SELECT c.relname FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON c.relnamespace = n.oid
WHERE n.nspname = %s AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
"""
# What CREATE TABLE does not give a replacement: indexes no constraint makes (dropAndLoad builds
# them again), its own triggers, and whether it is partitioned (relkind 'p'). An index's CREATE
# INDEX is pg_get_indexdef's; its start is rebuilt here with quote_ident, which quotes as
# pg_get_indexdef does (ruleutils.c, pg_get_indexdef_worker), so what follows USING is the index
# on any table with those columns. The columns an index reads (keys, expressions, predicate) are
# its dependencies (pg_depend) on the table's.
INDEXES_SQL = """
SELECT c.relname, ic.relname, pg_catalog.pg_get_indexdef(i.indexrelid), i.indisunique,
       'CREATE ' || CASE WHEN i.indisunique THEN 'UNIQUE ' ELSE '' END || 'INDEX '
       || pg_catalog.quote_ident(ic.relname) || ' ON ' || pg_catalog.quote_ident(n.nspname) || '.'
       || pg_catalog.quote_ident(c.relname) || ' USING ',
       ARRAY(SELECT a.attname::text FROM pg_catalog.pg_depend d
             JOIN pg_catalog.pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
             WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = i.indexrelid
               AND d.refobjid = c.oid AND d.refobjsubid > 0
             ORDER BY a.attnum)
FROM pg_catalog.pg_index i
JOIN pg_catalog.pg_class c ON i.indrelid = c.oid
JOIN pg_catalog.pg_class ic ON i.indexrelid = ic.oid
JOIN pg_catalog.pg_namespace n ON c.relnamespace = n.oid
WHERE n.nspname = %s AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint k WHERE k.conindid = i.indexrelid)
ORDER BY 1, 2
"""
TRIGGERS_SQL = """
SELECT c.relname, t.tgname FROM pg_catalog.pg_trigger t
JOIN pg_catalog.pg_class c ON t.tgrelid = c.oid
JOIN pg_catalog.pg_namespace n ON c.relnamespace = n.oid
WHERE n.nspname = %s AND NOT t.tgisinternal
ORDER BY 1, 2
"""
PARTITIONED_SQL = """
SELECT c.relname FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON c.relnamespace = n.oid
WHERE n.nspname = %s AND c.relkind = 'p'
"""
# Identity columns (GENERATED ... AS IDENTITY: attidentity 'a' or 'd') and their sequence's start
# and step (the sequence depends on its column internally, deptype 'i').
IDENTITIES_SQL = """
SELECT c.relname, a.attname, s.seqstart, s.seqincrement
FROM pg_catalog.pg_attribute a
JOIN pg_catalog.pg_class c ON a.attrelid = c.oid
JOIN pg_catalog.pg_namespace n ON c.relnamespace = n.oid
JOIN pg_catalog.pg_depend d ON d.refobjid = c.oid AND d.refobjsubid = a.attnum AND d.deptype = 'i'
JOIN pg_catalog.pg_sequence s ON s.seqrelid = d.objid
WHERE n.nspname = %s AND a.attidentity <> ''
"""
SUPERUSER_SQL = "SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user"

# SQLSTATEs: a CREATE ... IF NOT EXISTS that a concurrent session won (unique violation in the
# catalog, the object already there); a transaction the server aborted for a conflict with a
# concurrent one (serialization failure, deadlock), which runs again from its start.
RACE_CODES = frozenset({"23505", "42P06", "42P07", "42710"})
CONFLICT_CODES = frozenset({"40001", "40P01"})
CREATE_ATTEMPTS = 3


def open_postgres(settings: PostgresSettings, config: Config) -> PostgresTarget:
    """A PostgreSQL connection (psycopg 3); results on S3 are read through ``settings.s3`` or
    the results connection of publisher.yaml."""
    s3 = config.find(settings.s3) if settings.s3 is not None else config.results_connection
    with needs(POSTGRES):
        import psycopg  # noqa: F401  (the driver named by the extra when missing)

        return PostgresTarget(settings, s3)


class PostgresTarget:
    """One session; autocommit on, so the plan's own BEGIN/COMMIT steps delimit transactions."""

    shared = True

    def __init__(self, settings: PostgresSettings, s3: Any) -> None:
        import psycopg

        self.user = settings.user
        self._s3_connection = s3
        self._s3_client: Any = None
        where = f"PostgreSQL at {settings.host}:{settings.port} (database {settings.database}, user {settings.user})"
        try:
            self.connection = psycopg.connect(
                host=settings.host,
                port=settings.port,
                dbname=settings.database,
                user=settings.user,
                password=settings.password.reveal(),
                sslmode=settings.sslmode,
                autocommit=True,
                application_name="publisher",
            )
        except Exception as exc:
            # One line, the server's or libpq's message; the password is never part of it.
            raise PublishFailed(f"cannot connect to {where}: {_message(exc)}") from None

    def _cursor(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
        for attempt in range(1, CREATE_ATTEMPTS + 1):
            cursor = self.connection.cursor()
            try:
                cursor.execute(sql.encode(), params or None)  # bytes: psycopg parses no % in the text
                return cursor
            except Exception as exc:
                code = getattr(exc, "sqlstate", None)
                if attempt < CREATE_ATTEMPTS and code in RACE_CODES and "IF NOT EXISTS" in sql.upper():
                    # Racing a concurrent session that created the same object (two first
                    # applies): it exists now, which is what was asked.
                    time.sleep(0.05 * attempt)
                    continue
                if code in CONFLICT_CODES:
                    raise TransactionConflict(_message(exc)) from None
                raise RuntimeError(_message(exc)) from None
        raise AssertionError("unreachable")

    def execute(self, sql: str) -> int | None:
        count = self._cursor(sql).rowcount  # -1 where the statement changes no rows (DDL)
        return int(count) if count is not None and count >= 0 else None

    def fetch(self, sql: str) -> list[tuple[Any, ...]]:
        return [tuple(r) for r in self._cursor(sql).fetchall()]

    def copy_rows(self, step: CopyRows) -> int:
        from publisher.engines.postgres_copy import copy_results, result_batches
        from publisher.results import inspect_results

        # Not a redundant second read of what planning read, though it repeats it: the step carries
        # the files' names and the table's types only, and reading the rows needs what only the
        # results' metadata says: each file's size (S3 is read by byte ranges up to it), the
        # Arrow schema JSON and Avro rows are decoded with, Avro's reader schema, and the names
        # as the files spell them. It is also where a file gone since the plan stops the load
        # before any row is sent; a file rewritten since is caught by CopyRows' count where the
        # plan knew the rows, and for a saved plan by its fingerprint of every file's size and
        # version (workflow/saved.py), compared when apply plans again before anything runs.
        # Carrying all of it in CopyRows would put an Arrow schema in every plan file's step.
        # The rows come from exactly the files the plan lists.
        results = inspect_results(step.location, step.input_format, self._s3())  # type: ignore[arg-type]
        found = {f.uri: f for f in results.files}
        missing = [uri for uri in step.files if uri not in found]
        if missing:
            raise PublishFailed(f"result file {missing[0]} is gone since the plan; nothing was loaded, plan again")
        planned = replace(results, files=tuple(found[uri] for uri in step.files), columns=_json_decimals(results, step))
        batches = result_batches(planned, self._s3())
        try:
            return copy_results(self.connection, step.table, step.columns, step.types, batches)
        except Exception as exc:
            code = getattr(exc, "sqlstate", None)
            if code in CONFLICT_CODES:
                raise TransactionConflict(_message(exc)) from None
            if code is not None:
                raise RuntimeError(_message(exc)) from None
            raise

    def _s3(self) -> Any:
        """The S3 client results are read through (None for local results or no s3 connection)."""
        if self._s3_client is None and self._s3_connection is not None:
            from publisher.engines.pool import s3_client

            self._s3_client = s3_client(self._s3_connection)
        return self._s3_client

    def namespace_exists(self, relation: Relation) -> bool:
        return bool(self._cursor(SCHEMA_SQL, (relation.schema or "public",)).fetchall())

    def table_state(self, relation: Relation, *, exists: bool = False) -> TableState | None:
        rows = self._cursor(COLUMNS_SQL, (relation.schema or "public", relation.name)).fetchall()
        if not rows:
            return None
        # Names as stored: PostgreSQL keeps a quoted name's case (the target's name case is "kept").
        return TableState(tuple(ColumnState(str(name), str(kind).lower()) for name, kind in rows), "postgres")

    def table_states(self, relation: Relation) -> dict[str, TableState] | None:
        schema = relation.schema or "public"
        columns: dict[str, list[ColumnState]] = {}
        for table, name, kind in self._cursor(SCHEMA_COLUMNS_SQL, (schema,)).fetchall():
            columns.setdefault(str(table), []).append(ColumnState(str(name), str(kind).lower()))
        views: dict[str, list[str]] = {}
        for table, view_schema, view in self._cursor(DEPENDENT_VIEWS_SQL, (schema,)).fetchall():
            views.setdefault(str(table), []).append(f"{view_schema}.{view}")
        indexes: dict[str, list[IndexFacts]] = {}
        for table, index, definition, unique, start, reads in self._cursor(INDEXES_SQL, (schema,)).fetchall():
            using = definition[len(start) :] if definition.startswith(start) else None
            found = IndexFacts(str(index), str(definition), using, tuple(reads), bool(unique))
            indexes.setdefault(str(table), []).append(found)
        triggers: dict[str, list[str]] = {}
        for table, trigger in self._cursor(TRIGGERS_SQL, (schema,)).fetchall():
            triggers.setdefault(str(table), []).append(str(trigger))
        partitioned = {str(r[0]) for r in self._cursor(PARTITIONED_SQL, (schema,)).fetchall()}
        superuser = any(r[0] for r in self._cursor(SUPERUSER_SQL).fetchall())
        facts = self._facts(schema)
        states: dict[str, TableState] = {}
        for table, cols in columns.items():
            states[table] = TableState(
                tuple(cols),
                "postgres",
                own=PostgresTable(
                    dependent_views=tuple(views.get(table, ())),
                    facts=facts.get(table),
                    indexes=tuple(indexes.get(table, ())),
                    triggers=tuple(triggers.get(table, ())),
                    partitioned=table in partitioned,
                ),
            )
        for table, owner, acl in self._cursor(OWNERS_GRANTS_SQL, (schema,)).fetchall():
            name = str(table)
            if name not in states:
                continue
            # Groups and users are roles: every grantee is named without a keyword.
            grants, ungranted = parse_grants(acl, str(owner), frozenset())
            other = str(owner) if str(owner) != self.user else None
            states[name] = states[name].with_own(
                PostgresTable,
                owner=other,
                owner_only=other is not None and not superuser,
                grants=grants,
                ungranted=ungranted,
            )
        return states

    def _facts(self, schema: str) -> dict[str, TableFacts]:
        comments: dict[str, str | None] = {}
        columns: dict[str, dict[str, ColumnFacts]] = {}
        identities = {
            (str(table), str(column)): f"{start},{step}"
            for table, column, start, step in self._cursor(IDENTITIES_SQL, (schema,)).fetchall()
        }
        for table, _, column, not_null, default, comment in self._cursor(COLUMN_FACTS_SQL, (schema, schema)).fetchall():
            name = str(table)
            cols = columns.setdefault(name, {})
            if column is None:
                comments[name] = None if comment is None else str(comment)
                continue
            cols[str(column)] = ColumnFacts(
                comment=None if comment is None else str(comment),
                not_null=bool(not_null),
                default=None if default is None else str(default),
                identity=identities.get((name, str(column))),
            )
        keys, own_fks = keys_and_foreign_keys(self._cursor(CONSTRAINTS_SQL, (schema,)).fetchall(), str)
        referenced = referenced_by(self._cursor(REFERENCED_BY_SQL, (schema,)).fetchall(), str)
        return {
            name: TableFacts(
                comment=comments.get(name),
                columns=tuple(cols.items()),
                keys=tuple(keys.get(name, ())),
                foreign_keys=tuple(own_fks.get(name, ())),
                referenced_by=tuple(referenced.get(name, ())),
                encodings_read=True,  # PostgreSQL has no column encodings: none to read
            )
            for name, cols in columns.items()
        }

    def table_location(self, relation: Relation) -> Location | None:
        return None

    def namespace_location(self, relation: Relation) -> Location | None:
        return None  # PostgreSQL stores tables itself: no locations

    def table_names(self, relation: Relation) -> set[str]:
        return {str(r[0]) for r in self._cursor(TABLES_SQL, (relation.schema or "public",)).fetchall()}

    def slice_count(self) -> int | None:
        return None

    def substitution(self) -> str | None:
        return None  # PostgreSQL runs SQL text as sent

    def keeps_quoted_case(self) -> bool | None:
        return True  # PostgreSQL keeps a quoted name's case; no setting changes it

    def product(self) -> str | None:
        version = self.connection.info.server_version  # 150018: 15.18
        return f"PostgreSQL {version // 10000}.{version % 10000}"

    def close(self) -> None:
        self.connection.close()


def _json_decimals(results: Results, step: CopyRows) -> tuple[Column, ...]:
    """The results' columns, JSON decimals typed as their table column (the spec's columnTypes):
    pyarrow reads a JSON number into the column's Arrow type, and the type inferred from a sample
    (DECIMAL(3,2) for 1.25) refuses a wider value of another file (10.36)."""
    import pyarrow as pa

    if results.format != "json":
        return results.columns
    columns = []
    for column, pg_type in zip(results.columns, step.types, strict=True):
        exact = re.fullmatch(r"DECIMAL\((\d+),(\d+)\)", pg_type)
        if exact and pa.types.is_decimal(column.type):
            precision, scale = int(exact.group(1)), int(exact.group(2))
            wide = pa.decimal128(precision, scale) if precision <= 38 else pa.decimal256(precision, scale)
            column = replace(column, type=wide)
        columns.append(column)
    return tuple(columns)


def _message(exc: BaseException) -> str:
    """The server's message (its primary text), one line; libpq's for a connection failure."""
    diag = getattr(exc, "diag", None)
    primary = getattr(diag, "message_primary", None) if diag is not None else None
    text = primary or str(exc)
    return " ".join(str(text).split())


if TYPE_CHECKING:
    # The registry imports the opener by name, so nothing else makes mypy hold this class to the
    # Target protocol: a method the protocol gains is missing here until this line fails.
    _IS_A_TARGET: type[Target] = PostgresTarget
