"""create: a new, empty table <table>_<stamp> with the results' columns."""

from __future__ import annotations

from publisher.planning import ledger
from publisher.planning.actions.base import Recovery, Strategy
from publisher.planning.context import Body, Context
from publisher.planning.recovery import drop_if_there, interrupted_names


class Create(Strategy):
    action = "create"
    loads_rows = False
    makes_timestamped_table = True
    spec_keys = frozenset({"keepLast", "keepFor"})

    def plan(self, ctx: Context, *, restored: bool) -> Body:
        made = ctx.made("")
        return Body(change=(ctx.create(made, "create the new, empty table"), *ctx.described(made)), written=made)

    def recover(self, ctx: Context, interrupted: ledger.Entry) -> Recovery:
        return recover_timestamped(ctx, interrupted)


def recover_timestamped(ctx: Context, interrupted: ledger.Entry) -> Recovery:
    """The interrupted publish's new table was never recorded as done: it goes."""
    made = interrupted_names(ctx, interrupted)["table"]
    return Recovery(drop_if_there(ctx, made, "drop the table of the interrupted publish (never recorded as done)"))
