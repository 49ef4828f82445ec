"""Pure planning: (spec, results, target state) -> Publication. No driver, no connection."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from publisher import ledger
from publisher.dialects import Dialect, dialect_for
from publisher.dialects.base import ColumnDef, LoadSource
from publisher.errors import InvalidInput
from publisher.names import check_column_lengths
from publisher.plan import Publication, Step
from publisher.relation import Relation
from publisher.results import Results
from publisher.spec import Spec
from publisher.targets.base import TableState
from publisher.vocabulary import EXISTING_TABLE_ACTIONS

IDENTIFIER = re.compile(r"^[A-Za-z0-9_]{1,100}$")
STAMP_FORMAT = "%Y%m%d%H%M%S"
"""The UTC plan-time suffix of new tables: <table>_YYYYMMDDhhmmss."""


@dataclass(frozen=True)
class TargetView:
    """What live planning read from the target, read-only."""

    namespace_exists: bool
    table: TableState | None
    table_names: frozenset[str]
    ledger_exists: bool = False
    entries: tuple[ledger.Entry, ...] = ()  # this publication's ledger rows, oldest first
    row_count: int | None = None  # the table's rows, read only to recover an interrupted load
    namespace_location: str | None = None  # Hive: where the database's managed tables go
    locations: dict[str, str] = field(default_factory=dict)  # Hive: table name -> location, to recover


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
    check_column_lengths(spec.target_type, (c.name.lower() for c in results.columns), results.files[0].uri)
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
    spec: Spec,
    results: Results,
    view: TargetView | None,
    now: datetime,
    taken: frozenset[str] = frozenset(),
    *,
    force: bool = False,
) -> Publication:
    """The steps that publish ``results`` as ``spec`` asks; ``view`` None means offline."""
    dialect = dialect_for(spec.target_type)
    relation = spec.relation
    if view is not None:
        # A location swap leaves the table in a folder named after its twin: that name is taken too.
        folder = view.table.location.rstrip("/").rsplit("/", 1)[-1] if view.table and view.table.location else ""
        taken = taken | view.table_names | {folder}
    stamp = stamp_for(relation.name, now, taken)
    columns = result_columns(dialect, spec, results)
    notes: list[str] = []

    if view is None:
        notes.append("planned offline: the target and its ledger were not inspected")
    else:
        status, detail = _status(spec, view)
        if status != "pending" and not force:
            return _publication(spec, results, relation, columns, Body(), notes, stamp, status, detail, view)
        if status != "pending":
            notes.append(f"--force: publishing again ({status}: {detail})")
        _check_target(spec, view)

    body = Body(forced=force)
    recovery = _recover(dialect, spec, view, body) if view is not None else None
    if recovery == "complete":
        detail = "completing an interrupted publish"
        return _publication(spec, results, relation, columns, body, notes, stamp, "pending", detail, view)
    _action_steps(dialect, spec, results, view, columns, stamp, body, notes, exists_override=recovery == "restored")
    return _publication(spec, results, body.written or relation, columns, body, notes, stamp, "pending", "", view)


@dataclass
class Body:
    """A publication's steps as they are assembled, in the order they run."""

    prepare: list[Step] = field(default_factory=list)  # before any change and any transaction
    recover: list[Step] = field(default_factory=list)  # undo what an interrupted publish left
    before: list[Step] = field(default_factory=list)  # counts taken before the change
    change: list[Step] = field(default_factory=list)  # the change itself, with its checks
    tidy: tuple[Step, ...] = ()  # drop staging objects: last step on success, and after a failure
    written: Relation | None = None
    rows_before: str | None = None
    location_before: str | None = None  # Hive location swap: the table's folder before it
    forced: bool = False  # --force: publish again, so no guard against an earlier publish


