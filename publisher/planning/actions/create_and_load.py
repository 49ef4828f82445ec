"""createAndLoad: a new table <table>_<stamp> with the results' columns and rows."""

from __future__ import annotations

from publisher.planning import ledger
from publisher.planning.actions.base import Recovery, Strategy
from publisher.planning.actions.create import recover_timestamped
from publisher.planning.context import Body, Context


class CreateAndLoad(Strategy):
    action = "createAndLoad"
    makes_timestamped_table = True
    spec_keys = frozenset({"keepLast", "keepFor", "partition"})

    def plan(self, ctx: Context, *, restored: bool) -> Body:
        made = ctx.made("")
        source = ctx.source()
        change = (
            ctx.create(made, "create the new table"),
            *ctx.described(made),
            *ctx.insert(made, source, ctx.columns),
            *ctx.check(made),
        )
        return Body(source.steps, change=change, tidy=source.tidy, written=made, notes=ctx.unchecked_notes())

    def recover(self, ctx: Context, interrupted: ledger.Entry) -> Recovery:
        return recover_timestamped(ctx, interrupted)
