"""dropAndLoad: the table recreated from the results' schema, built beside and swapped in;
a failure at any step leaves the old table untouched; works when there is no table yet."""

from __future__ import annotations

from dataclasses import replace
from itertools import takewhile
from typing import assert_never

from publisher.dialects.base import KeptIndexes
from publisher.model import location
from publisher.model.errors import InvalidInput
from publisher.model.layout import Layout
from publisher.model.plan import RowCheck, Step, sql
from publisher.model.relation import Relation
from publisher.model.target import KIND_WORDS, CatalogTable, HiveTable, RedshiftTable, TableState
from publisher.planning import ledger
from publisher.planning.actions.base import Recovery, Strategy
from publisher.planning.actions.truncate_and_load import foreign_files
from publisher.planning.context import Body, Context
from publisher.planning.kept_definition import kept_definition, kept_state
from publisher.planning.recovery import drop_if_there, exists, interrupted_names
from publisher.planning.view import names_for, new_location


class DropAndLoad(Strategy):
    action = "dropAndLoad"
    spec_keys = frozenset({"partition"})
    replaces_definition = True
    replaces_table = True
    reads = frozenset({"namespace_location"})

    def plan(self, ctx: Context, *, restored: bool) -> Body:
        table = ctx.view.table if ctx.view else None
        redshift = table.of(CatalogTable) if table is not None else CatalogTable()
        if redshift.dependent_views:
            # DROP TABLE fails while schema-bound views depend on it (and CASCADE would drop
            # the views of other teams): known now, so refused now.
            raise InvalidInput(
                f"dropAndLoad: views depend on table {ctx.relation} ({', '.join(redshift.dependent_views)}): "
                "it cannot be dropped without dropping them; truncateAndLoad replaces its rows and keeps "
                "the views, or recreate them WITH NO SCHEMA BINDING (late-binding)",
                ctx.spec.location,
            )
        if redshift.facts is not None and redshift.facts.referenced_by:
            # DROP TABLE fails while another table's FOREIGN KEY refers to it (CASCADE would drop
            # the constraint of another team's table), as with bound views.
            raise InvalidInput(
                f"dropAndLoad: foreign keys of other tables refer to table {ctx.relation} "
                f"({', '.join(redshift.facts.referenced_by)}): it cannot be dropped without dropping them; "
                "truncateAndLoad replaces its rows and keeps them",
                ctx.spec.location,
            )
        if redshift.owner_only:
            raise InvalidInput(
                f"dropAndLoad: table {ctx.relation} is owned by {redshift.owner}: only that user or a superuser "
                "may drop or rename it; publish as that user, or truncateAndLoad replaces its rows (with "
                "DELETE and INSERT granted on it)",
                ctx.spec.location,
            )
        owned = table is not None and table.of(HiveTable).owns_files and ctx.dialect.replace_via == "location_swap"
        why = foreign_files(ctx, table) if table is not None and owned else None
        if why is not None:
            # Hive renames the old table aside and drops it: DROP of a managed table deletes its
            # whole folder, and this folder is not the table's alone.
            raise InvalidInput(
                f"dropAndLoad: table {ctx.relation} {why}: dropping it would delete files the publisher did not "
                "write; make it external first (ALTER TABLE ... SET TBLPROPERTIES ('EXTERNAL'='TRUE')) so its "
                "folder stays, or createAndLoad publishes into a new table",
                ctx.spec.location,
            )
        if table is not None and _external_in_the_default_folder(ctx, table):
            # The replacement is a managed table: renamed to the table's name, Spark moves it into
            # <database>/<name>, still the external table's folder (LOCATION_ALREADY_EXISTS).
            kind = table.of(HiveTable).kind or "external-foreign"
            raise InvalidInput(
                f"dropAndLoad: table {ctx.relation} is {KIND_WORDS[kind]} stored "
                f"at {table.location}, the folder its managed replacement would be renamed into (Spark refuses: "
                "LOCATION_ALREADY_EXISTS); truncateAndLoad replaces the rows of an owned external table, "
                "createAndLoad publishes into a new table",
                ctx.spec.location,
            )
        new = ctx.made("__new")
        source = ctx.source()
        notes = ctx.unchecked_notes()
        if ctx.view is None:
            notes += ("offline: assumed the table exists",)
        table_exists = ctx.view is None or ctx.view.table is not None or restored
        old = ctx.made("__old")
        access, not_copied = kept_access(ctx, new)
        layout, layout_notes = kept_layout(ctx)
        kept = kept_definition(ctx, new, layout)
        old_table = ctx.view.table if ctx.view else None
        dropped = ctx.dialect.not_carried_over(old_table) if old_table else ()
        indexes = (
            ctx.dialect.kept_indexes(old_table, new, old, ctx.columns, kept.facts.keys) if old_table else KeptIndexes()
        )
        notes += dropped_columns(ctx) + not_copied + layout_notes + kept.notes + indexes.notes + dropped
        change = (
            ctx.create(new, "build the replacement beside the table", layout, kept.facts),
            *ctx.insert(new, source, ctx.columns),
            *ctx.check(new),
            *indexes.build,
            *access,
            *ctx.described(new),
            *kept.comments,
            *swap(ctx, new, old, table_exists),
            *indexes.rename,
        )
        after: tuple[Step, ...] = ()
        match ctx.dialect.replace_via:
            case "transaction" if table_exists:
                # Dropped after the swap commits, in a transaction of its own: a session still
                # reading the old table keeps it until that session ends (DROP waits for it), where
                # a DROP inside the swap's transaction would cut it off.
                drop = ctx.dialect.drop_table(old, if_exists=True)
                after = (sql(drop, "drop the old table (waits for sessions still reading it)"),)
            case "transaction" | "location_swap":
                pass  # no old table, or dropped in the change (swap)
            case unknown:
                assert_never(unknown)
        return Body(source.steps, change=change, tidy=source.tidy, after=after, notes=notes)

    def after(self, ctx: Context, body: Body) -> TableState | None:
        # The replacement has the old table's grants and owner (kept_access).
        state = super().after(ctx, body)
        old = ctx.view.table if ctx.view else None
        if state is None or old is None or isinstance(state.own, HiveTable):
            return state  # Hive: no owner, grants, layout or column facts to keep
        layout, _ = kept_layout(ctx)
        facts = kept_state(ctx, kept_definition(ctx, ctx.made("__new"), layout))
        was = old.of(CatalogTable)
        kept = type(was)(owner=was.owner, owner_only=was.owner_only, grants=was.grants, facts=facts)
        if isinstance(kept, RedshiftTable):
            kept = replace(kept, layout=layout)
        return replace(state, own=kept)

    def leftovers(self, ctx: Context) -> tuple[Step, ...]:
        # An apply stopped between the swap's COMMIT and the old table's drop leaves
        # <table>__old_<stamp> of a publication the ledger holds as done: drop it now.
        if ctx.view is None:
            return ()
        stamps = dict.fromkeys(e.stamp for e in ctx.view.entries if e.state == "done" and e.stamp)
        olds = (ctx.relation.renamed(names_for(ctx.relation.name, s)[3]) for s in stamps)
        return tuple(
            sql(ctx.dialect.drop_table(old, if_exists=True), "drop the old table an interrupted apply left")
            for old in olds
            if exists(ctx, old)
        )

    def recover(self, ctx: Context, interrupted: ledger.Entry) -> Recovery:
        made = interrupted_names(ctx, interrupted)
        old, relation = made["old"], ctx.relation
        steps: list[Step] = []
        outcome: Recovery = Recovery()
        table_now = ctx.view is not None and ctx.view.table is not None
        if not table_now and exists(ctx, old):
            steps.append(sql(ctx.dialect.rename(old, relation.name), "put the old table back"))
            note = table_missing(relation, old) + ": this apply puts it back first"
            outcome = Recovery(outcome="restored", note=note)
        elif table_now and exists(ctx, old):
            steps.append(sql(ctx.dialect.drop_table(old), "drop the old table"))
            outcome = Recovery(outcome="complete")
        steps += drop_if_there(ctx, made["new"], "drop the unfinished replacement of the interrupted publish")
        return Recovery(tuple(steps), outcome.outcome, outcome.note)


