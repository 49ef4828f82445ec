"""Retention (keepLast, keepFor): which timestamped tables a spec retires, and the steps.

A candidate is only a table the ledger records the publisher making for this spec's table
(same connection, database, table name and project, ``made_for``) and not yet retired:
never a table made by hand, whatever its name. A candidate stays where something depends on
it: a view or a foreign key the catalog names (Redshift), a view whose SQL names it (Hive,
where views are not bound to tables: a text match), or a Hive table whose files are not its
own to delete. Retirements run after the publication's COMMIT, each on its own
(``RetireTable``): one that fails is a warning, and the publication stands.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from publisher.inputs.spec import Spec
from publisher.model.plan import Begin, LedgerRecord, RetireTable, RowCheck, Statement, Step, sql
from publisher.model.target import TableState, TargetTable
from publisher.planning import ledger
from publisher.planning.actions import STRATEGIES
from publisher.planning.context import Context

UNITS = {"m": timedelta(minutes=1), "h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}
DURATION = re.compile(r"([1-9][0-9]*)([mhdw])")
BATCH = 50
"""``publisher retire``: tables retired under one hold of the table's lock (Hive), so that a
publication into the table waits for one batch at most, never for the whole backlog."""


def duration(text: str) -> timedelta:
    """A keepFor duration ("30d", "12h") as a timedelta; the spec schema checked its form."""
    match = DURATION.fullmatch(text)
    assert match, text
    return int(match.group(1)) * UNITS[match.group(2)]


MAKERS = frozenset(action for action, strategy in STRATEGIES.items() if strategy.makes_timestamped_table)
"""The actions whose publications make a timestamped table <table>_<stamp> (retention's candidates)."""


def made_for(entry: ledger.Entry, spec: Spec) -> bool:
    """Whether the row records a timestamped table the publisher made, or retired, for the
    spec's table: same connection, database, table name and project (owned)."""
    mine = spec.id
    return (
        entry.action in MAKERS
        and entry.state in ("done", "retired")
        and (entry.connection_id, entry.database_name, entry.table_name)
        == (mine.connection_id, mine.database, mine.table)
        and entry.published_table != mine.table
        and ledger.owned(entry, spec.project)
    )


def asks(spec: Spec) -> bool:
    return spec.keep_last is not None or spec.keep_for is not None


@dataclass(frozen=True)
class Made:
    """A timestamped table the ledger says the publisher made, and when."""

    entry: ledger.Entry

    @property
    def name(self) -> str:
        return self.entry.published_table.rsplit(".", 1)[-1]

    @property
    def published(self) -> datetime | None:
        text = str(self.entry.published_at)[:19].replace("T", " ")
        try:
            return datetime.strptime(text, "%Y-%m-%d %H:%M:%S")
        except ValueError:
            return None


def due(spec: Spec, made: tuple[ledger.Entry, ...], now: datetime, *, new_table: bool) -> list[Made]:
    """The tables the spec's rules retire, oldest first. ``new_table``: the publication makes a
    new table now, the newest of all (it counts among keepLast's N); else the newest recorded
    one is never retired."""
    done: dict[str, ledger.Entry] = {}
    for entry in made:  # oldest first: a name made again after it was retired is a new table
        if entry.state == "done":
            done[entry.published_table] = entry
        else:
            done.pop(entry.published_table, None)
    # In the order they were published: a stamp is the plan's time, moved on past names in use.
    order = {id(e): i for i, e in enumerate(made)}
    newest_first = sorted((Made(e) for e in done.values()), key=lambda m: order[id(m.entry)], reverse=True)
    keep = 0 if new_table else 1  # the newest table is never retired
    if spec.keep_last is not None:
        keep = max(keep, spec.keep_last - (1 if new_table else 0))
    since = now.replace(tzinfo=None) - duration(spec.keep_for) if spec.keep_for else None
    chosen = []
    for index, made_table in enumerate(newest_first):
        if index < (1 if not new_table else 0):
            continue  # the newest
        by_count = spec.keep_last is not None and index >= keep
        when = made_table.published
        by_age = since is not None and when is not None and when < since
        if by_count or by_age:
            chosen.append(made_table)
    return list(reversed(chosen))


def kept_because(ctx: Context, table: TableState | None, views: tuple[tuple[str, str], ...], name: str) -> str:
    """Why the table must stay although the rules retire it; "" when it may go."""
    if table is None:
        return ""  # gone already (dropped by hand, or by an apply killed before its record): recorded only
    if table.view:
        return "it is a view now, not the table the publisher made"
    own = table.own or TargetTable()  # the target's own facts (nothing read: nothing to say)
    stay = own.must_stay()
    if stay:
        return stay
    dependents = list(own.dependents())
    word = re.compile(rf"(?<![A-Za-z0-9_]){re.escape(name)}(?![A-Za-z0-9_])", re.IGNORECASE)
    dependents += [f"view {ctx.relation.database}.{v} (its SQL names it)" for v, text in views if word.search(text)]
    if dependents:
        return f"{', '.join(dependents)} {'depends' if len(dependents) == 1 else 'depend'} on it"
    return own.drop_refused()


def plan(ctx: Context, now: datetime, *, new_table: bool) -> tuple[tuple[RetireTable, ...], tuple[str, ...]]:
    """The retirements of the spec's rules, and notes: what is retired, what is kept and why."""
    spec, view = ctx.spec, ctx.view
    if not asks(spec):
        return (), ()
    if view is None:
        return (), ("planned offline: retention (keepLast, keepFor) is planned against the target's ledger only",)
    steps, notes = [], []
    kept = []
    for made in due(spec, view.made, now, new_table=new_table):
        why = kept_because(ctx, view.made_tables.get(made.name), view.views, made.name)
        if why:
            kept.append(f"{made.name}: {why}")
        else:
            steps.append(retire_step(ctx, made))
    if steps:
        notes.append(f"retention retires {len(steps)} older table(s), after the publication committed")
    notes += [f"retention keeps {k}" for k in kept]
    return tuple(steps), tuple(notes)


def retire_step(ctx: Context, made: Made) -> RetireTable:
    dialect, spec, entry = ctx.dialect, ctx.spec, made.entry
    home = ledger.relation(spec)
    relation = spec.relation.renamed(made.name)
    shown = f"{relation.database}.{entry.published_table}"
    locks = tuple(s for s in dialect.lock(home) if isinstance(s, Statement))
    begin: tuple[Begin | Statement, ...] = (*dialect.begin(), *locks)
    end = dialect.commit()
    conditions = {
        "state": "retired",
        "connection_id": entry.connection_id,
        "database_name": entry.database_name,
        "table_name": entry.table_name,
        "published_table": entry.published_table,
    }
    where = " AND ".join(f"{dialect.quote(k)} = {dialect.literal(v)}" for k, v in conditions.items())
    retired = RowCheck(
        (f"SELECT COUNT(*) FROM {dialect.table(home)}\nWHERE {where}",),
        "skip if already retired (by a concurrent or earlier apply)",
        capture="retired",
    )
    record = ledger.record(
        dialect,
        home,
        spec,
        state="retired",
        published_table=entry.published_table,
        rows=None,
        stamp=entry.stamp,
        partitioned=_partitioned(ctx),
    )
    assert isinstance(record, LedgerRecord)
    drop = sql(dialect.drop_table(relation, if_exists=True), f"drop {shown}, published {str(entry.published_at)[:19]}")
    retire = (drop, LedgerRecord(record.sql, "record it retired in the ledger"))
    purpose = f"retire {shown} (retention: {_rules(spec)})"
    return RetireTable(shown, begin, retired, retire, end, purpose)


def _rules(spec: Spec) -> str:
    rules = []
    if spec.keep_last is not None:
        rules.append(f"keepLast {spec.keep_last}")
    if spec.keep_for is not None:
        rules.append(f"keepFor {spec.keep_for}")
    return ", ".join(rules)


def _partitioned(ctx: Context) -> bool:
    view = ctx.view
    return ctx.dialect.ledger_partitioned and (view is None or not view.ledger_exists or view.ledger_partitioned)


def framed(ctx: Context, steps: tuple[Step, ...], *, locked: bool) -> tuple[Step, ...]:
    """``steps`` (retirements) under the table's lock where the dialect takes one (Hive), in
    batches of BATCH; ``locked``: the publication holds it already."""
    if locked or not steps:
        return steps
    dialect, relation = ctx.dialect, ctx.spec.relation
    out: list[Step] = []
    for start in range(0, len(steps), BATCH):
        out += [*dialect.table_lock(relation, ledger.relation(ctx.spec)), *steps[start : start + BATCH]]
        out += dialect.table_unlock(relation)
    return tuple(out)
