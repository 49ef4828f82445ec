"""What a strategy plans from, and the steps it returns."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import assert_never

from publisher.dialects.base import ColumnDef, Dialect, LoadSource, count_check
from publisher.inputs.spec import Spec
from publisher.model.errors import InvalidInput
from publisher.model.layout import Layout
from publisher.model.location import Location
from publisher.model.plan import RowCheck, Statement, Step, sql
from publisher.model.relation import Relation
from publisher.model.target import NO_FACTS, TableFacts, TableState
from publisher.planning.partitions import Partitioning
from publisher.planning.view import TargetView
from publisher.results import Results


@dataclass(frozen=True)
class Body:
    """A publication's own steps, in the order they run; the ledger's go around them."""

    prepare: tuple[Step, ...] = ()  # before any change and any transaction
    recover: tuple[Step, ...] = ()  # undo what an interrupted publish left
    before: tuple[Step, ...] = ()  # counts taken before the change
    change: tuple[Step, ...] = ()  # the change itself, with its checks
    tidy: tuple[Step, ...] = ()  # drop staging objects: last step on success, and after a failure
    after: tuple[Step, ...] = ()  # after the publication's COMMIT, in a transaction of their own
    retire: tuple[Step, ...] = ()  # retention: older tables retired after the COMMIT (planning/retention.py)
    written: Relation | None = None  # the table written, where it is not the spec's
    rows_before: str | None = None  # the captured count the ledger records as rows before
    location_before: Location | None = None  # Hive location swap: the table's folder before it
    notes: tuple[str, ...] = ()


def check_layout(ctx: Context, layout: Layout) -> None:
    """The distribution and sort key columns are among the results' columns."""
    names = [c.name for c in ctx.columns]
    missing = [k for k in (layout.dist_key, *layout.sort_keys) if k is not None and k not in names]
    if missing:
        raise InvalidInput(
            f"distKey/sortKeys name columns the results do not have: {', '.join(missing)} "
            f"(results: {', '.join(names)})",
            ctx.spec.location,
        )


