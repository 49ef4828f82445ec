"""Amazon Redshift through redshift-connector; catalog queries valid on Redshift and PostgreSQL."""

from __future__ import annotations

from typing import Any

from publisher.relation import Relation
from publisher.targets.base import ColumnState, TableState

# pg_catalog tables and format_type() exist on Redshift; sqlalchemy-redshift's reflection
# queries Redshift-only columns instead, and information_schema hides other users' tables.
COLUMNS_SQL = """
SELECT a.attname, format_type(a.atttypid, a.atttypmod)
FROM pg_catalog.pg_attribute a
JOIN pg_catalog.pg_class c ON a.attrelid = c.oid
JOIN pg_catalog.pg_namespace n ON c.relnamespace = n.oid
WHERE n.nspname = %s AND c.relname = %s AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum
"""
TABLES_SQL = """
SELECT c.relname FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON c.relnamespace = n.oid
WHERE n.nspname = %s AND c.relkind IN ('r', 'v')
"""
SCHEMA_SQL = "SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = %s"
# What Redshift keeps of a failed COPY (stl_load_errors is not transactional: read after ROLLBACK).
LOAD_ERRORS_SQL = """
SELECT TRIM(filename), line_number, TRIM(colname), TRIM(raw_field_value), TRIM(err_reason)
FROM stl_load_errors WHERE query = pg_last_copy_id() ORDER BY line_number LIMIT 5
"""


class RedshiftTarget:
    """One session; autocommit on, so the plan's own BEGIN/COMMIT steps delimit transactions."""

    def __init__(
        self,
        *,
        host: str,
        port: int,
        database: str,
        user: str,
        password: str,
        ssl: bool = True,
        sslmode: str = "verify-ca",
    ) -> None:
        import redshift_connector

        self.connection = redshift_connector.connect(
            host=host, port=port, database=database, user=user, password=password, ssl=ssl, sslmode=sslmode
        )
        self.connection.autocommit = True

    def _cursor(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
        cursor = self.connection.cursor()
        try:
            cursor.execute(sql, params or None)
        except Exception as exc:
            if sql.lstrip().upper().startswith("COPY"):
                raise RuntimeError(f"{_message(exc)}{self._load_errors()}") from None
            raise RuntimeError(_message(exc)) from None
        return cursor

    def _load_errors(self) -> str:
        """The rows of stl_load_errors for the failed COPY, as one line."""
        try:
            self.connection.rollback()
            cursor = self.connection.cursor()
            cursor.execute("ROLLBACK")
            cursor.execute(LOAD_ERRORS_SQL)
            rows = cursor.fetchall()
        except Exception:
            return ""
        details = [
            f"{file} line {line}, column {col}, value {value!r}: {reason}" for file, line, col, value, reason in rows
        ]
        return (" | load errors: " + "; ".join(details)) if details else ""

    def execute(self, sql: str) -> None:
        self._cursor(sql)

    def fetch(self, sql: str) -> list[tuple[Any, ...]]:
        return [tuple(r) for r in self._cursor(sql).fetchall()]

    def namespace_exists(self, relation: Relation) -> bool:
        return bool(self._cursor(SCHEMA_SQL, (relation.schema or "public",)).fetchall())

    def table_state(self, relation: Relation) -> TableState | None:
        rows = self._cursor(COLUMNS_SQL, (relation.schema or "public", relation.name)).fetchall()
        if not rows:
            return None
        return TableState(tuple(ColumnState(str(name).lower(), str(kind).lower()) for name, kind in rows), "redshift")

    def table_location(self, relation: Relation) -> str | None:
        return None

    def namespace_location(self, relation: Relation) -> str | None:
        return None  # Redshift stores tables itself: no locations

    def table_names(self, relation: Relation) -> set[str]:
        return {str(r[0]).lower() for r in self._cursor(TABLES_SQL, (relation.schema or "public",)).fetchall()}

    def close(self) -> None:
        self.connection.close()


def _message(exc: Exception) -> str:
    # redshift_connector raises with a dict of the server's fields; keep the message ('M').
    arg = exc.args[0] if exc.args else exc
    if isinstance(arg, dict):
        return str(arg.get("M", arg))
    return str(arg)
