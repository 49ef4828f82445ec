"""Pure planning: (spec, results, target state) -> Publication. No driver, no connection."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from publisher.dialects import Dialect, dialect_for
from publisher.dialects.base import ColumnDef, LoadSource
from publisher.errors import InvalidInput
from publisher.plan import Publication, Step
from publisher.relation import Relation
from publisher.results import Results
from publisher.spec import Spec
from publisher.targets.base import TableState
from publisher.vocabulary import EXISTING_TABLE_ACTIONS

STAMP_FORMAT = "%Y%m%d%H%M%S"
"""The UTC plan-time suffix of new tables: <table>_YYYYMMDDhhmmss."""


@dataclass(frozen=True)
class TargetView:
    """What live planning read from the target, read-only."""

    namespace_exists: bool
    table: TableState | None
    table_names: frozenset[str]


def names_for(name: str, stamp: str) -> tuple[str, ...]:
    """Every table name a publication into ``name`` may create: the timestamped table and
    the staging (__stage), replacement (__new) and set-aside (__old) tables."""
    return tuple(f"{name}{infix}_{stamp}" for infix in ("", "__stage", "__new", "__old"))


def stamp_for(name: str, now: datetime, taken: frozenset[str]) -> str:
    """The plan-time stamp, moved on by a second while a name it makes is taken, so a new
    table never collides with an existing table or one planned earlier in the same plan."""
    moment = now
    while any(n in taken for n in names_for(name, moment.strftime(STAMP_FORMAT))):
        moment += timedelta(seconds=1)
    return moment.strftime(STAMP_FORMAT)


def result_columns(dialect: Dialect, spec: Spec, results: Results) -> tuple[ColumnDef, ...]:
    """The results' columns in the target's types, with the spec's overrides applied."""
    columns = []
    for col in results.columns:
        name = col.name.lower()
        columns.append(ColumnDef(name, spec.column_types.get(name) or dialect.column_type(col.type, col.name)))
    unknown = set(spec.column_types) - {c.name for c in columns}
    if unknown:
        raise InvalidInput(
            f"columnTypes names columns the results do not have: {', '.join(sorted(unknown))} "
            f"(results: {', '.join(c.name for c in columns)})",
            spec.location,
        )
    return tuple(columns)


def table_columns(dialect: Dialect, spec: Spec, source: LoadSource, state: TableState) -> tuple[ColumnDef, ...]:
    """The table's columns, checked against the results; every difference in one error."""
    table = tuple(ColumnDef(c.name.lower(), dialect.normalize_type(c.type)) for c in state.columns)
    ours = {c.name: c for c in source.columns}
    theirs = {c.name: c for c in table}
    problems = []
    for col in table:
        if col.name not in ours:
            problems.append(f"missing column {col.name} {col.type} (in the table, not in the results)")
        elif not dialect.loads_into(ours[col.name].type, col.type):
            problems.append(f"column {col.name}: results {ours[col.name].type} do not fit table {col.type}")
    for col in source.columns:
        if col.name not in theirs:
            problems.append(f"extra column {col.name} {col.type} (in the results, not in the table)")
    if problems:
        raise InvalidInput(
            f"{spec.action}: table {spec.relation} does not match the results: {'; '.join(problems)}. "
            "dropAndLoad recreates the table from the results; createAndLoad publishes into a new table",
            spec.location,
        )
    return table


