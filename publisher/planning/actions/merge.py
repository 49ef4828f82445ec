"""merge (an extension of the platform's five actions): an upsert by ``mergeKeys``.

Afterwards the table holds, for every key of the results, the results' row; rows with
other keys are unchanged; keys new to the table are inserted. A key found twice in the
results, or a NULL key, stops the merge before anything changes (never a silent pick).

How, by the target's capabilities, as truncateAndLoad: in one transaction where DDL and
DML are transactional (the results staged in a table, DELETE ... USING the keys, INSERT,
COUNT, COMMIT); else by rebuilding the table into a twin (its rows whose keys are not in the
results, plus the results), counting it, and swapping locations: readers see the old rows or
the new ones. The rebuild costs a pass over the whole table, however few rows change.

Rows are checked. In the transaction: the engine's own row counts, the DELETE's (the rows
replaced, recorded) and the INSERT's (every staged row, checked), with no pass over the table
of its own. In the rebuild: the twin holds the table's rows before, minus the rows the results
replace (counted before the change, under the table's lock), plus the results' rows.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, assert_never

from publisher.dialects.base import ColumnDef, LoadSource, count_capture, count_check
from publisher.model.errors import InvalidInput
from publisher.model.plan import CheckKeys, CheckLocation, RowCheck, Step, sql
from publisher.model.relation import Relation
from publisher.planning.actions.base import Fit, table_columns
from publisher.planning.actions.truncate_and_load import (
    TruncateAndLoad,
    foreign_files,
    location_swap,
    swappable,
    switch,
    table_home,
)
from publisher.planning.context import Body, Context
from publisher.planning.view import new_location

BEFORE = "before"
MATCHED = "replaced"
WITHIN = "in_partitions"


class Merge(TruncateAndLoad):
    """Recovery and the table's state afterwards are truncateAndLoad's: an interrupted
    rebuild leaves the same twin, and the same location swap, behind."""

    action = "merge"
    spec_keys = frozenset({"mergeKeys", "onSchemaChange", "partition"})
    replaces_table = False
    reads = frozenset({"namespace_location", "locations", "partitions"})

    def plan(self, ctx: Context, *, restored: bool) -> Body:
        _refuse_unsupported(ctx)
        source = ctx.source()
        fit = table_columns(ctx, source.columns)
        keys = _keys(ctx, source.columns, fit.inserted)
        notes: tuple[str, ...] = (
            f"merge by {', '.join(keys)}: the results' rows replace the table's rows with the same key",
        )
        notes += ctx.unchecked_notes(in_table=False)  # the results' values are counted where they are staged
        notes += fit.notes(ctx)
        if ctx.view is None:
            notes += ("offline: assumed the table exists with the results' columns",)
        match ctx.dialect.replace_via:
            case "transaction":
                return _in_transaction(ctx, source, fit, keys, notes)
            case "location_swap":
                return _rebuild(ctx, source, fit, keys, notes)
            case unknown:
                assert_never(unknown)


def _in_transaction(ctx: Context, source: LoadSource, fit: Fit, keys: tuple[str, ...], notes: tuple[str, ...]) -> Body:
    """Where DDL and DML share a transaction: the results staged and checked, the rows they
    replace deleted and theirs inserted, all before COMMIT."""
    dialect, relation, spec = ctx.dialect, ctx.relation, ctx.spec
    assert dialect.counts_changed_rows, "a transactional merge checks rows by the engine's row counts"
    stage = ctx.made("__stage")
    staged = dialect.stage_rows(stage, source, spec)
    values = count_check(dialect, stage, ctx.results, "check the staged rows and values")
    rows = dialect.table(stage)
    target_cols = fit.inserted  # a column the results lack is left to its DEFAULT
    change: tuple[Step, ...] = (
        *fit.steps(ctx),
        *staged,
        *((values,) if values else ()),
        _check_keys(ctx, rows, keys),
        sql(
            dialect.delete_matched(relation, rows, keys),
            "delete the rows the results replace (readers keep seeing them until COMMIT)",
            reports=UPDATED,
        ),
        sql(
            dialect.insert_select(
                relation, target_cols, f"SELECT {dialect.select_list(source.columns, target_cols)}\nFROM {rows}"
            ),
            "insert the results' rows",
            changes=ctx.results.rows,
        ),
        sql(dialect.drop_table(stage), "drop the staged rows"),
    )
    return Body(source.steps, change=change, tidy=source.tidy, notes=notes)


def _rebuild(ctx: Context, source: LoadSource, fit: Fit, keys: tuple[str, ...], notes: tuple[str, ...]) -> Body:
    """Where a table is replaced by a location swap (Hive): the table rebuilt into a twin, then swapped in;
    a partitioned table's twin holds only the partitions the results touch, switched one by one."""
    dialect, relation, part = ctx.dialect, ctx.relation, ctx.partitioning
    # Every body below: the row count before (recorded, to recover a killed merge), the staging tidied.
    common: dict[str, Any] = {
        "before": (count_capture(dialect, relation, BEFORE),),
        "tidy": source.tidy,
        "rows_before": BEFORE,
    }
    table = ctx.view.table if ctx.view else None
    twin = ctx.made("__new")
    steps = _into_twin(ctx, source, fit, keys, twin)
    if not swappable(ctx, table):
        notes += ("offline: the live plan swaps the table to the twin's location, or refuses an external table",)
        return Body(source.steps, **common, change=steps, notes=notes)
    home = table_home(ctx, table)
    assert table is not None and table.location and home
    if not part:
        notes += ("the whole table is rebuilt beside it (its cost grows with the table, not with the results)",)
        swap = location_swap(ctx, twin, table.location, home)
        change = (*steps, *swap)
        return Body(source.steps, **common, change=change, location_before=table.location, notes=notes)
    notes += (
        "the partitions the results touch are rebuilt beside the table (found at apply), then switched one "
        "after another: a reader may see some merged and others not yet, never a partition without rows; "
        "every other partition is kept",
    )
    trash = ctx.made("__old")
    change = (
        *steps,
        CheckLocation(
            relation.database,
            twin.name,
            new_location(home, twin),
            "check the new rows are where planned",
        ),
        sql(
            dialect.create_like(trash, relation),
            "an empty table to hand the replaced partitions' folders to (they are deleted with it)",
            undo=ctx.undo_create(trash),
        ),
        switch(ctx, twin, trash, None, replaces_table=False),
        *_check_rows(ctx, relation, BEFORE),
    )
    return Body(source.steps, **common, change=change, notes=notes)