def _external_in_the_default_folder(ctx: Context, table: TableState) -> bool:
    """Hive: an external table stored where a managed table of its name would be, whose folder
        stays there when the table is renamed aside, where the replacement is a managed table (whose
    folder a RENAME moves to the name's). Not a table Hive 4 made plain and translated,
        on an engine whose RENAME moves such a table's folder (which frees the name's folder for the
        replacement: dropAndLoad over such a table measured on Apache Hive 4.0.1)."""
    home = ctx.view.namespace_location if ctx.view else None
    hive = table.of(HiveTable)
    moves = hive.translated and ctx.dialect.rename_moves_translated
    if hive.managed or moves or ctx.dialect.creates_external or ctx.dialect.replace_via != "location_swap":
        return False
    if not table.location or not home:
        return False
    return location.same(table.location, new_location(home, ctx.relation))


def table_missing(relation: Relation, old: Relation) -> str:
    """What a dropAndLoad stopped between its two renames leaves: no table by that name."""
    return (
        f"interrupted: table {relation} is missing (an apply stopped between its renames; its rows are in {old.name})"
    )


def dropped_columns(ctx: Context) -> tuple[str, ...]:
    """A note listing the old table's columns the replacement will not have (the results lack
    them), each with its type; an IDENTITY column named as such: it goes with its sequence.
    A note, not a refusal: dropAndLoad recreates the table from the results by definition."""
    table = ctx.view.table if ctx.view else None
    if table is None:
        return ()
    names = {c.name for c in ctx.columns}
    facts = table.of(CatalogTable).facts
    gone, identities = [], []
    for col in table.columns:
        if ctx.dialect.fold(col.name) in names or ctx.dialect.fold(col.name) in ctx.partitioning.names:
            continue
        identity = facts.column(col.name).identity if facts is not None else None
        if identity is not None:
            seed, _, step = identity.partition(",")
            gone.append(f"{col.name} {col.type} IDENTITY({seed}, {step})")
            identities.append(col.name)
        else:
            gone.append(f"{col.name} {col.type}")
    if not gone:
        return ()
    note = "columns of the old table the new one will not have (the results lack them; their values go): "
    note += ", ".join(gone)
    if identities:
        note += (
            f"; {', '.join(identities)} {'is an IDENTITY column' if len(identities) == 1 else 'are IDENTITY columns'}"
            ": lost, with its sequence (truncateAndLoad and load keep the table's definition)"
        )
    return (note,)


