"""truncateAndLoad: the table keeps its definition and holds exactly the results' rows;
readers see the old rows or the new ones, never an empty table.

How, by the target's capabilities: in one transaction (DELETE, load, COMMIT) where DDL
and DML are transactional; else by loading a twin and swapping locations, where the
table is managed. An external table is refused (replacing its rows would delete files the
publisher did not write); offline, where the table is unknown, the plan shows INSERT OVERWRITE.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import ClassVar, assert_never

from publisher.dialects.base import ColumnDef, LoadSource
from publisher.model.errors import InvalidInput
from publisher.model.location import Location
from publisher.model.plan import CheckLocation, SetLocation, Step, SwitchPartitions, sql
from publisher.model.relation import Relation
from publisher.model.target import KIND_WORDS, HiveTable, TableState
from publisher.model.vocabulary import Action
from publisher.planning import ledger, partitions
from publisher.planning.actions.base import Recovery, Strategy, table_columns
from publisher.planning.context import Body, Context
from publisher.planning.recovery import exists, interrupted_names
from publisher.planning.view import new_location


class TruncateAndLoad(Strategy):
    action: ClassVar[Action] = "truncateAndLoad"  # and merge's, which recovers as it does
    replaces_table = (
        True  # not merge's: its twin holds kept rows too, and it keeps the partitions the results do not touch
    )
    spec_keys = frozenset({"overwrite", "onSchemaChange", "partition"})
    needs_table = True
    writes_into_table = True
    reads = frozenset({"namespace_location", "locations", "partitions"})

    def plan(self, ctx: Context, *, restored: bool) -> Body:
        dialect, relation = ctx.dialect, ctx.relation
        source = ctx.source()
        fit = table_columns(ctx, source.columns)
        target_cols = fit.inserted  # a column the results lack is left to its DEFAULT
        added = fit.steps(ctx)  # onSchemaChange: addColumns, first: a twin is made LIKE the table
        notes = ctx.unchecked_notes() + fit.notes(ctx)
        if ctx.view is None:
            notes += ("offline: assumed the table exists with the results' columns",)
        match dialect.replace_via:
            case "transaction":
                change: tuple[Step, ...] = (
                    *added,
                    sql(dialect.delete_all(relation), "remove the old rows (readers keep seeing them until COMMIT)"),
                    *ctx.insert(relation, source, target_cols),
                    *ctx.check(relation),
                )
                return Body(source.steps, change=change, tidy=source.tidy, notes=notes)
            case "location_swap":
                return self._by_location_swap(ctx, source, target_cols, added, notes)
            case unknown:
                assert_never(unknown)

    def _by_location_swap(
        self,
        ctx: Context,
        source: LoadSource,
        target_cols: tuple[ColumnDef, ...],
        added: tuple[Step, ...],
        notes: tuple[str, ...],
    ) -> Body:
        """Where every statement commits on its own (Hive): a loaded twin swapped in, partitions
        switched one by one; a table whose files are not its own is refused."""
        dialect, relation = ctx.dialect, ctx.relation
        table = ctx.view.table if ctx.view else None
        if swappable(ctx, table) and ctx.partitioning:
            assert table is not None
            expected = partitions.expected_partitions(ctx.partitioning, ctx.results)
            if expected is not None and table.partitions is not None:
                notes += (partitions.listing(expected, table.partitions, drop_others(ctx, self.replaces_table)),)
            else:
                why = "no statistics pin them" if expected is None else "the table's partitions were not read"
                expected = None
                notes += (f"the partitions are found at apply ({why}) and listed in its output",)
            notes += (
                "partitions switch one after another: a reader during the switch may see some partitions' new rows "
                "and others' old rows, never a partition without rows",
            )
            change = added + partition_swap(ctx, source, target_cols, expected or ())
            return Body(source.steps, change=change, tidy=source.tidy, notes=notes)
        if swappable(ctx, table):
            home = table_home(ctx, table)
            assert table is not None and table.location and home
            twin = ctx.made("__new")
            change = (
                *added,
                sql(dialect.create_like(twin, relation), "an empty twin of the table", undo=ctx.undo_create(twin)),
                *dialect.insert(twin, source, target_cols, ctx.spec),
                *ctx.check(twin),
                *location_swap(ctx, twin, table.location, home),
            )
            return Body(source.steps, change=change, tidy=source.tidy, location_before=table.location, notes=notes)
        if ctx.view is not None:
            # INSERT OVERWRITE of an external table deletes files the publisher did not write,
            # and readers find the table empty while it runs: neither is a truncateAndLoad.
            reason = foreign_files(ctx, table) if table is not None else None
            raise InvalidInput(
                f"truncateAndLoad: table {relation} {reason or 'has no location to swap'}: "
                "replacing its rows would delete files the publisher did not write; load appends to it, "
                "dropAndLoad replaces an external table with a managed one (its files stay), createAndLoad "
                "publishes into a new table",
                ctx.spec.location,
            )
        change = (
            *added,
            *dialect.insert(relation, source, target_cols, ctx.spec, overwrite=True),
            *ctx.check(relation),
        )
        notes += ("INSERT OVERWRITE (planned offline): the live plan swaps locations or refuses an external table",)
        return Body(source.steps, change=change, tidy=source.tidy, notes=notes)

    def recover(self, ctx: Context, interrupted: ledger.Entry) -> Recovery:
        made = interrupted_names(ctx, interrupted)
        twin = made["new"]
        home = twin_home(ctx)
        if ctx.partitioning and ctx.view is not None and home:
            if exists(ctx, made["old"]):
                # The trash is made once the twin is loaded and checked: finish the switch. (A
                # merge's twin holds the table's kept rows too: no count of the results' rows.)
                rows = interrupted.row_count if self.replaces_table else None
                step = switch(ctx, twin, made["old"], rows, replaces_table=self.replaces_table)
                return Recovery((step,), "complete")
            if exists(ctx, twin):
                # Nothing switched yet: the twin's folders are its own, and go with it.
                return Recovery((sql(ctx.dialect.drop_table(twin), "drop the twin of the interrupted publish"),))
            return Recovery()
        if not exists(ctx, twin):
            return Recovery()
        assert ctx.view is not None
        twin_at = ctx.view.locations.get(twin.name)
        table_at = ctx.view.table.location if ctx.view.table else None
        steps: list[Step] = []
        outcome: Recovery = Recovery()
        if twin_at and twin_at == table_at:
            # Killed between the two SET LOCATIONs: both point at the new rows. Dropping
            # the twin as it is would delete them: give it the old rows first, as the
            # interrupted publish was about to.
            if not interrupted.location_before:
                raise InvalidInput(
                    f"truncateAndLoad into {ctx.relation} was interrupted mid-swap and the ledger lacks the table's "
                    f"old location: point {twin.name} at the old folder, drop it, then publish with --force",
                    ctx.spec.location,
                )
            before = Location.parse(interrupted.location_before)  # as the ledger row was written: str()
            steps.append(sql(ctx.dialect.set_location(twin, before), "give the old rows to the twin"))
            outcome = Recovery(outcome="complete")
        elif home and twin_at != new_location(home, twin):
            outcome = Recovery(outcome="complete")  # both moves happened: the twin holds the old rows
        steps.append(sql(ctx.dialect.drop_table(twin), "drop the twin of the interrupted publish"))
        return replace(outcome, steps=tuple(steps))

    def after(self, ctx: Context, body: Body) -> TableState | None:
        """After a location swap the table lives in its twin's folder."""
        table = ctx.view.table if ctx.view else None
        home = table_home(ctx, table)
        if body.location_before is None or table is None or home is None:
            return None
        return replace(table, location=new_location(home, ctx.made("__new")))


