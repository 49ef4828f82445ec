"""Pure planning: (spec, results, target view) -> Publication, through the action's strategy."""

from __future__ import annotations

import re
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, replace
from datetime import datetime
from functools import partial
from typing import assert_never

from publisher.dialects import Dialect, dialect_for, types
from publisher.dialects.base import ColumnDef
from publisher.inputs.spec import Spec
from publisher.model.errors import InvalidInput, PublisherError
from publisher.model.location import Location
from publisher.model.names import check_column_lengths
from publisher.model.plan import (
    Begin,
    CheckColumns,
    CheckLocation,
    Commit,
    DeleteObject,
    Publication,
    PutObject,
    SetLocation,
    SqlStep,
    Statement,
    Step,
    SwitchPartitions,
)
from publisher.model.relation import Relation
from publisher.model.s3uri import S3Uri, is_s3
from publisher.model.target import KIND_WORDS, HiveTable, TableState
from publisher.planning import ledger, name_case, partitions, retention
from publisher.planning.actions import STRATEGIES
from publisher.planning.actions.base import Recovery, Strategy, missing_table, with_added_columns
from publisher.planning.context import Body, Context
from publisher.planning.recovery import drop_if_there, interrupted_names
from publisher.planning.view import LeftObject, TargetView, names_for, stamp_for
from publisher.results import Results

IDENTIFIER = re.compile(r"^[A-Za-z0-9_]{1,100}$")


def result_columns(dialect: Dialect, spec: Spec, results: Results) -> tuple[ColumnDef, ...]:
    """The results' columns in the target's types, with the spec's overrides applied."""
    names = (dialect.fold(c.name) for c in results.columns)
    check_column_lengths(dialect.title, dialect.column_name_limit, names, results.files[0].uri)
    columns = []
    for col in results.columns:
        name = dialect.fold(col.name)
        override = spec.column_types.get(name)
        if override and name not in spec.allow_narrowing:
            _refuse_narrowing(dialect, spec, col.name, col.type, override)
        columns.append(ColumnDef(name, override or dialect.column_type(col.type, col.name)))
    unknown = set(spec.column_types) - {c.name for c in columns} - set(spec.partition)  # static: typed here too
    if unknown:
        raise InvalidInput(
            f"columnTypes names columns the results do not have: {', '.join(sorted(unknown))} "
            f"(results: {', '.join(c.name for c in columns)})",
            spec.location,
        )
    return tuple(columns)


def _refuse_narrowing(dialect: Dialect, spec: Spec, column: str, arrow_type: object, override: str) -> None:
    """A columnTypes DECIMAL or integer type with fewer integer digits or decimal places than
    the results' DECIMAL: the target would round 4.75 to 5 (or refuse large values at apply),
    so the spec must say allowNarrowing. Other types are the override's business."""
    try:
        mapped = dialect.column_type(arrow_type, column)
    except InvalidInput:
        return  # a type the target refuses (text nanoseconds): the override replaces it
    have, wanted = dialect.exact_digits(mapped), dialect.exact_digits(dialect.normalize_type(override))
    if have is None or wanted is None or not mapped.startswith("DECIMAL("):
        return  # integers that do not fit a narrower type fail the load: nothing is rounded
    lost = []
    if wanted[1] < have[1]:
        lost.append(f"{wanted[1]} decimal place(s) where the results have {have[1]} (values are rounded)")
    if wanted[0] < have[0]:
        lost.append(f"{wanted[0]} integer digit(s) where the results have up to {have[0]} (larger values do not fit)")
    if not lost:
        return
    scale = max(have[1], wanted[1])
    wide = f"DECIMAL({min(max(have[0], wanted[0]) + scale, types.MAX_DECIMAL_PRECISION)},{scale})"
    raise InvalidInput(
        f"columnTypes.{column.lower()}: {override} narrows the results' {mapped}: {' and '.join(lost)}; "
        f"give {wide} or wider, or list {column.lower()} in allowNarrowing to accept the loss",
        spec.location,
    )