def kept_layout(ctx: Context) -> tuple[Layout, tuple[str, ...]]:
    """The spec's distribution and sort keys; where it gives none, the old table's, as far as
    the results still have those columns (a compound sort key up to the first one missing)."""
    spec, table = ctx.spec.layout, ctx.view.table if ctx.view else None
    old = table.of(RedshiftTable).layout if table is not None else Layout()
    names = {c.name for c in ctx.columns}
    notes: list[str] = []
    style, dist_key = spec.dist_style, spec.dist_key
    if style is None and old.dist_style:
        if old.dist_key is None or old.dist_key in names:
            style, dist_key = old.dist_style, old.dist_key
            notes.append(f"kept from the old table: DISTSTYLE {style}" + (f" DISTKEY ({dist_key})" if dist_key else ""))
        else:
            notes.append(f"not kept: the old table's DISTKEY ({old.dist_key}), a column the results do not have")
    sort_keys = spec.sort_keys
    if not sort_keys and old.sort_keys:
        present = tuple(takewhile(lambda k: k in names, old.sort_keys))
        if present:
            sort_keys = present
            notes.append(f"kept from the old table: SORTKEY ({', '.join(present)})")
        lost = old.sort_keys[len(present) :]
        if lost:
            notes.append(
                f"not kept: the old table's sort key columns {', '.join(lost)} (the results have no {lost[0]}; "
                "a compound sort key is kept up to it)"
            )
    return Layout(style, dist_key, sort_keys), tuple(notes)