def swappable(ctx: Context, table: TableState | None) -> bool:
    """Whether the table can be repointed at a loaded twin's files: its files are the
    engine's (managed) at the table's own folder, where a swap hands them to a twin it drops."""
    return bool(
        ctx.dialect.replace_via == "location_swap"
        and ctx.view is not None
        and table is not None
        and table.location
        and foreign_files(ctx, table) is None
        and table_home(ctx, table) is not None
    )


def foreign_files(ctx: Context, table: TableState) -> str | None:
    """Why dropping the table's folder could delete files the publisher did not write (None:
    it could not): an external table's files are whoever wrote them; a managed table stored
    outside its database's folder (SET LOCATION '/shared/t') may share that folder with
    others, and DROP deletes all of it. A table the publisher swapped lives in a twin's
    folder beside the table's: <table>__new_<stamp>."""
    hive = table.of(HiveTable)
    if not hive.owns_files:
        if hive.kind:
            return f"is {KIND_WORDS[hive.kind]}"
        return "is external (its files belong to whoever wrote them)"
    home = ctx.view.namespace_location if ctx.view else None
    if not table.location or not home:
        return None  # offline, or no location read: the live plan decides
    if table_home(ctx, table) is not None:
        return None
    owner = KIND_WORDS[hive.kind] if hive.kind else "managed"
    return (
        f"is {owner.split(' (')[0]} but stored at {table.location}, not in its own folder under its database's "
        f"{home} (other files may be there, and DROP deletes the whole folder)"
    )


