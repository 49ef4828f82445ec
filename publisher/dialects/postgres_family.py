"""What PostgreSQL and Redshift (a PostgreSQL 8.0 descendant) write alike: double-quoted
names, transactional DDL, pg_catalog queries, COMMENT ON, GRANT, ALTER TABLE ... RENAME.
Each engine's own behaviour stays in its dialect (COPY from S3, layout and late-binding views
in redshift.py; COPY FROM STDIN, enforced keys and indexes in postgres.py)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, ClassVar

from publisher.dialects.base import ColumnDef, Dialect, LoadSource
from publisher.model.plan import Begin, Commit, Step, sql
from publisher.model.relation import Relation
from publisher.model.target import ColumnFacts, Grant, TableFacts

if TYPE_CHECKING:
    from publisher.inputs.spec import Spec

# A DEFAULT the publisher copies onto a replacement table: a constant (number, string, TRUE,
# FALSE, NULL) or the current date or time, with casts, as pg_get_expr writes them. Other
# expressions (functions of other objects, sequences) are named in the plan, not copied.
_CONSTANT = r"(?:-?\d+(?:\.\d+)?|'(?:[^'\\]|'')*'|true|false|null)"
_NOW = r"(?:getdate\(\)|sysdate|now\(\)|current_date|current_timestamp|\('now'::text\))"
_CAST = r"(?:::[a-z][a-z ]*(?:\(\d+(?:,\s*\d+)?\))?)"
PLAIN_DEFAULT = re.compile(rf"^\(*(?:{_CONSTANT}|{_NOW})(?:\)*{_CAST})*\)*$", re.IGNORECASE)


class PostgresFamily(Dialect):
    quote_char = '"'
    counts_changed_rows = True
    """The server reports the rows an INSERT, UPDATE or DELETE changed (its command tag)."""
    replace_via = "transaction"
    """CREATE, DROP and ALTER TABLE ... RENAME commit or roll back with the transaction
    (Redshift's TRUNCATE is the exception: it commits at once, so it is never used)."""
    views_bind_tables = True
    """Schema-bound views block DROP TABLE and follow a renamed table (Redshift's late-binding
    views, WITH NO SCHEMA BINDING, do neither)."""
    keys_bind_tables = True
    """A FOREIGN KEY of another table blocks DROP TABLE (without CASCADE) and follows a renamed table."""
    guards_lock_table = True
    """LOCK takes a table's exclusive lock until COMMIT: locking the ledger would make every
    publication of a connection, and every reader of the ledger, wait for the one running
    (and on Redshift a transaction that read the shared ledger while another wrote it would fail
    for serializable isolation, error 1023): the guard reads the lock table of the target table."""

    def plain_default(self, expression: str) -> bool:
        """Whether a DEFAULT read from the catalog is one the publisher copies (PLAIN_DEFAULT)."""
        return PLAIN_DEFAULT.match(expression.strip()) is not None

    def column_definitions(self, columns: tuple[ColumnDef, ...], kept: TableFacts) -> list[str]:
        """CREATE TABLE's lines: each column with the DEFAULT, encoding and NOT NULL kept from an
        old table (``kept``), then its key constraints."""
        lines = []
        for c in columns:
            facts = kept.column(c.name)
            line = f"  {self.quote(c.name)} {c.type}"
            if facts.default is not None:
                assert self.plain_default(facts.default), facts.default
                line += f" DEFAULT {facts.default}"
            line += self.column_encoding(facts)
            if facts.not_null:
                line += " NOT NULL"
            lines.append(line)
        return lines + [f"  {k.kind} ({', '.join(self.quote(c) for c in k.columns)})" for k in kept.keys]

    def column_encoding(self, facts: ColumnFacts) -> str:
        """A column's compression clause (Redshift's ENCODE); none by default."""
        return ""

    def create_namespace(self, name: str) -> str:
        return f"CREATE SCHEMA IF NOT EXISTS {self.quote(name)}"

    def lock(self, relation: Relation) -> tuple[Step, ...]:
        # LOCK holds until COMMIT/ROLLBACK: a concurrent apply waits here.
        return (sql(f"LOCK {self.table(relation)}", "one publisher per table: wait for concurrent applies into it"),)

    def table(self, relation: Relation) -> str:
        return f"{self.quote(relation.schema or 'public')}.{self.quote(relation.name)}"

    def rename(self, relation: Relation, new_name: str) -> str:
        return f"ALTER TABLE {self.table(relation)} RENAME TO {self.quote(new_name)}"

    def comment_on_table(self, relation: Relation, text: str) -> str:
        return f"COMMENT ON TABLE {self.table(relation)} IS {self.literal(text)}"

    def comment_on_column(self, relation: Relation, column: str, text: str) -> str:
        return f"COMMENT ON COLUMN {self.table(relation)}.{self.quote(column)} IS {self.literal(text)}"

    def referencing_keys(self, relation: Relation) -> str:
        return (
            "SELECT COUNT(*) FROM pg_catalog.pg_constraint k\n"
            "JOIN pg_catalog.pg_class c ON k.confrelid = c.oid\n"
            "JOIN pg_catalog.pg_namespace n ON c.relnamespace = n.oid\n"
            f"WHERE n.nspname = {self.literal(relation.schema or 'public')} AND c.relname = "
            f"{self.literal(relation.name)} AND k.contype = 'f' AND k.conrelid <> k.confrelid"
        )

    def bound_views(self, relation: Relation) -> str:
        # A view's rewrite rule depends on the tables it reads (Redshift's late-binding views record none).
        return (
            "SELECT COUNT(DISTINCT r.ev_class) FROM pg_catalog.pg_depend d\n"
            "JOIN pg_catalog.pg_rewrite r ON d.objid = r.oid\n"
            "JOIN pg_catalog.pg_class c ON d.refobjid = c.oid\n"
            "JOIN pg_catalog.pg_namespace n ON c.relnamespace = n.oid\n"
            f"WHERE n.nspname = {self.literal(relation.schema or 'public')} AND c.relname = "
            f"{self.literal(relation.name)} AND r.ev_class <> c.oid"
        )

    grantee_keywords: ClassVar[dict[str, str]] = {"user": "", "group": "GROUP ", "role": "ROLE ", "public": "PUBLIC"}
    """How GRANT names each kind of grantee."""

    def grant(self, relation: Relation, grant: Grant) -> str:
        grantee = self.grantee_keywords[grant.kind]
        if grant.kind != "public":
            grantee += self.quote(grant.grantee)
        option = " WITH GRANT OPTION" if grant.grantable else ""
        return f"GRANT {', '.join(grant.privileges)} ON {self.table(relation)} TO {grantee}{option}"

    def set_owner(self, relation: Relation, owner: str) -> str:
        return f"ALTER TABLE {self.table(relation)} OWNER TO {self.quote(owner)}"

    def begin(self) -> tuple[Begin, ...]:
        rollback = sql("ROLLBACK", "roll back")
        return (Begin(("BEGIN",), "one transaction: all of it or none of it", undo=rollback),)

    def commit(self) -> tuple[Commit, ...]:
        return (Commit(("COMMIT",), "publish: readers see the new rows from here on"),)

    def add_columns(self, relation: Relation, columns: tuple[ColumnDef, ...]) -> tuple[str, ...]:
        # One column per ALTER TABLE (Redshift's rule); inside the transaction, rolled back with it.
        return tuple(f"ALTER TABLE {self.table(relation)} ADD COLUMN {self.quote(c.name)} {c.type}" for c in columns)

    def insert_select(
        self,
        into: Relation,
        columns: tuple[ColumnDef, ...],
        query: str,
        partition: tuple[tuple[str, str | None], ...] = (),
        *,
        overwrite: bool = False,
    ) -> str:
        assert not partition and not overwrite, f"{self.title} has no Hive partitions; rows are replaced by DELETE"
        return f"INSERT INTO {self.table(into)} ({', '.join(self.quote(c.name) for c in columns)})\n{query}"

    def temp_stage_name(self, table: str) -> str:
        """The session's temporary table a load stages in when the results' columns differ from
        the table's (reserved: the spec schema refuses a table of this name)."""
        return f"{table}__stage"

    load_checks_itself: ClassVar[bool] = False
    """The load step checks the rows it loaded on its own (PostgreSQL's CopyRows counts them as
    it streams), so a load into the temporary stage is checked too; where the check is a statement
    of its own (Redshift's pg_last_copy_count), the INSERT's count checks those rows instead."""

    def load_rows(self, into: str, source: LoadSource, spec: Spec, rows: int | None) -> tuple[Step, ...]:
        """The steps that load the results' rows into ``into`` (a rendered table name) with the
        columns the results name; ``rows``: the count to check, where known. The one step the
        family's engines do differently: COPY from S3 (Redshift), rows streamed in (PostgreSQL)."""
        raise NotImplementedError

    def stage_rows(self, stage: Relation, source: LoadSource, spec: Spec) -> tuple[Step, ...]:
        # A table of the transaction's own, never committed: dropped before COMMIT, or rolled back.
        return (
            sql(self.create_table(stage, source.columns), "a table shaped like the results, for this transaction"),
            *self.load_rows(self.table(stage), source, spec, None),
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
        assert not overwrite, f"{self.title} replaces rows with DELETE in the load's transaction"
        assert not partition, f"the spec schema refuses partitions on {self.title}"
        if source.columns == table_columns:
            return self.load_rows(self.table(into), source, spec, rows)
        # Column order or types differ from the table: load into a temporary table shaped like
        # the results (Parquet maps by position), then INSERT ... SELECT by name, cast where a
        # type widens.
        temp = self.quote(self.temp_stage_name(into.name))
        cols = ",\n".join(f"  {self.quote(c.name)} {c.type}" for c in source.columns)
        select = f"SELECT {self.select_list(source.columns, table_columns)}\nFROM {temp}"
        return (
            sql(f"CREATE TEMP TABLE {temp} (\n{cols}\n)", "a session-only table shaped like the results"),
            *self.load_rows(temp, source, spec, rows if self.load_checks_itself else None),
            sql(
                self.insert_select(into, table_columns, select),
                "copy the rows into the table, matched by name",
                changes=rows,
            ),
            sql(f"DROP TABLE {temp}", "drop the temporary table"),
        )