def kept_access(ctx: Context, new: Relation) -> tuple[tuple[Step, ...], tuple[str, ...]]:
    """The old table's grants and owner given to ``new`` (the same table to its users), in the
    swap's transaction; and notes on the privileges that are not copied."""
    table = ctx.view.table.of(CatalogTable) if ctx.view and ctx.view.table else None
    if table is None:
        return (), ()
    late_binding_views = ctx.view.table.of(RedshiftTable).late_binding_views if ctx.view and ctx.view.table else ()
    steps = [sql(ctx.dialect.grant(new, g), f"keep the grant to {g.label()}") for g in table.grants]
    if table.owner:
        # Owned by another user: the publisher is a superuser (else refused), who may give it back.
        steps.append(sql(ctx.dialect.set_owner(new, table.owner), f"keep the owner, {table.owner}"))
    notes: tuple[str, ...] = ()
    if table.ungranted:
        notes = (
            "not copied onto the new table (privileges other than SELECT, INSERT, UPDATE, DELETE, REFERENCES): "
            + "; ".join(table.ungranted),
        )
    if table.unseen_grants:
        notes += (table.unseen_grants,)
    if late_binding_views:
        # AWS, "CREATE VIEW", late-binding views: no dependency on the table, so DROP and RENAME
        # leave them be; each query binds to the table that has the name then.
        notes += (
            f"late-binding views read the table ({', '.join(late_binding_views)}; WITH NO SCHEMA BINDING): "
            "kept as they are, not dropped or re-created; they read the new table from the swap's COMMIT on",
        )
    return tuple(steps), notes


def swap(ctx: Context, new: Relation, old: Relation, table_exists: bool) -> tuple[Step, ...]:
    """Put ``new`` in the place of the table, the table moved aside as ``old``; dropping
    ``old`` is the caller's (in the change without transactions, after the COMMIT with them)."""
    dialect, relation = ctx.dialect, ctx.relation
    if not table_exists:
        return (sql(dialect.rename(new, relation.name), "the replacement takes the table's name"),)
    match dialect.replace_via:
        case "transaction":
            # Refused at plan time if views were bound to it; one made since would follow the
            # renamed table and block its drop: stop before anything moves.
            no_views: tuple[Step, ...] = ()
            if dialect.views_bind_tables:
                purpose = "check that no view is bound to the table (one made since the plan would follow it aside)"
                no_views = (RowCheck((dialect.bound_views(relation),), purpose, checks=("rows",), expect=(0,)),)
            if dialect.keys_bind_tables:
                purpose = "check that no other table's foreign key refers to the table (it would block the drop)"
                no_views += (RowCheck((dialect.referencing_keys(relation),), purpose, checks=("rows",), expect=(0,)),)
            return (
                *no_views,
                sql(dialect.rename(relation, old.name), "move the old table aside (ROLLBACK on failure moves it back)"),
                sql(dialect.rename(new, relation.name), "the replacement takes the table's name"),
            )
        case "location_swap":
            # No transaction: each rename has its undo, and the old table is dropped in the change.
            return (
                sql(
                    dialect.rename(relation, old.name),
                    "move the old table aside",
                    undo=sql(dialect.rename(old, relation.name), "put the old table back"),
                ),
                sql(
                    dialect.rename(new, relation.name),
                    "the replacement takes the table's name",
                    undo=sql(dialect.rename(relation, new.name), "move the replacement out again"),
                ),
                sql(dialect.drop_table(old), "drop the old table"),
            )
        case unknown:
            assert_never(unknown)