def table_home(ctx: Context, table: TableState | None) -> Location | None:
    """The folder holding the table's own folder, where the engine puts its twin (CREATE TABLE
    LIKE makes a table of the same kind): its database's folder; for an owned external table,
    as Apache Hive 4 makes them, a folder of the same name in the external warehouse (Hive 4's
    databases have one location per kind). None where the table is not in its own folder:
    <home>/<table>, or <home>/<table>__new_<stamp> after a swap."""
    namespace = ctx.view.namespace_location if ctx.view else None
    if table is None or table.location is None or namespace is None:
        return None
    parent = table.location.parent
    if not re.fullmatch(rf"{re.escape(ctx.relation.name)}(__new_\d{{14}})?", table.location.name):
        return None
    if parent == namespace:
        return namespace
    same_name = parent.name == namespace.name
    return parent if table.of(HiveTable).kind == "external-owned" and same_name else None


def twin_home(ctx: Context) -> Location | None:
    """Where the table's twin goes: ``table_home``, else (a recovery, where the table may be
    missing or elsewhere) its database's folder."""
    table = ctx.view.table if ctx.view else None
    return table_home(ctx, table) or (ctx.view.namespace_location if ctx.view else None)


def partition_swap(
    ctx: Context, source: LoadSource, columns: tuple[ColumnDef, ...], expected: tuple[str, ...]
) -> tuple[Step, ...]:
    """A partitioned table: load a twin (partitioned alike, same format), then switch the
    table's partitions to the twin's one by one, each an atomic SET LOCATION."""
    dialect, relation = ctx.dialect, ctx.relation
    home = table_home(ctx, ctx.view.table if ctx.view else None)
    assert home is not None
    twin, trash = ctx.made("__new"), ctx.made("__old")
    return (
        sql(dialect.create_like(twin, relation), "an empty twin of the table", undo=ctx.undo_create(twin)),
        *ctx.insert(twin, source, columns),
        *ctx.check(twin),
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
        switch(ctx, twin, trash, ctx.results.rows, expected, replaces_table=True),
    )


def drop_others(ctx: Context, replaces_table: bool) -> bool:
    """Whether partitions the results lack are dropped: where the results replace the table
    (not a merge's), with overwrite: table, without a static partition."""
    return replaces_table and ctx.spec.overwrite == "table" and not ctx.partitioning.static


def switch(
    ctx: Context,
    twin: Relation,
    trash: Relation,
    rows: int | None,
    expected: tuple[str, ...] = (),
    *,
    replaces_table: bool,
) -> SwitchPartitions:
    home = twin_home(ctx)
    assert home is not None
    dropping = drop_others(ctx, replaces_table)
    what = "replace the table's partitions" if dropping else "replace the results' partitions, keep the others"
    return SwitchPartitions(
        ctx.relation.database,
        ctx.relation.name,
        twin.name,
        new_location(home, twin),
        trash.name,
        dropping,
        rows,
        f"{what} (readers see each partition's old rows or its new ones)",
        expected,
    )


def location_swap(ctx: Context, twin: Relation, old: Location, home: Location) -> tuple[Step, ...]:
    """Point the table at its loaded twin's files, and the twin at the old files, which go
    when the twin is dropped. Each ALTER is atomic for readers."""
    dialect, relation = ctx.dialect, ctx.relation
    new = new_location(home, twin)
    return (
        CheckLocation(relation.database, twin.name, new, "check the new rows are where planned"),
        SetLocation(
            relation.database,
            relation.name,
            new,
            old,
            "point the table at the new rows (readers switch at once)",
            "point the table back at the old rows",
        ),
        SetLocation(
            twin.database, twin.name, old, new, "give the old rows to the twin", "give the twin its own rows back"
        ),
        sql(dialect.drop_table(twin), "drop the twin, and with it the old rows"),
    )