@dataclass(frozen=True)
class PlanInput:
    """What was read for one spec: its results, and its target (None: offline)."""

    spec: Spec
    results: Results
    view: TargetView | None


def plan_all(
    inputs: list[PlanInput], now: datetime, *, force: bool = False, retire_only: bool = False
) -> tuple[list[Publication], list[PublisherError]]:
    """Every spec planned, in order, each against the table as the publications planned
    before it in the same plan will leave it (existence, columns, location): two
    publications into one table in one apply each see what the other did. A spec with a
    problem is left out; its error is returned."""
    publications: list[Publication] = []
    problems: list[PublisherError] = []
    taken: set[str] = set()
    planned: dict[tuple[int, Relation], TableState] = {}
    last: dict[int, tuple[int, Spec, TargetView | None]] = {}  # connection -> its last pending publication
    results = {S3Uri.parse(i.results.location) for i in inputs if is_s3(i.results.location)}
    for item in inputs:
        spec, view = item.spec, item.view
        key = (spec.connection.id, spec.relation)
        if view is not None and key in planned:
            view = replace(view, namespace_exists=True, table=planned[key], table_read=False)
        try:
            publication, after = plan_with_effect(
                spec, item.results, view, now, taken, force=force, retire_only=retire_only
            )
            _check_writes(publication, results)
        except PublisherError as exc:
            problems.append(exc.at(spec.location))
            continue
        taken.update(names_for(spec.relation.name, publication.stamp))
        if after is not None:
            planned[key] = after
        if publication.status == "pending":
            last[spec.connection.id] = (len(publications), spec, view)
        publications.append(publication)
    for index, spec, view in last.values():
        publications[index] = _with_compaction(publications[index], spec, view)
    return publications, problems


def _check_writes(publication: Publication, results: AbstractSet[S3Uri]) -> None:
    """Refuse an object written into any results prefix of the plan: COPY FROM that prefix
    (anyone's) would load it too, and results are never changed."""
    for step in publication.steps:
        if isinstance(step, PutObject):
            inside = sorted(str(r) for r in results if S3Uri.parse(step.uri).within(r))
            if inside:
                raise InvalidInput(
                    f"{step.uri} would be written into the results prefix {inside[0]}: set manifestPrefix on "
                    f"connection {publication.connection} to an s3:// prefix outside every results prefix"
                )


def _with_compaction(publication: Publication, spec: Spec, view: TargetView | None) -> Publication:
    """The connection's last publication of the plan, ending with the ledger's compaction
    where the dialect compacts it: once an apply, after the others in a serial one."""
    dialect = dialect_for(spec.target_type)
    if not dialect.ledger_partitioned:
        return publication
    if partitioned(dialect, view):
        return replace(publication, steps=(*publication.steps, ledger.compact(dialect, ledger.relation(spec))))
    old = f"the ledger {ledger.relation(spec)} was made by an earlier version: not partitioned by day, never "
    moved = "compacted (README, 'The Hive ledger stays small', says how to move it)"
    return replace(publication, notes=(*publication.notes, old + moved))


def partitioned(dialect: Dialect, view: TargetView | None) -> bool:
    """Whether the spec's ledger is (or will be made) partitioned by day: a ledger this apply
    creates is, where the dialect's are; one an earlier version made keeps its shape."""
    return dialect.ledger_partitioned and (view is None or not view.ledger_exists or view.ledger_partitioned)


def plan_publication(
    spec: Spec,
    results: Results,
    view: TargetView | None,
    now: datetime,
    taken: AbstractSet[str] = frozenset(),
    *,
    force: bool = False,
) -> Publication:
    """The steps that publish ``results`` as ``spec`` asks; ``view`` None means offline."""
    publication, _ = plan_with_effect(spec, results, view, now, taken, force=force)
    return publication