def _status(spec: Spec, view: TargetView) -> tuple[str, str]:
    """pending, published or changed, from the newest 'done' row of this publication."""
    done = [e for e in view.entries if e.state == "done"]
    if not done:
        return "pending", ""
    last = done[-1]
    where = f"into {last.published_table}, {_rows(last.row_count)}, at {str(last.published_at)[:19]} UTC"
    if last.spec_hash == spec.content_hash:
        return "published", where
    what = "; ".join(ledger.changes(last.spec, spec.canonical)) or "spec text"
    return "changed", f"published {where} from a different version of the spec ({what}); --force publishes it again"


def _rows(n: int | None) -> str:
    return "unknown rows" if n is None else f"{n:,} rows"


def _check_target(spec: Spec, view: TargetView) -> None:
    relation = spec.relation
    if not view.namespace_exists:
        where = "schema" if relation.schema else "database"
        raise InvalidInput(
            f"{where} {relation.schema or relation.database} does not exist on {spec.connection.label}", spec.location
        )
    if spec.action in EXISTING_TABLE_ACTIONS and view.table is None:
        raise InvalidInput(
            f"{spec.action}: table {relation} does not exist on {spec.connection.label}; "
            "createAndLoad or dropAndLoad create it",
            spec.location,
        )


def _recover(dialect: Dialect, spec: Spec, view: TargetView, body: Body) -> str | None:
    """Steps that tidy up after an interrupted publish (a 'pending' row with no 'done' after
    it; only targets without transactions write those). Returns "complete" when the
    interrupted publish had in fact finished its change, "restored" when the table was put back."""
    entries = list(view.entries)
    last_done = max((i for i, e in enumerate(entries) if e.state == "done"), default=-1)
    pending = [e for e in entries[last_done + 1 :] if e.state == "pending" and IDENTIFIER.match(e.stamp or "")]
    if not pending:
        return None
    interrupted = pending[-1]
    relation, names = spec.relation, view.table_names
    old_stamp = interrupted.stamp
    made = dict(zip(("table", "stage", "new", "old"), names_for(relation.name, old_stamp), strict=True))
    outcome = None

    def drop(name: str, why: str) -> None:
        if name in names:
            body.recover.append(Step(dialect.drop_table(relation.renamed(name), if_exists=True), why))

    drop(made["stage"], "drop the staging table of the interrupted publish")
    if spec.action in ("create", "createAndLoad"):
        drop(made["table"], "drop the table of the interrupted publish (never recorded as done)")
    elif spec.action == "load":
        before, now, rows = interrupted.rows_before, view.row_count, interrupted.row_count
        if before is not None and rows is not None and now == before + rows:
            outcome = "complete"
        elif before is not None and now != before:
            raise InvalidInput(
                f"load into {relation} was interrupted, and the table now has {now} rows: neither the {before} "
                f"it had before nor {before} + {rows}. Check the table, then publish with --force",
                spec.location,
            )
    elif spec.action == "truncateAndLoad" and made["new"] in names:
        twin = relation.renamed(made["new"])
        twin_at = view.locations.get(made["new"])
        table_at = view.table.location if view.table else None
        if twin_at and twin_at == table_at:
            # Killed between the two SET LOCATIONs: both point at the new rows. Dropping
            # the twin as it is would delete them: give it the old rows first, as the
            # interrupted publish was about to.
            if not interrupted.location_before:
                raise InvalidInput(
                    f"truncateAndLoad into {relation} was interrupted mid-swap and the ledger lacks the table's "
                    f"old location: point {twin.name} at the old folder, drop it, then publish with --force",
                    spec.location,
                )
            body.recover.append(
                Step(dialect.set_location(twin, interrupted.location_before), "give the old rows to the twin")
            )
            outcome = "complete"
        elif view.namespace_location and twin_at != new_location(view.namespace_location, twin):
            outcome = "complete"  # both moves happened: the twin holds the old rows
        body.recover.append(Step(dialect.drop_table(twin), "drop the twin of the interrupted publish"))
    elif spec.action == "dropAndLoad":
        if view.table is None and made["old"] in names:
            body.recover.append(
                Step(dialect.rename(relation.renamed(made["old"]), relation.name), "put the old table back")
            )
            outcome = "restored"
        elif view.table is not None and made["old"] in names:
            body.recover.append(Step(dialect.drop_table(relation.renamed(made["old"])), "drop the old table"))
            outcome = "complete"
        drop(made["new"], "drop the unfinished replacement of the interrupted publish")
    if outcome == "complete":
        body.written = relation
    return outcome


