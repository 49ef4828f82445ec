"""What every action's strategy provides: what it reads, plans, recovers and leaves behind."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import ClassVar, Literal, assert_never

from publisher.dialects.base import ColumnDef
from publisher.inputs.spec import Spec
from publisher.model.errors import InvalidInput
from publisher.model.plan import Step, sql
from publisher.model.target import CatalogTable, ColumnState, TableState
from publisher.model.vocabulary import Action
from publisher.planning import ledger
from publisher.planning.context import Body, Context
from publisher.planning.view import new_location

Read = Literal["row_count", "namespace_location", "locations", "partitions"]
"""Facts beyond tables, columns and the ledger that a strategy needs read from the target:
the table's row count and the locations of the interrupted publish's tables (to recover
one), the database's location (where Hive puts a new table's files), and a partitioned
table's partitions (to list those a publication replaces, adds, drops and keeps)."""

Outcome = Literal["complete", "restored"] | None
"""After recovery: the interrupted publish had in fact finished ("complete"), or the table
was put back as it was ("restored"), or nothing to say (None)."""


@dataclass(frozen=True)
class Recovery:
    steps: tuple[Step, ...] = ()
    outcome: Outcome = None
    note: str = ""  # what the interruption left, for the plan to say


class Strategy:
    """One action. Subclasses override what differs; a new action is a new module."""

    action: ClassVar[Action]
    needs_table: ClassVar[bool] = False
    """The table must exist already (else a plan-time error naming the actions that make it)."""
    writes_into_table: ClassVar[bool] = False
    """Writes rows into the existing table itself (rather than beside it, or a new one)."""
    appends: ClassVar[bool] = False
    """Only adds rows to the existing table (INSERT INTO): nothing of it is replaced."""
    replaces_table: ClassVar[bool] = False
    """The results are the existing table's rows afterwards, whatever rows it held."""
    replaces_definition: ClassVar[bool] = False
    """Afterwards the table has the results' columns, whatever it had before."""
    reads: ClassVar[frozenset[Read]] = frozenset({"namespace_location"})
    """Every action reads where the database keeps its tables (Hive): a folder the engine
    cannot read as written is refused before anything is made there."""
    loads_rows: ClassVar[bool] = True
    """Loads the results' rows: how their files are laid out matters (the plan's warnings)."""
    makes_timestamped_table: ClassVar[bool] = False
    """Makes a new table named <table>_<stamp> (never replaces an existing table)."""
    spec_keys: ClassVar[frozenset[str]] = frozenset()
    """The spec keys that only some actions take (the spec schema's ``x-actions``) this one takes;
    the others it refuses at validate (``inputs/spec.py``). tests/test_action_keys.py keeps the two equal."""

    def plan(self, ctx: Context, *, restored: bool) -> Body:
        """The steps of the action; ``restored``: recovery puts the table back first."""
        raise NotImplementedError

    def recover(self, ctx: Context, interrupted: ledger.Entry) -> Recovery:
        """Steps that finish or undo an interrupted publish of this action (beyond dropping
        its staging table, which the planner does for every action)."""
        return Recovery()

    def leftovers(self, ctx: Context) -> tuple[Step, ...]:
        """Steps that finish what a published publication's apply left undone after its
        COMMIT (they run after the next COMMIT, or on their own if nothing is to publish)."""
        return ()

    def after(self, ctx: Context, body: Body) -> TableState | None:
        """The table as later publications of the same plan will find it; None: unchanged."""
        if not self.replaces_definition:
            return None
        partitioned = ctx.partitioning.columns
        names = {c.name for c in partitioned}
        columns = tuple(ColumnState(c.name, c.type.lower()) for c in ctx.columns if c.name not in names)
        columns += tuple(ColumnState(c.name, c.type.lower()) for c in partitioned)  # Hive lists them last
        location = None
        if ctx.view is not None and ctx.view.namespace_location:
            location = new_location(ctx.view.namespace_location, ctx.relation)
        storage = "parquet" if location else None
        own = ctx.dialect.made_table() if location else None
        return TableState(columns, storage, location, partition_columns=ctx.partitioning.names, own=own)


def with_added_columns(ctx: Context, state: TableState | None) -> TableState | None:
    """``state`` (None: the table as read) with the columns onSchemaChange: addColumns adds,
    as later publications of the same plan find it: they must not add them again."""
    table = state or (ctx.view.table if ctx.view else None)
    if table is None or ctx.spec.on_schema_change != "addColumns":
        return state
    added = table_columns(ctx, ctx.source().columns).added
    if not added:
        return state
    return replace(table, columns=table.columns + tuple(ColumnState(c.name, c.type.lower()) for c in added))


def missing_table(spec: Spec) -> InvalidInput:
    return InvalidInput(
        f"{spec.action}: table {spec.relation} does not exist on {spec.connection.label}; "
        "createAndLoad or dropAndLoad create it",
        spec.location,
    )