def plan_with_effect(
    spec: Spec,
    results: Results,
    view: TargetView | None,
    now: datetime,
    taken: AbstractSet[str] = frozenset(),
    *,
    force: bool = False,
    retire_only: bool = False,
) -> tuple[Publication, TableState | None]:
    """The publication, and the table as it leaves it for later publications of the same
    plan (None: as it found it). ``retire_only``: the spec's retention alone (publisher retire)."""
    dialect = dialect_for(spec.target_type).for_engine(view.engine if view else None)
    strategy = STRATEGIES[spec.action]
    names_in_use = [taken]  # not merged into one set: that copy, per spec, grows with the plan
    if view is not None:
        # A location swap leaves the table in a folder named after its twin: that name is taken too.
        folder = view.table.location.name if view.table and view.table.location else ""
        # Names the ledger says were made (retired ones too): a new table never takes an old one's name.
        made = {e.published_table.rsplit(".", 1)[-1] for e in view.made}
        names_in_use += [view.table_names, {folder}, made]
    unreadable = dialect.unreadable_location(results.location) if strategy.loads_rows else None
    if unreadable:
        raise InvalidInput(f"the results folder {results.location} {unreadable}", spec.location)
    if view is not None:
        _check_folders(spec, dialect, view)
    stamp = stamp_for(spec.relation.name, now, names_in_use)
    ctx = Context(spec, results, view, dialect, stamp, result_columns(dialect, spec, results))
    notes: tuple[str, ...] = ()
    leftovers = strategy.leftovers(ctx)
    if view is not None:
        leftovers += dialect.stale_lock(spec.relation, ledger.relation(spec), view.table_names)
    renamed = name_case.renamed_note(dialect, results, view.keeps_case if view is not None else None)
    if view is None:
        notes = ("planned offline: the target and its ledger were not inspected",)
    if retire_only:
        retired, retire_notes = retention.plan(ctx, now, new_table=False)
        if not retention.asks(spec):
            retire_notes = ("no keepLast or keepFor: nothing to retire",)
        status = "retire" if retired else "published"
        detail = f"retention only: {len(retired)} table(s) to retire" if retired else "retention: nothing to retire"
        return _publication(ctx, Body(retire=retired), notes + retire_notes, status, detail), None
    if view is not None:
        status, detail = _status(spec, view)
        retired, retire_notes = retention.plan(ctx, now, new_table=False) if status != "pending" else ((), ())
        if status != "pending" and not force and (leftovers or view.objects_left or retired):
            body = Body(recover=_delete_left(view.objects_left), after=leftovers, retire=retired)
            what = "its apply stopped after its COMMIT, before the steps after it" if leftovers else ""
            what += "; " if leftovers and view.objects_left else ""
            what += "an interrupted apply left its COPY manifest(s)" if view.objects_left else ""
            if retired:
                what += "; " if what else ""
                what += f"retention retires {len(retired)} older table(s)"
            detail = f"{status} ({detail}); {what}: finishing them, publishing nothing again"
            notes += _left_notes(view.objects_left) + retire_notes
            return _publication(ctx, body, notes, "unfinished", detail), None
        if status != "pending" and not force:
            return _publication(ctx, Body(), notes, status, detail), None
        if status != "pending":
            notes = (f"--force: publishing again ({status}: {detail})",)
        elif view.elsewhere and not force:
            raise _published_by_another_project(spec, view.elsewhere[-1])
        elif view.ledger_traces and not force:
            raise InvalidInput(
                f"the ledger {ledger.relation(spec)} is missing, yet this connection was published into before "
                f"({', '.join(view.ledger_traces)}): every publication would run again (a load's rows twice); "
                "restore the ledger, or --force publishes as if nothing had been published",
                spec.location,
            )
        _check_target(ctx, strategy)

    if renamed:
        notes += (renamed,)
    if strategy.loads_rows:
        refused = dialect.refused_values(results)
        if refused:
            raise InvalidInput(f"{spec.action}: {refused}", spec.location)
        notes += dialect.value_notes(results)
    table = view.table if view is not None else None
    kind = table.of(HiveTable).kind if table is not None else None
    if kind and (strategy.writes_into_table or strategy.replaces_definition):
        notes += (f"table {spec.relation} is {KIND_WORDS[kind]}",)  # what the strategy's choice rests on
    ctx, partition_note = _with_partitioning(ctx, strategy)
    if partition_note:
        notes += (partition_note,)
    recovery = _recover(ctx) if view is not None else Recovery()
    if recovery.note:
        notes += (recovery.note,)
    left = view.objects_left if view is not None else ()
    retired, retire_notes = retention.plan(ctx, now, new_table=True)
    notes += retire_notes
    if recovery.outcome == "complete":
        body = Body(recover=_delete_left(left) + recovery.steps, retire=retired)
        notes += _left_notes(left)
        return _publication(ctx, body, notes, "pending", "completing an interrupted publish", force), None
    body = strategy.plan(ctx, restored=recovery.outcome == "restored")
    if view is not None:
        _check_settable(spec, dialect, view, body.change)
    own = {s.uri for s in body.prepare if isinstance(s, PutObject)}
    others = tuple(o for o in left if o.uri not in own)
    # This plan's own manifest, left by an interrupted apply of this very plan, is no leftover:
    # its PutObject finds the same bytes, and its tidy-up deletes it (a saved plan stays valid).
    notes += _left_notes(others)
    body = replace(body, recover=_delete_left(others) + recovery.steps, after=leftovers + body.after, retire=retired)
    if strategy.writes_into_table and spec.layout:
        # The table exists and keeps its keys: say so rather than let the spec look applied.
        kept = f"distStyle/distKey/sortKeys apply to tables the publisher creates: {spec.relation} keeps its own"
        body = replace(body, notes=(*body.notes, kept))
    # A live plan knows the cluster's slices where the catalog told them; elsewhere (offline, or
    # not readable) the dialect assumes the fewest.
    slices = view.slices if view is not None else None
    layout = ctx.dialect.layout_warnings(results, slices) if strategy.loads_rows else ()
    warnings = results.warnings + layout
    publication = _publication(ctx, body, notes + body.notes, "pending", "", force, warnings)
    after = strategy.after(ctx, body)
    return publication, with_added_columns(ctx, after) if strategy.writes_into_table else after


