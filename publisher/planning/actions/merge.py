"""merge (an extension of the platform's five actions): an upsert by ``mergeKeys``.

Afterwards the table holds, for every key of the results, the results' row; rows with
other keys are unchanged; keys new to the table are inserted. A key found twice in the
results, or a NULL key, stops the merge before anything changes (never a silent pick).

How, by the target's capabilities, as truncateAndLoad: in one transaction where DDL and
DML are transactional (the results staged in a table, DELETE ... USING the keys, INSERT,
COUNT, COMMIT); else by rebuilding the table into a twin (its rows whose keys are not in the
results, plus the results), counting it, and swapping locations: readers see the old rows or
the new ones. The rebuild costs a pass over the whole table, however few rows change.

Rows are checked: afterwards the table holds its rows before, minus the rows the results
replace (counted before the change, in the same transaction or under the table's lock),
plus the results' rows.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from publisher.dialects.base import ColumnDef, count_capture, count_check
from publisher.model.errors import InvalidInput
from publisher.model.plan import CheckKeys, Statement, Step, sql
from publisher.model.relation import Relation
from publisher.planning.actions.base import table_columns
from publisher.planning.actions.truncate_and_load import TruncateAndLoad, location_swap, swappable
from publisher.planning.context import Body, Context

BEFORE = "before"
MATCHED = "replaced"


class Merge(TruncateAndLoad):
    """Recovery and the table's state afterwards are truncateAndLoad's: an interrupted
    rebuild leaves the same twin, and the same location swap, behind."""

    action = "merge"
    reads = frozenset({"namespace_location", "locations", "partitions"})

    def plan(self, ctx: Context, *, restored: bool) -> Body:
        dialect, relation, spec = ctx.dialect, ctx.relation, ctx.spec
        _refuse_unsupported(ctx)
        source = ctx.source()
        fit = table_columns(ctx, source.columns)
        target_cols = fit.columns
        keys = _keys(ctx, source.columns, target_cols)
        notes: tuple[str, ...] = (
            f"merge by {', '.join(keys)}: the results' rows replace the table's rows with the same key",
        )
        notes += ctx.unchecked_notes()  # the results' values are counted where they are staged
        notes += fit.notes(ctx)
        if ctx.view is None:
            notes += ("offline: assumed the table exists with the results' columns",)
        common: dict[str, Any] = {
            "before": (count_capture(dialect, relation, BEFORE),),
            "tidy": source.tidy,
            "rows_before": BEFORE,
        }
        if dialect.transactional_ddl:
            stage = ctx.made("__stage")
            staged = dialect.stage_rows(stage, source, spec)
            values = count_check(dialect, stage, ctx.results, "check the staged rows and values")
            rows = dialect.table(stage)
            change: tuple[Step, ...] = (
                *fit.steps(ctx),
                *staged,
                *((values,) if values else ()),
                _check_keys(ctx, rows, keys),
                _count_matched(ctx, rows, keys),
                sql(
                    dialect.delete_matched(relation, rows, keys),
                    "delete the rows the results replace (readers keep seeing them until COMMIT)",
                ),
                sql(
                    f"INSERT INTO {dialect.table(relation)} ({', '.join(dialect.quote(c.name) for c in target_cols)})\n"
                    f"SELECT {dialect.select_list(source.columns, target_cols)}\nFROM {rows}",
                    "insert the results' rows",
                ),
                *_check_rows(ctx, relation),
                sql(dialect.drop_table(stage), "drop the staged rows"),
            )
            return Body(source.steps, **common, change=change, notes=notes)
        table = ctx.view.table if ctx.view else None
        # The results' keys as the table's types (the staging table may hold raw values: Avro timestamps).
        key_cols = tuple(c for c in target_cols if c.name in keys)
        rows = f"(SELECT {dialect.select_list(source.columns, key_cols)} FROM {source.reference})"
        twin = ctx.made("__new")
        rebuild: tuple[Step, ...] = (
            _check_keys(ctx, rows, keys),
            _count_matched(ctx, rows, keys),
            *fit.steps(ctx),  # before the twin is made LIKE the table
            sql(dialect.create_like(twin, relation), "an empty twin of the table", undo=ctx.undo_create(twin)),
            sql(
                f"INSERT INTO TABLE {dialect.table(twin)} ({', '.join(dialect.quote(c.name) for c in target_cols)})\n"
                + dialect.unmatched_rows(relation, rows, keys, tuple(c.name for c in target_cols)),
                "copy the table's rows the results do not replace",
            ),
            *dialect.insert(twin, source, target_cols, spec),
            *_check_rows(ctx, twin),
        )
        if not swappable(ctx, table):
            notes += ("offline: the live plan swaps the table to the twin's location, or refuses an external table",)
            return Body(source.steps, **common, change=rebuild, notes=notes)
        assert table is not None and table.location and ctx.view and ctx.view.namespace_location
        notes += ("the whole table is rebuilt beside it (its cost grows with the table, not with the results)",)
        change = rebuild + location_swap(ctx, twin, table.location, ctx.view.namespace_location)
        return Body(source.steps, **common, change=change, location_before=table.location, notes=notes)


def _refuse_unsupported(ctx: Context) -> None:
    """Table shapes a merge cannot keep its promise on, refused with the alternative."""
    spec, table = ctx.spec, ctx.view.table if ctx.view else None
    if ctx.partitioning:
        raise InvalidInput(
            f"merge into {ctx.relation}: partitioned Hive tables are not merged yet; "
            "truncateAndLoad with overwrite: partitions replaces the results' partitions",
            spec.location,
        )
    if table is not None and ctx.dialect.location_swap and not swappable(ctx, table):
        raise InvalidInput(
            f"merge: table {ctx.relation} is external (its files belong to whoever wrote them): rebuilding it "
            "would delete files the publisher did not write; load appends to it",
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


def _count_matched(ctx: Context, rows: str, keys: tuple[str, ...]) -> Statement:
    return sql(
        ctx.dialect.matched_rows(ctx.relation, rows, keys),
        "count the table's rows the results replace",
        capture=MATCHED,
    )


def _check_rows(ctx: Context, relation: Relation) -> tuple[Statement, ...]:
    """The table (or twin) holds its rows before, minus those replaced, plus the results'."""
    purpose = "check the rows: before - replaced + the results'"
    found = count_check(ctx.dialect, relation, ctx.results, purpose, plus=BEFORE, values=False)
    return () if found is None else (replace(found, minus=MATCHED),)