@dataclass(frozen=True)
class Fit:
    """How the results go into an existing table: ``columns``, the table's columns in its order
    (then those added); ``added``, result columns the table lacks, added before the rows move
    (onSchemaChange: addColumns); ``absent``, table columns the results lack, which the insert
    leaves out so that each new row gets the column's DEFAULT (NULL where it has none)."""

    columns: tuple[ColumnDef, ...]
    added: tuple[ColumnDef, ...] = ()
    absent: tuple[str, ...] = ()
    defaults: tuple[str, ...] = ()  # of the absent columns, as the plan shows them: "a DEFAULT 0"

    @property
    def inserted(self) -> tuple[ColumnDef, ...]:
        """The columns an insert of the results' rows names: all but the absent ones."""
        return tuple(c for c in self.columns if c.name not in self.absent)

    def steps(self, ctx: Context) -> tuple[Step, ...]:
        """ALTER TABLE ... ADD COLUMN(S), before any row moves."""
        return tuple(
            sql(text, "add the results' new columns to the table (onSchemaChange: addColumns)")
            for text in ctx.dialect.add_columns(ctx.relation, self.added)
        )

    def notes(self, ctx: Context) -> tuple[str, ...]:
        notes = []
        if self.added:
            shown = ", ".join(f"{c.name} {c.type}" for c in self.added)
            match ctx.dialect.replace_via:
                case "transaction":
                    kept = ""  # rolled back with the rest
                case "location_swap":
                    kept = " (they stay if the publication then fails)"
                case unknown:
                    assert_never(unknown)
            notes.append(f"columns added to the table: {shown}; its other rows read NULL there{kept}")
        if self.absent:
            listed = ", ".join(self.defaults or self.absent)
            notes.append(
                f"columns the results lack, left out of the insert (new rows get their DEFAULT, else NULL): {listed}"
            )
        return tuple(notes)


def table_columns(ctx: Context, source_columns: tuple[ColumnDef, ...]) -> Fit:
    """The existing table's columns, checked against the results; every difference in one error.
    With onSchemaChange: addColumns, result columns the table lacks are added, and table columns
    the results lack are left to their DEFAULT (else NULL) in the new rows; a NOT NULL one without
    a DEFAULT is refused (where the target's column facts are read). Offline, the results' columns (the plan says it
    assumed so)."""
    dialect, spec = ctx.dialect, ctx.spec
    if ctx.view is None or ctx.view.table is None:
        return Fit(ctx.columns)
    table = tuple(ColumnDef(dialect.fold(c.name), dialect.normalize_type(c.type)) for c in ctx.view.table.columns)
    evolve = spec.on_schema_change == "addColumns"
    ours = {c.name: c for c in source_columns}
    theirs = {c.name: c for c in table}
    problems, absent = [], []
    static = ctx.partitioning.static
    for col in table:
        if col.name in static:
            continue  # its value is the spec's
        if col.name not in ours:
            if evolve and col.name not in ctx.partitioning.names:
                absent.append(col.name)
            else:
                problems.append(f"missing column {col.name} {col.type} (in the table, not in the results)")
        elif not dialect.loads_into(ours[col.name].type, col.type):
            problems.append(f"column {col.name}: results {ours[col.name].type} do not fit table {col.type}")
    for result_column in ctx.results.columns:
        lost = dialect.storage_loses(ctx.view.table.storage, result_column.name, result_column.type)
        if lost and dialect.fold(result_column.name) in theirs:
            problems.append(lost)
    added = tuple(c for c in ctx.columns if c.name not in theirs)
    facts = ctx.view.table.of(CatalogTable).facts
    defaults: list[str] = []
    required: list[str] = []
    for name in absent:
        held = facts.column(name) if facts is not None else None
        if held is None:
            continue
        if held.identity is not None:
            seed, _, step = held.identity.partition(",")
            defaults.append(f"{name} IDENTITY({seed}, {step})")
        elif held.default is not None:
            defaults.append(f"{name} DEFAULT {held.default}")
        elif held.not_null:
            required.append(f"{name} {theirs[name].type}")
        else:
            defaults.append(name)
    if added and not evolve:
        problems += [f"extra column {c.name} {c.type} (in the results, not in the table)" for c in added]
    if problems:
        evolution = (
            ""
            if evolve
            else "; onSchemaChange: addColumns adds new columns and leaves missing ones to their DEFAULT (else NULL)"
        )
        raise InvalidInput(
            f"{spec.action}: table {spec.relation} does not match the results: {'; '.join(problems)}. "
            f"dropAndLoad recreates the table from the results; createAndLoad publishes into a new table{evolution}",
            spec.location,
        )
    if added and ctx.partitioning:
        raise InvalidInput(
            f"{spec.action}: onSchemaChange: addColumns on partitioned table {spec.relation} is not supported "
            f"(new columns: {', '.join(c.name for c in added)}); dropAndLoad recreates the table from the results",
            spec.location,
        )
    if required:
        # Every new row would be refused at apply (NULL into a NOT NULL column): known now.
        raise InvalidInput(
            f"{spec.action}: table {spec.relation} has NOT NULL columns without a DEFAULT that the results lack: "
            f"{', '.join(required)} (every new row would be refused); publish results that carry them, or "
            "dropAndLoad recreates the table from the results",
            spec.location,
        )
    return Fit(table + added, added, tuple(absent), tuple(defaults))