@dataclass(frozen=True)
class Context:
    """One spec's planning inputs. ``view`` is None when planning offline."""

    spec: Spec
    results: Results
    view: TargetView | None
    dialect: Dialect
    stamp: str
    columns: tuple[ColumnDef, ...]  # the results' columns in the target's types
    partitioning: Partitioning = Partitioning()  # of the table written (Hive)
    into: TableState | None = None  # the existing table the rows go into, where the action writes into it

    @property
    def relation(self) -> Relation:
        return self.spec.relation

    def made(self, infix: str) -> Relation:
        """A table this publication makes beside the target: ``__stage``, ``__new``, ``__old`` or ``""``."""
        return self.relation.renamed(f"{self.relation.name}{infix}_{self.stamp}")

    def source(self) -> LoadSource:
        """How the engine reads the results in place (staging table or manifest), with the
        checks, before any change, of values the table would store otherwise than sent."""
        stage = self.made("__stage")
        source = self.dialect.load_source(self.spec, self.results, stage, self.stamp)
        checks = self.dialect.value_checks(stage, source, self.partitioning.dynamic, self.into)
        return replace(source, steps=source.steps + checks) if checks else source

    def check(self, into: Relation, *, plus: str | None = None) -> tuple[RowCheck, ...]:
        """The rows (and values) ``into`` must hold after the load; nothing where unknown.

        Values are counted where the table holds nothing but the new rows (``plus`` None),
        also where they were counted in staging: what the table holds after the insert is what
        readers get (Hive stores a partition value '' as NULL). Counting a column's values of a
        whole table that is appended to would cost a scan of all of it."""
        values = plus is None
        what = "the rows before plus the results' rows" if plus else "exactly the results' rows"
        if values:
            what += " and values"
        found = count_check(self.dialect, into, self.results, f"check the table holds {what}", plus=plus, values=values)
        return () if found is None else (found,)

    def undo_create(self, relation: Relation) -> Statement | None:
        match self.dialect.replace_via:
            case "transaction":
                return None  # ROLLBACK undoes the CREATE
            case "location_swap":
                return sql(self.dialect.drop_table(relation, if_exists=True), "drop it")
            case unknown:
                assert_never(unknown)

    def create(
        self, relation: Relation, purpose: str, layout: Layout | None = None, kept: TableFacts = NO_FACTS
    ) -> Statement:
        """CREATE TABLE with the results' columns, partitioned as planned, ``layout`` (by
        default the spec's), and what ``kept`` keeps of an old table's columns and keys."""
        layout = self.spec.layout if layout is None else layout
        check_layout(self, layout)
        partitioned_by = tuple(ColumnDef(c.name, c.type) for c in self.partitioning.columns)
        comment = self.description() if self.dialect.comment_in_create else None
        statement = self.dialect.create_table(
            relation, self.columns, partitioned_by=partitioned_by, layout=layout, kept=kept, comment=comment
        )
        return sql(statement, purpose, undo=self.undo_create(relation))

    def description(self) -> str | None:
        """The spec's description, the comment of the tables it creates; refused here where
        the engine would not keep it as written."""
        text = self.spec.description or None
        why = self.dialect.unwritable_text(text) if text is not None else None
        if why is not None:
            raise InvalidInput(
                f"{self.spec.action}: description {why}: it would not reach {self.relation}'s comment as written; "
                "write it without",
                self.spec.location,
            )
        return text

    def described(self, relation: Relation) -> tuple[Step, ...]:
        """COMMENT ON ``relation`` the spec's description, where CREATE TABLE did not set it."""
        text = self.description()
        if text is None or self.dialect.comment_in_create:
            return ()
        return (sql(self.dialect.comment_on_table(relation, text), "the table's comment: the spec's description"),)

    def table_columns(self, columns: tuple[ColumnDef, ...]) -> tuple[ColumnDef, ...]:
        """A table's columns as an insert lists them: static partition columns left out (the
        PARTITION clause gives their value), dynamic ones last in partition order."""
        names = self.partitioning.names
        by_name = {c.name: c for c in columns}
        data = tuple(c for c in columns if c.name not in names)
        return data + tuple(by_name[n] for n in self.partitioning.dynamic if n in by_name)

    def insert(
        self, into: Relation, source: LoadSource, columns: tuple[ColumnDef, ...], *, counted: bool = False
    ) -> tuple[Step, ...]:
        """The results' rows into ``into`` (whose columns are ``columns``), into their partitions;
        ``counted``: checked by the engine's own count of the rows it added."""
        partition = tuple((c.name, c.value) for c in self.partitioning.columns)
        rows = self.results.rows if counted else None
        return self.dialect.insert(into, source, self.table_columns(columns), self.spec, partition=partition, rows=rows)

    def unchecked_notes(self, *, values: bool = True, in_table: bool = True) -> tuple[str, ...]:
        """What the checks after loading cannot see, said in the plan; ``values`` False: the
        action counts no column's values at all (the strategy knows why); ``in_table`` False:
        they are counted in the staged results only, not again in the table, which holds other rows too."""
        if self.results.rows is None:
            return (f"{self.spec.input_format} results carry no row count: rows are not checked after loading",)
        if not values:
            return ("non-NULL values are not checked: the table holds other rows too; rows are checked",)
        notes: tuple[str, ...] = ()
        if not in_table and any(c.null_count is not None for c in self.results.columns):
            notes = (
                "non-NULL values are counted in the staged results, not again in the table after the insert (it "
                "holds other rows too); rows are checked",
            )
        unknown = [self.dialect.fold(c.name) for c in self.results.columns if c.null_count is None]
        if not unknown:
            return notes
        why = "nullable Avro fields" if self.spec.input_format == "avro" else "no statistics in the files"
        return (*notes, f"non-NULL values not checked for {', '.join(unknown)} ({why}); rows are checked")