def _into_twin(ctx: Context, source: LoadSource, fit: Fit, keys: tuple[str, ...], twin: Relation) -> tuple[Step, ...]:
    """The keys checked, then the twin made and filled: the results' rows, and the table's rows
    they do not replace (of a partitioned table, only in the partitions the results touch)."""
    dialect, relation, part = ctx.dialect, ctx.relation, ctx.partitioning
    types = {c.name: c.type for c in fit.columns} | {c.name: c.type for c in part.columns}
    # The results' keys as the table's types (the staging table may hold raw values: Avro
    # timestamps), and a static partition's value as one more key column.
    keyed = dialect.select_list(source.columns, tuple(c for c in fit.columns if c.name in keys))
    keyed += "".join(
        f", CAST({dialect.literal(v)} AS {types[n]}) AS {dialect.quote(n)}" for n, v in part.static.items()
    )
    rows = f"(SELECT {keyed} FROM {source.reference})"
    matching = keys + tuple(part.static)
    inserted = ctx.table_columns(fit.columns)  # as an insert lists them: static partition columns left out
    kept = dialect.unmatched_rows(relation, rows, matching, tuple(c.name for c in inserted), within=part.names)
    partition = tuple((c.name, c.value) for c in part.columns)
    steps: list[Step] = [_check_keys(ctx, rows, keys), _count_matched(ctx, rows, matching)]
    if part:
        touched = "count the table's rows in the partitions the results touch (only those are rebuilt)"
        steps.append(RowCheck((dialect.rows_within(relation, rows, part.names),), touched, capture=WITHIN))
    steps += [
        *fit.steps(ctx),  # before the twin is made LIKE the table
        sql(dialect.create_like(twin, relation), "an empty twin of the table", undo=ctx.undo_create(twin)),
        *ctx.insert(twin, source, fit.inserted),  # first: it sets the session's partition mode, where needed
        sql(
            dialect.insert_select(twin, inserted, kept, partition),
            "copy the table's rows the results do not replace"
            + (", in the partitions the results touch" if part else ""),
        ),
        *_check_rows(ctx, twin, WITHIN if part else BEFORE),
    ]
    return tuple(steps)


