"""PostgreSQL SQL: the results' rows streamed into COPY FROM STDIN, transactional DDL, MERGE-free
upserts (DELETE ... USING and INSERT, in one transaction), enforced keys."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, ClassVar

from publisher.dialects import postgres_types as types
from publisher.dialects.base import ColumnDef, KeptIndexes, LoadSource
from publisher.dialects.postgres_family import PostgresFamily
from publisher.model.layout import NO_LAYOUT, Layout
from publisher.model.plan import CopyRows, Step, sql
from publisher.model.relation import Relation
from publisher.model.target import NO_FACTS, KeyConstraint, PostgresTable, TableFacts, TableState
from publisher.targets.postgres import POSTGRES

if TYPE_CHECKING:
    from publisher.inputs.spec import Spec
    from publisher.results import Results

TEXT_FORMATS = frozenset({"csv", "json"})
"""Formats whose values are text the spec's columnTypes may type (the inferred type is a guess from a sample)."""


@dataclass(frozen=True)
class StreamedSource(LoadSource):
    """The results as the publisher streams them: where they are, in which format, which files."""

    input_format: str = "pqt"
    files: tuple[str, ...] = ()


class Postgres(PostgresFamily):
    name = POSTGRES.name
    title = POSTGRES.title
    integer_digits = types.INTEGERS
    column_name_limit = (63, "bytes")
    """NAMEDATALEN - 1: a longer name is truncated without an error (PostgreSQL docs, "Identifiers")."""
    load_checks_itself = True
    keys_enforced = True
    """PRIMARY KEY and UNIQUE are enforced (unlike Redshift's, which are informational)."""
    ledger_types: ClassVar[dict[str, str]] = {"int": "BIGINT", "text": "TEXT", "timestamp": "TIMESTAMP"}
    grantee_keywords: ClassVar[dict[str, str]] = {"user": "", "group": "", "role": "", "public": "PUBLIC"}
    """Users and groups are roles: GRANT names a role without a keyword (GROUP is a noise word)."""

    def column_type(self, arrow_type: Any, column: str) -> str:
        return types.postgres_type(arrow_type, column=column)

    def normalize_type(self, reported: str) -> str:
        return types.normalize_postgres_type(reported)

    def loads_into(self, result_type: str, table_type: str) -> bool:
        return types.postgres_loads_into(result_type, table_type)

    def not_carried_over(self, table: TableState) -> tuple[str, ...]:
        own = table.of(PostgresTable)
        notes = []
        if own.partitioned:
            notes.append(
                "the old table is partitioned (PARTITION BY): the new one is a plain table, and the old "
                "partitions go with the old table; truncateAndLoad keeps the partitioning"
            )
        if own.triggers:
            notes.append(f"dropped with the old table, not re-created: its triggers {', '.join(own.triggers)}")
        return tuple(notes)

    def kept_indexes(
        self,
        table: TableState,
        new: Relation,
        old: Relation,
        columns: tuple[ColumnDef, ...],
        keys: tuple[KeyConstraint, ...] = (),
    ) -> KeptIndexes:
        was = {c.name: self.normalize_type(c.type) for c in table.columns}
        will = {c.name: self.normalize_type(c.type) for c in columns}
        build: list[Step] = []
        trade: list[tuple[str, str]] = []  # (name, suffix of its working names) to trade in the swap
        kept, dropped = [], []
        for number, index in enumerate(table.of(PostgresTable).indexes, start=1):
            # Re-created only where it means what it meant: every column it reads is in the
            # replacement with the type it had (an expression or operator class may not fit another).
            changed = [c for c in index.columns if c not in will or will[c] != was.get(c)]
            if changed:
                dropped.append(f"{index.definition} (the results change or lack its columns {', '.join(changed)})")
                continue
            if index.using is None:
                dropped.append(f"{index.definition} (a partitioned table's index)")
                continue
            # The old table keeps its index's name until the swap: the new index is built under
            # a name of its own, and the two trade names inside the swap's transaction.
            building = _working_name(new.name, f"i{number}")
            unique = "UNIQUE " if index.unique else ""
            create = f"CREATE {unique}INDEX {self.quote(building)} ON {self.table(new)} USING {index.using}"
            build.append(sql(create, f"re-create the old table's index {index.name} on the replacement"))
            trade.append((index.name, f"i{number}"))
            kept.append(self.quote(index.name))
        # Keys kept by CREATE TABLE (named there for the new table): renaming a constraint's index
        # renames the constraint (PostgreSQL, ALTER INDEX), so they trade names the same way.
        trade += [(key.name, f"k{number}") for number, key in enumerate(keys, start=1) if key.name]
        rename: list[Step] = []
        for name, suffix in trade:
            aside = self.rename_index(old.renamed(name), _working_name(old.name, suffix))
            rename.append(sql(aside, f"move the old table's {name} aside"))
            take = self.rename_index(new.renamed(_working_name(new.name, suffix)), name)
            rename.append(sql(take, f"the new table's {name} takes its name"))
        notes = []
        if kept:
            notes.append(f"re-created on the new table, as the old one defines them: its indexes {', '.join(kept)}")
        if dropped:
            notes.append("dropped with the old table, not re-created: " + "; ".join(dropped))
        return KeptIndexes(tuple(build), tuple(rename), tuple(notes))

    def rename_index(self, index: Relation, new_name: str) -> str:
        return f"ALTER INDEX {self.table(index)} RENAME TO {self.quote(new_name)}"

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
        assert not partitioned_by, "the spec schema refuses partitions on PostgreSQL"
        assert not layout, "the spec schema refuses distribution and sort keys on PostgreSQL"
        assert comment is None, "COMMENT ON follows CREATE TABLE"
        # A key kept from an old table is named for the new one (its old name is still taken):
        # kept_indexes gives it the old name in the swap.
        lines = self.column_definitions(columns, replace(kept, keys=()))
        for number, key in enumerate(kept.keys, start=1):
            named = f"CONSTRAINT {self.quote(_working_name(relation.name, f'k{number}'))} " if key.name else ""
            lines.append(f"  {named}{key.kind} ({', '.join(self.quote(c) for c in key.columns)})")
        return f"CREATE TABLE {self.table(relation)} (\n" + ",\n".join(lines) + "\n)"

    def load_source(self, spec: Spec, results: Results, staging: Relation, stamp: str) -> LoadSource:
        # Nothing to prepare: the publisher reads the files where they are when the COPY runs.
        columns = tuple(ColumnDef(self.fold(c.name), self._source_type(spec, c.name, c.type)) for c in results.columns)
        files = tuple(f.uri for f in results.files)
        return StreamedSource((), results.location, (), columns, input_format=results.format, files=files)

    def _source_type(self, spec: Spec, name: str, arrow_type: Any) -> str:
        """The type a result column is written as. CSV and JSON values are text: there the spec's
        columnTypes apply (the inferred type is a guess from a sample). Parquet and Avro columns
        have the types their files say."""
        override = spec.column_types.get(self.fold(name)) if spec.input_format in TEXT_FORMATS else None
        return self.normalize_type(override) if override else self.column_type(arrow_type, name)

    def load_rows(self, into: str, source: LoadSource, spec: Spec, rows: int | None) -> tuple[Step, ...]:
        """COPY the results' rows into ``into`` (a rendered table name), columns as the results name
        them; CopyRows checks COPY's own count against ``rows``."""
        assert isinstance(source, StreamedSource), "PostgreSQL loads what its load_source describes"
        copy = CopyRows(
            into,
            tuple(self.quote(c.name) for c in source.columns),
            tuple(c.type for c in source.columns),
            source.reference,
            source.input_format,
            source.files,
            rows,
            "stream the results' rows in (COPY FROM STDIN, read in bounded batches)",
        )
        return (copy,)


def _working_name(table: str, suffix: str) -> str:
    """An index or key of a working table (<table>__new_<stamp>, <table>__old_<stamp>), ``suffix``
    its kind and number (i1, k1): within PostgreSQL's 63 bytes (a longer name would be cut without
    an error, and could then collide), else a digest of it."""
    name = f"{table}_{suffix}"
    if len(name.encode()) <= 63:
        return name
    return f"{suffix}_{hashlib.sha256(name.encode()).hexdigest()[:40]}"