def plan_publication(
    spec: Spec, results: Results, view: TargetView | None, now: datetime, taken: frozenset[str] = frozenset()
) -> Publication:
    """The steps that publish ``results`` as ``spec`` asks; ``view`` None means offline."""
    dialect = dialect_for(spec.target_type)
    relation = spec.relation
    taken = taken | (view.table_names if view else frozenset())
    stamp = stamp_for(relation.name, now, taken)
    notes: list[str] = []

    if view is not None and not view.namespace_exists:
        where = "schema" if relation.schema else "database"
        raise InvalidInput(
            f"{where} {relation.schema or relation.database} does not exist on {spec.connection.label}", spec.location
        )
    if view is not None and spec.action in EXISTING_TABLE_ACTIONS and view.table is None:
        raise InvalidInput(
            f"{spec.action}: table {relation} does not exist on {spec.connection.label}; "
            "createAndLoad or dropAndLoad create it",
            spec.location,
        )
    if view is None:
        notes.append("planned offline: the target was not inspected")

    columns = result_columns(dialect, spec, results)
    steps: list[Step] = []
    cleanup: tuple[Step, ...] = ()
    written = relation

    def load_into(into: Relation, target_columns: tuple[ColumnDef, ...], *, overwrite: bool = False) -> None:
        steps.extend(dialect.insert(into, source, target_columns, spec, overwrite=overwrite))

    def check(into: Relation, *, plus: str | None = None) -> None:
        if results.rows is None:
            return
        what = "the rows before plus the results' rows" if plus else "exactly the results' rows"
        steps.append(Step(dialect.count(into), f"check the table holds {what}", expect_rows=results.rows, plus=plus))

    if spec.action == "create":
        written = relation.renamed(f"{relation.name}_{stamp}")
        steps.append(Step(dialect.create_table(written, columns), "create the new, empty table"))
        return _publication(spec, results, written, columns, steps, cleanup, notes, stamp)

    source = dialect.load_source(spec, results, relation.renamed(f"{relation.name}__stage_{stamp}"), stamp)
    steps.extend(source.steps)
    cleanup = source.cleanup
    if results.rows is None:
        notes.append(f"{spec.input_format} results carry no row count: rows are not checked after loading")

    if spec.action == "createAndLoad":
        written = relation.renamed(f"{relation.name}_{stamp}")
        steps.extend(dialect.begin())
        steps.append(
            Step(dialect.create_table(written, columns), "create the new table", undo=_undo_create(dialect, written))
        )
        load_into(written, columns)
        check(written)
        steps.extend(dialect.commit())

    elif spec.action in ("load", "truncateAndLoad"):
        if view is not None and view.table is not None:
            target_cols = table_columns(dialect, spec, source, view.table)
        else:
            target_cols = columns
            notes.append("offline: assumed the table exists with the results' columns")
        if spec.action == "load":
            steps.extend(dialect.begin())
            steps.append(Step(dialect.count(relation), "count the rows before", capture="before"))
            load_into(relation, target_cols)
            check(relation, plus="before")
            steps.extend(dialect.commit())
        elif dialect.transactional_ddl:
            steps.extend(dialect.begin())
            steps.append(
                Step(dialect.delete_all(relation), "remove the old rows (readers keep seeing them until COMMIT)")
            )
            load_into(relation, target_cols)
            check(relation)
            steps.extend(dialect.commit())
        else:
            load_into(relation, target_cols, overwrite=True)
            check(relation)

    elif spec.action == "dropAndLoad":
        new = relation.renamed(f"{relation.name}__new_{stamp}")
        exists = view is None or view.table is not None
        if view is None:
            notes.append("offline: assumed the table exists")
        steps.extend(dialect.begin())
        steps.append(
            Step(
                dialect.create_table(new, columns),
                "build the replacement beside the table",
                undo=_undo_create(dialect, new),
            )
        )
        load_into(new, columns)
        check(new)
        steps.extend(_swap(dialect, relation, new, stamp, exists))
        steps.extend(dialect.commit())

    return _publication(spec, results, written, columns, steps, cleanup, notes, stamp)


def _undo_create(dialect: Dialect, relation: Relation) -> str | None:
    # In a transaction, ROLLBACK undoes the CREATE; elsewhere drop what we made.
    return None if dialect.transactional_ddl else dialect.drop_table(relation, if_exists=True)


def _swap(dialect: Dialect, relation: Relation, new: Relation, stamp: str, exists: bool) -> list[Step]:
    """Put ``new`` in the place of ``relation``."""
    if dialect.transactional_ddl:
        return [
            Step(dialect.drop_table(relation, if_exists=True), "drop the old table (undone by ROLLBACK on failure)"),
            Step(dialect.rename(new, relation.name), "the replacement takes the table's name"),
        ]
    if not exists:
        return [Step(dialect.rename(new, relation.name), "the replacement takes the table's name")]
    old = relation.renamed(f"{relation.name}__old_{stamp}")
    return [
        Step(dialect.rename(relation, old.name), "move the old table aside", undo=dialect.rename(old, relation.name)),
        Step(
            dialect.rename(new, relation.name),
            "the replacement takes the table's name",
            undo=dialect.rename(relation, new.name),
        ),
        Step(dialect.drop_table(old), "drop the old table"),
    ]


def _publication(
    spec: Spec,
    results: Results,
    written: Relation,
    columns: tuple[ColumnDef, ...],
    steps: list[Step],
    cleanup: tuple[Step, ...],
    notes: list[str],
    stamp: str,
) -> Publication:
    return Publication(
        spec_file=spec.file,
        spec_line=spec.location.line,
        spec_hash=spec.content_hash,
        job_group=spec.job_group,
        flow_node_id=spec.flow_node_id,
        connection=spec.connection.name,
        connection_id=spec.connection.id,
        target_type=spec.target_type,
        action=spec.action,
        database=spec.relation.database,
        table=str(written.name if written.schema is None else f"{written.schema}.{written.name}"),
        source=results.location,
        input_format=spec.input_format,
        rows=results.rows if spec.action != "create" else 0,
        columns=tuple((c.name, c.type) for c in columns),
        steps=tuple(steps),
        cleanup=cleanup,
        notes=tuple(notes),
        stamp=stamp,
        fingerprint={
            "requested_table": str(
                spec.relation.name if spec.relation.schema is None else f"{spec.relation.schema}.{spec.relation.name}"
            )
        },
    )