def _check_folders(spec: Spec, dialect: Dialect, view: TargetView) -> None:
    """Refuse a table, or a database its new tables go into, whose folder the engine would read
    as another folder (Spark: a Hadoop glob pattern), before anything is created there."""
    for what, folder in (
        ("folder", view.table.location if view.table else None),
        ("database's folder", view.namespace_location),
    ):
        why = dialect.unreadable_location(str(folder)) if folder is not None else None
        if why:
            raise InvalidInput(f"{spec.action}: {spec.relation}'s {what} {folder} {why}", spec.location)


def _check_settable(spec: Spec, dialect: Dialect, view: TargetView, steps: tuple[Step, ...]) -> None:
    """Refuse a location swap or partition switch into a folder the engine would not point a
    table at (Apache Hive 4: one that is no valid URI), before anything is loaded."""
    for step in steps:
        folders: tuple[Location, ...]
        if isinstance(step, SetLocation):
            folders = (step.location, step.previous)
        elif isinstance(step, SwitchPartitions):
            folders = (step.twin_location, *(step.twin_location.child(p) for p in step.expected))
        else:
            continue
        for folder in folders:
            why = dialect.unsettable_location(folder)
            if why:
                raise InvalidInput(
                    f"{spec.action}: the location {folder} {why}; a database whose folder has none of it, "
                    "or load or dropAndLoad (which set no location), publish there",
                    spec.location,
                )


def _delete_left(left: tuple[LeftObject, ...]) -> tuple[Step, ...]:
    """Delete what interrupted applies left: once this apply holds the table's lock and its
    guard found the publication unpublished (an apply still running would stop at its guard)."""
    why = "delete the COPY manifest an interrupted apply left (only while its bytes are those seen)"
    return tuple(DeleteObject(o.uri, why, o.sha256) for o in left)


def _left_notes(left: tuple[LeftObject, ...]) -> tuple[str, ...]:
    return tuple(f"an interrupted apply left the COPY manifest {o.uri}: this apply deletes it" for o in left)


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


