"""Shared pieces of recovering an interrupted publish: the tables it made, by name."""

from __future__ import annotations

from publisher.model.plan import Step, sql
from publisher.model.relation import Relation
from publisher.planning import ledger
from publisher.planning.context import Context
from publisher.planning.view import names_for


def interrupted_names(ctx: Context, interrupted: ledger.Entry) -> dict[str, Relation]:
    """The tables the interrupted publish may have made: table, stage, new, old."""
    names = names_for(ctx.relation.name, interrupted.stamp)
    return {kind: ctx.relation.renamed(n) for kind, n in zip(("table", "stage", "new", "old"), names, strict=True)}


def exists(ctx: Context, relation: Relation) -> bool:
    return ctx.view is not None and relation.name in ctx.view.table_names


def drop_if_there(ctx: Context, relation: Relation, why: str) -> tuple[Step, ...]:
    if not exists(ctx, relation):
        return ()
    return (sql(ctx.dialect.drop_table(relation, if_exists=True), why),)