def _refuse_unsupported(ctx: Context) -> None:
    """Table shapes a merge cannot keep its promise on, refused with the alternative."""
    spec, table = ctx.spec, ctx.view.table if ctx.view else None
    outside = [c for c in ctx.partitioning.dynamic if c not in spec.merge_keys]
    if outside:
        raise InvalidInput(
            f"merge into partitioned table {ctx.relation}: mergeKeys must include its partition columns "
            f"({', '.join(outside)} missing): a key then lives in one partition, and only the partitions the "
            "results touch are rebuilt",
            spec.location,
        )
    if table is not None and ctx.dialect.replace_via == "location_swap" and not swappable(ctx, table):
        why = foreign_files(ctx, table) or "has no location to swap"
        raise InvalidInput(
            f"merge: table {ctx.relation} {why}: rebuilding it would delete files the publisher did not "
            "write; load appends to it",
            spec.location,
        )


def _keys(ctx: Context, results: tuple[ColumnDef, ...], table: tuple[ColumnDef, ...]) -> tuple[str, ...]:
    """The spec's mergeKeys, each a column of the results and of the table, of a type that compares."""
    keys = ctx.spec.merge_keys
    assert keys, "the spec schema requires mergeKeys with merge"
    ours, theirs = {c.name: c for c in results}, {c.name: c for c in table}
    missing = [k for k in keys if k not in ours or k not in theirs]
    if missing:
        raise InvalidInput(
            f"merge: mergeKeys {', '.join(missing)} not among the columns of the results and the table "
            f"({', '.join(ours)})",
            ctx.spec.location,
        )
    nested = [k for k in keys if theirs[k].type.split("(")[0].split("<")[0].upper() in NOT_COMPARABLE]
    if nested:
        raise InvalidInput(
            f"merge: mergeKeys {', '.join(nested)} are of a type that does not compare by value "
            f"({', '.join(theirs[k].type for k in nested)}); name plain columns",
            ctx.spec.location,
        )
    return keys


NOT_COMPARABLE = frozenset({"ARRAY", "MAP", "STRUCT", "SUPER", "BINARY", "VARBYTE", "GEOMETRY"})
"""Column types whose values a key cannot be made of (no equality, or none by value)."""


def _check_keys(ctx: Context, rows: str, keys: tuple[str, ...]) -> CheckKeys:
    dialect = ctx.dialect
    return CheckKeys(
        keys,
        dialect.key_problems(rows, keys),
        dialect.repeated_keys(rows, keys),
        "check each key is in the results once, and none is NULL",
    )


UPDATED = "rows updated (the table's rows replaced by the results' rows; the others inserted)"


def _count_matched(ctx: Context, rows: str, keys: tuple[str, ...]) -> RowCheck:
    return RowCheck(
        (ctx.dialect.matched_rows(ctx.relation, rows, keys),),
        "count the table's rows the results replace",
        capture=MATCHED,
        reports=UPDATED,
    )


def _check_rows(ctx: Context, relation: Relation, before: str = BEFORE) -> tuple[RowCheck, ...]:
    """The table (or twin) holds its rows before (``before``: of the whole table, or of the
    partitions the results touch), minus those replaced, plus the results'."""
    purpose = f"check the rows: {before} - replaced + the results'"
    found = count_check(ctx.dialect, relation, ctx.results, purpose, plus=before, values=False)
    return () if found is None else (replace(found, minus=MATCHED),)