def _published_by_another_project(spec: Spec, entry: ledger.Entry) -> InvalidInput:
    """A shared ledger holds this job's publication into the table by another project: the
    same publication published twice, or two projects that number their jobs alike. Which one
    is not the plan's to guess."""
    mine = f"project {spec.project!r}" if spec.project else "this project (no project: in publisher.yaml)"
    return InvalidInput(
        f"{spec.label} {spec.action} into {spec.relation} was published by project {entry.project!r} "
        f"(from {entry.spec_file}, into {entry.published_table}, at {str(entry.published_at)[:19]} UTC), "
        f"not by {mine}: the ledger is shared; --force publishes it as {mine} too",
        spec.location,
    )


def _rows(n: int | None) -> str:
    return "unknown rows" if n is None else f"{n:,} rows"


def _check_target(ctx: Context, strategy: Strategy) -> None:
    """What the plan can know will fail or break a promise, refused now with the alternative."""
    spec, view = ctx.spec, ctx.view
    assert view is not None
    relation, table = spec.relation, view.table
    if not view.namespace_exists:
        where = "schema" if relation.schema else "database"
        raise InvalidInput(
            f"{where} {relation.schema or relation.database} does not exist on {spec.connection.label}", spec.location
        )
    if strategy.needs_table and table is None:
        raise missing_table(spec)
    if table is not None and table.view and (strategy.needs_table or strategy.replaces_definition):
        raise InvalidInput(
            f"{spec.action}: {relation} is a view, not a table: publish into a table (createAndLoad publishes "
            "into a new one)",
            spec.location,
        )
    if table is not None and (strategy.needs_table or strategy.replaces_definition or strategy.writes_into_table):
        name_case.refuse_cased_table(ctx.dialect, spec, table, view.keeps_case)
    if table is not None and strategy.writes_into_table:
        name_case.refuse_cased_columns(ctx.dialect, spec, table, view.keeps_case)
    shape = None
    if table is not None and strategy.writes_into_table:
        acid = ctx.dialect.appends_to_acid
        shape = table.of(HiveTable).unsupported_shape(appends=strategy.appends, engine_writes_acid=acid)
    if shape:
        raise InvalidInput(
            f"{spec.action}: table {relation} {shape}, which {spec.action} does not support yet (it could not keep "
            "its promise there); dropAndLoad recreates the table from the results, createAndLoad publishes into "
            "a new table",
            spec.location,
        )


def _with_partitioning(ctx: Context, strategy: Strategy) -> tuple[Context, str]:
    """The context with the written table's partitioning, and a note on how it was chosen."""
    table = ctx.view.table if ctx.view else None
    if strategy.writes_into_table and table is not None:
        partitioning, note = partitions.for_existing_table(ctx.spec, table, ctx.columns), ""
    else:
        partitioning, note = partitions.for_new_table(ctx.spec, ctx.columns, table)
        if strategy.writes_into_table and partitioning:
            note = f"offline: assumed the table is partitioned by {partitioning.shown()} as the spec says"
    if partitioning and not note:
        note = f"rows go into the partitions {partitioning.shown()}"
    partitions.refuse_unstored(ctx.spec, partitioning, ctx.results)
    into = table if strategy.writes_into_table else None
    return replace(ctx, partitioning=partitioning, into=into), note


def _recover(ctx: Context) -> Recovery:
    """Steps that tidy up after an interrupted publish (a 'pending' row with no 'done' after
    it; only targets without transactions write those)."""
    assert ctx.view is not None
    entries = list(ctx.view.entries)
    last_done = max((i for i, e in enumerate(entries) if e.state == "done"), default=-1)
    pending = [e for e in entries[last_done + 1 :] if e.state == "pending" and IDENTIFIER.match(e.stamp or "")]
    if not pending:
        return Recovery()
    interrupted = pending[-1]
    stage = interrupted_names(ctx, interrupted)["stage"]
    common = drop_if_there(ctx, stage, "drop the staging table of the interrupted publish")
    own = STRATEGIES[ctx.spec.action].recover(ctx, interrupted)
    return Recovery(common + own.steps, own.outcome, own.note)