def _action_steps(
    dialect: Dialect,
    spec: Spec,
    results: Results,
    view: TargetView | None,
    columns: tuple[ColumnDef, ...],
    stamp: str,
    body: Body,
    notes: list[str],
    *,
    exists_override: bool,
) -> None:
    relation = spec.relation

    def create_timestamped(purpose: str) -> Relation:
        body.written = relation.renamed(f"{relation.name}_{stamp}")
        undo = _undo_create(dialect, body.written)
        body.change.append(Step(dialect.create_table(body.written, columns), purpose, undo=undo))
        return body.written

    if spec.action == "create":
        create_timestamped("create the new, empty table")
        return

    source = dialect.load_source(spec, results, relation.renamed(f"{relation.name}__stage_{stamp}"), stamp)
    body.prepare.extend(source.steps)
    body.tidy = source.tidy
    if results.rows is None:
        notes.append(f"{spec.input_format} results carry no row count: rows are not checked after loading")

    def load_into(into: Relation, target_columns: tuple[ColumnDef, ...], *, overwrite: bool = False) -> None:
        body.change.extend(dialect.insert(into, source, target_columns, spec, overwrite=overwrite))

    def check(into: Relation, *, plus: str | None = None) -> None:
        if results.rows is None:
            return
        what = "the rows before plus the results' rows" if plus else "exactly the results' rows"
        body.change.append(
            Step(dialect.count(into), f"check the table holds {what}", expect_rows=results.rows, plus=plus)
        )

    if spec.action == "createAndLoad":
        made = create_timestamped("create the new table")
        load_into(made, columns)
        check(made)

    elif spec.action in ("load", "truncateAndLoad"):
        if view is not None and view.table is not None:
            target_cols = table_columns(dialect, spec, source, view.table)
        else:
            target_cols = columns
            notes.append("offline: assumed the table exists with the results' columns")
        if spec.action == "load":
            body.before.append(Step(dialect.count(relation), "count the rows before", capture="before"))
            body.rows_before = "before"
            load_into(relation, target_cols)
            check(relation, plus="before")
        elif dialect.transactional_ddl:
            body.change.append(
                Step(dialect.delete_all(relation), "remove the old rows (readers keep seeing them until COMMIT)")
            )
            load_into(relation, target_cols)
            check(relation)
        elif (
            dialect.location_swap
            and view is not None
            and view.table is not None
            and view.table.managed
            and view.table.location
            and view.namespace_location
        ):
            new = relation.renamed(f"{relation.name}__new_{stamp}")
            body.location_before = view.table.location
            body.change.append(
                Step(dialect.create_like(new, relation), "an empty twin of the table", undo=_undo_create(dialect, new))
            )
            load_into(new, target_cols)
            check(new)
            body.change.extend(_location_swap(dialect, relation, new, view.table.location, view.namespace_location))
        else:
            load_into(relation, target_cols, overwrite=True)
            check(relation)
            why = "planned offline" if view is None else "the table is external"
            notes.append(f"INSERT OVERWRITE ({why}): readers may find the table empty while it runs")

    elif spec.action == "dropAndLoad":
        new = relation.renamed(f"{relation.name}__new_{stamp}")
        exists = view is None or view.table is not None or exists_override
        if view is None:
            notes.append("offline: assumed the table exists")
        body.change.append(
            Step(
                dialect.create_table(new, columns),
                "build the replacement beside the table",
                undo=_undo_create(dialect, new),
            )
        )
        load_into(new, columns)
        check(new)
        body.change.extend(_swap(dialect, relation, new, stamp, exists))


