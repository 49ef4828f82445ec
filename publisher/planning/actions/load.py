"""load: append the results' rows to an existing table with matching columns."""

from __future__ import annotations

from publisher.dialects.base import count_capture
from publisher.model.errors import InvalidInput
from publisher.planning import ledger
from publisher.planning.actions.base import Recovery, Strategy, table_columns
from publisher.planning.context import Body, Context

BEFORE = "before"


class Load(Strategy):
    action = "load"
    needs_table = True
    writes_into_table = True
    appends = True
    spec_keys = frozenset({"onSchemaChange", "partition"})
    reads = frozenset({"row_count", "namespace_location"})

    def plan(self, ctx: Context, *, restored: bool) -> Body:
        source = ctx.source()
        into = ctx.relation
        # Counting a column's values of the whole table appended to would scan all of it: only
        # where the results are staged (and counted there) are their values checked.
        notes = ctx.unchecked_notes(values=ctx.dialect.stages_results, in_table=False)
        if ctx.view is None:
            notes += ("offline: assumed the table exists with the results' columns",)
        fit = table_columns(ctx, source.columns)
        notes += fit.notes(ctx)
        if ctx.dialect.counts_changed_rows:
            # In the load's transaction, the engine's count of the rows it added says what
            # COUNT(*) before and after would, without two passes over the table.
            change = (*fit.steps(ctx), *ctx.insert(into, source, fit.inserted, counted=True))
            return Body(source.steps, change=change, tidy=source.tidy, notes=notes)
        change = (
            *fit.steps(ctx),
            *ctx.insert(into, source, fit.inserted),
            *ctx.check(into, plus=BEFORE),
        )
        return Body(
            source.steps,
            before=(count_capture(ctx.dialect, into, BEFORE),),
            change=change,
            tidy=source.tidy,
            rows_before=BEFORE,
            notes=notes,
        )

    def recover(self, ctx: Context, interrupted: ledger.Entry) -> Recovery:
        """An append cannot be undone by name: compare the table's rows with what the ledger
        recorded before it, plus the rows of the loads recorded done into the table since
        (another job's append while this one lay interrupted). Finished: complete; untouched:
        publish again; else refuse."""
        before, rows = interrupted.rows_before, interrupted.row_count
        now = ctx.view.row_count if ctx.view else None
        since = ctx.view.published_since if ctx.view else ()
        other = next((e for e in since if e.action != "load" or e.row_count is None), None)
        if before is not None and other is not None:
            raise InvalidInput(
                f"load into {ctx.relation} was interrupted, and {other.action} of job group {other.job_group} "
                f"changed the table since (at {str(other.published_at)[:19]} UTC): whether the interrupted rows "
                "are in it cannot be told. Check the table, then publish with --force",
                ctx.spec.location,
            )
        added = sum(e.row_count or 0 for e in since)
        if before is not None and rows is not None and now == before + added + rows:
            return Recovery(outcome="complete")
        if before is not None and now != before + added:
            also = f" (with {added} rows loaded by {len(since)} later publication(s))" if since else ""
            raise InvalidInput(
                f"load into {ctx.relation} was interrupted, and the table now has {now} rows: neither the "
                f"{before + added} it had before{also} nor {before + added} + {rows}. Check the table, then "
                "publish with --force",
                ctx.spec.location,
            )
        return Recovery()