def _assemble(ctx: Context, body: Body, force: bool, rows: int | None, written: Relation) -> tuple[Step, ...]:
    """The publication's steps in order, with the ledger's steps around the change."""
    dialect, spec = ctx.dialect, ctx.spec
    home = ledger.relation(spec)
    # Where the dialect guards a lock table, the target table's lock table is locked and guarded
    # (not the ledger, nor the table itself: Redshift's LOCK would make the table's readers
    # wait for the whole load); two applies of one publication wait for each other there,
    # and the second's guard then finds the first's row.
    guarded = ledger.lock_relation(spec) if dialect.guards_lock_table else home
    record = partial(
        ledger.record,
        dialect,
        home,
        spec,
        published_table=written.name if written.schema is None else f"{written.schema}.{written.name}",
        rows=rows,
        stamp=ctx.stamp,
        partitioned=partitioned(dialect, ctx.view),
    )
    outside: tuple[Step, ...]  # before the transaction and its locks
    started: tuple[Step, ...]  # just before the change
    match dialect.replace_via:
        case "transaction":
            # Objects outside the database (the COPY manifest) are written before the transaction;
            # COMMIT ties the change to its 'done' record.
            outside, started = body.prepare, ()
        case "location_swap":
            # No transaction ties the change to its record: say it started, before anything is
            # made, so that the next apply finds an interrupted publish and tidies up after it.
            pending = (
                (record(state="pending", rows_before=body.rows_before, location_before=body.location_before),)
                if body.change
                else ()
            )
            outside, started = (), pending + body.prepare
        case unknown:
            assert_never(unknown)
    return (
        *_ledger_ready(dialect, ctx.view, home),
        *outside,
        *_locked(ctx, guarded, home, force),
        *_columns_unchanged(ctx),
        *_location_unchanged(ctx, body),
        *body.recover,
        *body.before,
        *started,
        *body.change,
        # Tidy up before the 'done' record: an apply killed before it is recovered, tidy-up included.
        *body.tidy,
        *((ledger.record_lock(dialect, guarded, spec),) if dialect.guards_lock_table else ()),
        record(state="done"),
        *dialect.commit(),
        *body.retire,  # under the table's lock where it takes one: two applies retire a table once
        *dialect.table_unlock(spec.relation),
        *_after_publish(dialect, body.after),
    )


def _ledger_ready(dialect: Dialect, view: TargetView | None, home: Relation) -> tuple[Step, ...]:
    """The ledger made where it is missing, or given the columns this version writes."""
    if view is None or not view.ledger_exists:
        return tuple(ledger.ensure(dialect, home))
    return tuple(ledger.upgrade(dialect, home, view.ledger_lacks))


def _locked(ctx: Context, guarded: Relation, home: Relation, force: bool) -> tuple[Step, ...]:
    """The transaction begun, the locks taken, and (unless forced) the guard that stops a
    publication already recorded as done."""
    dialect, spec = ctx.dialect, ctx.spec
    return (
        *((ledger.ensure_lock(dialect, guarded),) if dialect.guards_lock_table else ()),
        *dialect.begin(),
        *dialect.lock(guarded),
        # Hive has no transaction to wait in: a lock table per target table (apply/table_lock.py).
        *dialect.table_lock(spec.relation, home),
        *(() if force else (ledger.guard(dialect, guarded, spec),)),
    )


def _columns_unchanged(ctx: Context) -> tuple[Step, ...]:
    """Under the table's lock, before any change: the table still has the columns this plan
    read from the engine (not where it was planned as an earlier publication of the plan
    leaves it: the engine would name its types in its own words)."""
    view, relation = ctx.view, ctx.spec.relation
    strategy = STRATEGIES[ctx.spec.action]
    if view is None or view.table is None or view.table.view or not view.table_read:
        return ()
    if not (strategy.writes_into_table or strategy.replaces_definition):
        return ()
    columns = tuple(f"{c.name} {c.type}" for c in view.table.columns)
    purpose = "stop if the table's columns changed since the plan (nothing changed yet)"
    return (CheckColumns(relation.database, relation.schema, relation.name, columns, purpose),)