def _undo_create(dialect: Dialect, relation: Relation) -> str | None:
    # In a transaction, ROLLBACK undoes the CREATE; elsewhere drop what we made.
    return None if dialect.transactional_ddl else dialect.drop_table(relation, if_exists=True)


def new_location(namespace_location: str, table: Relation) -> str:
    """Where Hive puts a new managed table: its database's folder, then the table's name."""
    return f"{namespace_location.rstrip('/')}/{table.name}"


def _location_swap(
    dialect: Dialect, relation: Relation, twin: Relation, old: str, namespace_location: str
) -> list[Step]:
    """Point ``relation`` at its loaded twin's files, and the twin at the old files, which
    go when the twin is dropped. Each ALTER is atomic for readers."""
    new = new_location(namespace_location, twin)
    database = relation.database
    return [
        Step(f"{database}.{twin.name}", "check the new rows are where planned", kind="check_location", body=new),
        Step(
            dialect.set_location(relation, new),
            "point the table at the new rows (readers switch at once)",
            undo=dialect.set_location(relation, old),
        ),
        Step(
            dialect.set_location(twin, old),
            "give the old rows to the twin",
            undo=dialect.set_location(twin, new),
        ),
        Step(dialect.drop_table(twin), "drop the twin, and with it the old rows"),
    ]


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


def _assemble(
    dialect: Dialect, spec: Spec, view: TargetView | None, body: Body, stamp: str, rows: int | None
) -> list[Step]:
    """The publication's steps in order, with the ledger's steps around the change."""
    home = ledger.relation(spec)
    written = body.written or spec.relation
    published_table = written.name if written.schema is None else f"{written.schema}.{written.name}"
    steps: list[Step] = []
    if view is None or not view.ledger_exists:
        steps.extend(ledger.ensure(dialect, home))
    if dialect.transactional_ddl:
        # Objects outside the database (the COPY manifest) are written before the transaction.
        steps.extend(body.prepare)
    steps.extend(dialect.begin())
    # One publisher at a time: two applies of one publication wait for each other here, and
    # the second's guard then finds the first's ledger row. The ledger is locked, not the
    # table: Redshift's LOCK would make the table's readers wait for the whole load.
    steps.extend(dialect.lock(home))
    if not body.forced:
        steps.append(ledger.guard(dialect, home, spec))
    steps.extend(body.recover)
    steps.extend(body.before)
    if not dialect.transactional_ddl:
        # No transaction ties the change to its record: say it started, before anything is
        # made, so that the next apply finds an interrupted publish and tidies up after it.
        if body.change:
            steps.append(
                ledger.record(
                    dialect,
                    home,
                    spec,
                    state="pending",
                    published_table=published_table,
                    rows=rows,
                    stamp=stamp,
                    rows_before=body.rows_before,
                    location_before=body.location_before,
                )
            )
        steps.extend(body.prepare)
    steps.extend(body.change)
    # Tidy up before the 'done' record: an apply killed before it is recovered, tidy-up included.
    steps.extend(body.tidy)
    steps.append(
        ledger.record(dialect, home, spec, state="done", published_table=published_table, rows=rows, stamp=stamp)
    )
    steps.extend(dialect.commit())
    return steps


def _publication(
    spec: Spec,
    results: Results,
    written: Relation,
    columns: tuple[ColumnDef, ...],
    body: Body,
    notes: list[str],
    stamp: str,
    status: str,
    detail: str,
    view: TargetView | None = None,
) -> Publication:
    dialect = dialect_for(spec.target_type)
    rows = results.rows if spec.action != "create" else 0
    steps = _assemble(dialect, spec, view, body, stamp, rows) if status == "pending" else []
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
        table=written.name if written.schema is None else f"{written.schema}.{written.name}",
        requested_table=ledger.table_name(spec),
        source=results.location,
        input_format=spec.input_format,
        rows=rows,
        columns=tuple((c.name, c.type) for c in columns),
        steps=tuple(steps),
        on_failure=body.tidy if status == "pending" else (),
        notes=tuple(notes),
        stamp=stamp,
        status=status,
        status_detail=detail,
    )