def _location_unchanged(ctx: Context, body: Body) -> tuple[Step, ...]:
    """Under the table's lock, before any change: a location swap gives the folder this plan
    read to the twin, whose drop deletes it. Another apply that swapped the table since the
    plan (and deleted that folder) makes the plan stale: stop, nothing changed, plan again."""
    if body.location_before is None:
        return ()
    relation = ctx.spec.relation
    purpose = "stop if the table's folder changed since the plan (nothing changed yet)"
    return (CheckLocation(relation.database, relation.name, body.location_before, purpose, stale_plan=True),)


def _after_publish(dialect: Dialect, steps: tuple[Step, ...]) -> tuple[Step, ...]:
    """``steps`` in a transaction of their own, after the publication's COMMIT; each marked so
    that a failure there leaves the publication published (the next plan finishes them)."""
    if not steps:
        return ()
    framed = (
        *(replace(s, purpose="a transaction of its own, after the publication committed") for s in dialect.begin()),
        *steps,
        *(replace(s, purpose="commit the drop") for s in dialect.commit()),
    )
    return tuple(replace(s, after_publish=True) if isinstance(s, Statement | Begin | Commit) else s for s in framed)


def _refuse_substituted(ctx: Context, reason: str, steps: tuple[Step, ...]) -> None:
    """Refuse a publication whose SQL holds ``${`` where the engine would replace it: the
    value would reach the table (or the engine would read a path) changed."""
    for step in steps:
        for text in _step_texts(step):
            token = ctx.dialect.substitution_token(text)
            if token is not None:
                raise InvalidInput(
                    f"{ctx.spec.action}: {reason}; this publication's SQL holds {token!r} (to {step.purpose}), "
                    "which would reach the engine changed: publish values and paths without '${', or have the "
                    "server allow SET hive.variable.substitute=false",
                    ctx.spec.location,
                )


def _step_texts(step: Step) -> list[str]:
    """The text a step sends to the engine: SQL's fixed parts (never a secret's slot) and
    the names and locations the other steps write into their statements."""
    if isinstance(step, SqlStep):
        return [part for part in step.sql if isinstance(part, str)]
    texts: list[str] = []
    for name, value in vars(step).items():
        values = value if isinstance(value, tuple) else (value,)
        texts.extend(v for v in values if isinstance(v, str) and name != "purpose")
    return texts


def _publication(
    ctx: Context,
    body: Body,
    notes: tuple[str, ...],
    status: str,
    detail: str,
    force: bool = False,
    warnings: tuple[str, ...] = (),
) -> Publication:
    spec, results = ctx.spec, ctx.results
    rows = results.rows if STRATEGIES[spec.action].loads_rows else 0
    written = body.written or spec.relation
    if status in ("unfinished", "retire"):
        steps = body.recover + _after_publish(ctx.dialect, body.after)
        steps += retention.framed(ctx, body.retire, locked=False)
    else:
        steps = _assemble(ctx, body, force, rows, written) if status == "pending" else ()
    if ctx.view is not None and ctx.view.substitution:
        _refuse_substituted(ctx, ctx.view.substitution, steps)
    return Publication(
        spec_file=spec.file,
        spec_line=spec.location.line,
        spec_hash=spec.content_hash,
        id=spec.id,
        connection=spec.connection.name,
        target_type=spec.target_type,
        table=written.name if written.schema is None else f"{written.schema}.{written.name}",
        source=results.location,
        input_format=spec.input_format,
        rows=rows,
        columns=tuple((c.name, c.type) for c in ctx.columns),
        steps=steps,
        on_failure=body.tidy + ctx.dialect.table_unlock(spec.relation) if status == "pending" else (),
        notes=notes,
        warnings=warnings,
        description=spec.description or None,
        stamp=ctx.stamp,
        status=status,
        status_detail=detail,
        engine=(ctx.view.engine or "") if ctx.view is not None else "",
        source_columns=tuple((c.name, str(c.type)) for c in results.columns),
        static_partitions=tuple((c.name, c.type) for c in ctx.partitioning.columns if c.value is not None),
    )
