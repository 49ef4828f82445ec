"""Golden recovery plans: each action on Hive (no transactions, so a killed apply leaves a
'pending' ledger row) interrupted at each point that leaves a different state, planned again
with a fixed clock. A reviewer reads what the next apply does first: what it drops, renames
back or finishes, and whether it then publishes again or only records the publish as done.
Redshift publishes in one transaction: a killed apply leaves nothing to recover (a test below).

The engine suites kill real applies at every step (tests/integration/test_gitops_*.py); these
files show the plans those states produce. UPDATE_GOLDEN=1 rewrites them.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import pytest

from publisher.model.errors import InvalidInput
from publisher.model.location import Location
from publisher.model.plan import Statement
from publisher.model.vocabulary import ACTIONS
from publisher.planning import ledger
from publisher.planning.actions import STRATEGIES
from publisher.planning.planner import plan_publication
from publisher.planning.view import TargetView
from publisher.reports.render import publication_text
from tests.test_planner_golden import (
    GOLDEN,
    HIVE_DATABASE_LOCATION,
    HIVE_LOCATION,
    NOW,
    make_results,
    make_spec,
    round_tripped,
    view,
)

OLD = "20261127090000"  # the interrupted publish's stamp
TWIN_FOLDER = HIVE_DATABASE_LOCATION.child(f"orders__new_{OLD}")

# (action, state): the tables the interrupted publish left, and what else the planner reads.
STATES: dict[tuple[str, str], dict[str, object]] = {
    ("create", "nothing made"): {},
    ("create", "table made"): {"names": {f"orders_{OLD}"}},
    ("createAndLoad", "staged"): {"names": {f"orders__stage_{OLD}"}},
    ("createAndLoad", "table made"): {"names": {f"orders__stage_{OLD}", f"orders_{OLD}"}},
    ("load", "before the insert"): {"names": {f"orders__stage_{OLD}"}, "rows": 500},
    ("load", "after the insert"): {"names": {f"orders__stage_{OLD}"}, "rows": 1500},
    ("truncateAndLoad", "twin loaded"): {"names": {f"orders__new_{OLD}"}, "twin_at": TWIN_FOLDER},
    ("truncateAndLoad", "between the swaps"): {
        "names": {f"orders__new_{OLD}"},
        "twin_at": TWIN_FOLDER,
        "table_at": TWIN_FOLDER,
    },
    ("truncateAndLoad", "after the swaps"): {
        "names": {f"orders__new_{OLD}"},
        "twin_at": HIVE_LOCATION,
        "table_at": TWIN_FOLDER,
    },
    # merge rebuilds into the same twin and swaps the same way: the same three states.
    ("merge", "twin loaded"): {"names": {f"orders__new_{OLD}"}, "twin_at": TWIN_FOLDER},
    ("merge", "between the swaps"): {"names": {f"orders__new_{OLD}"}, "twin_at": TWIN_FOLDER, "table_at": TWIN_FOLDER},
    ("merge", "after the swaps"): {"names": {f"orders__new_{OLD}"}, "twin_at": HIVE_LOCATION, "table_at": TWIN_FOLDER},
    ("dropAndLoad", "replacement built"): {"names": {f"orders__new_{OLD}"}},
    ("dropAndLoad", "between the renames"): {"names": {f"orders__new_{OLD}", f"orders__old_{OLD}"}, "no_table": True},
    ("dropAndLoad", "after the renames"): {"names": {f"orders__old_{OLD}"}},
}


def interrupted_view(action: str, state: dict[str, object]) -> TargetView:
    base = view("hive", action if not STRATEGIES[action].makes_timestamped_table else "load")
    entry = ledger.Entry(
        31, 27, 1, "default", "orders", action, "pending", "orders", 1000,
        500 if action == "load" else None, OLD, str(HIVE_LOCATION) if action in ("truncateAndLoad", "merge") else None,
        "spec.yaml", "0", "", "run", "2026-11-27 09:00:00",
    )  # fmt: skip
    table = None if state.get("no_table") else base.table
    if table is not None and "table_at" in state:
        table = replace(table, location=Location.parse(str(state["table_at"])))
    names = set(base.table_names) | set(state.get("names", set()))  # type: ignore[arg-type]
    if state.get("no_table"):
        names.discard("orders")
    locations = {f"orders__new_{OLD}": Location.parse(str(state["twin_at"]))} if "twin_at" in state else {}
    return replace(
        base,
        table=table,
        table_names=frozenset(names),
        entries=(entry,),
        row_count=state.get("rows"),  # type: ignore[arg-type]
        locations=locations,
    )


@pytest.mark.parametrize(("action", "state"), list(STATES), ids=[f"{a}-{s}" for a, s in STATES])
def test_recovery_plan(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, action: str, state: str) -> None:
    monkeypatch.chdir(tmp_path)
    spec = make_spec(tmp_path, "hive", action, "pqt")
    publication = plan_publication(
        spec, make_results("hive", "pqt"), interrupted_view(action, STATES[(action, state)]), NOW
    )
    text = publication_text(1, round_tripped(publication)).replace(str(tmp_path) + "/", "") + "\n"
    golden = GOLDEN / "recovery" / f"{action}_{state.replace(' ', '_')}.txt"
    if os.environ.get("UPDATE_GOLDEN"):
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(text)
    assert text == golden.read_text()


def test_every_action_has_a_strategy_golden_plans_and_recovery_plans() -> None:
    """Adding an action means a strategy module, golden plans per target and format, and
    golden recovery plans: this test names what is missing."""
    assert set(STRATEGIES) == set(ACTIONS)
    for action in ACTIONS:
        assert STRATEGIES[action].action == action
        assert any((GOLDEN / t / f"{action}_pqt.txt").exists() for t in ("hive", "redshift")), action
        assert any(a == action for a, _ in STATES), f"no recovery states for {action}"


def test_redshift_leaves_nothing_to_recover(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Redshift writes no 'pending' row (the publish is one transaction): a plan after a
    killed apply is the plain plan."""
    monkeypatch.chdir(tmp_path)
    for action in ACTIONS:
        spec = make_spec(tmp_path, "redshift", action, "pqt")
        publication = plan_publication(spec, make_results("redshift", "pqt"), view("redshift", action), NOW)
        assert not any("interrupted" in s.purpose for s in publication.steps), action
        assert not any("pending" in getattr(s, "text", "") for s in publication.steps), action


# Redshift's dropAndLoad commits the swap (with its 'done' row), then drops the old table in
# a transaction of its own: an apply stopped between the two leaves <table>__old_<stamp> of a
# publication the ledger holds as done. The next plan drops it, on its own when nothing is to
# publish (status unfinished), or after the COMMIT of a publication published again.
REDSHIFT_OLD_LEFT = ["published", "forced"]


@pytest.mark.parametrize("case", REDSHIFT_OLD_LEFT)
def test_redshift_old_table_left_after_commit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str) -> None:
    monkeypatch.chdir(tmp_path)
    spec = make_spec(tmp_path, "redshift", "dropAndLoad", "pqt")
    entry = ledger.Entry(
        *vars(spec.id).values(), "done", "analytics.orders", 1000, None, OLD, None, "spec.yaml",
        spec.content_hash, "", "run", "2026-11-27 09:00:00",
    )  # fmt: skip
    base = view("redshift", "dropAndLoad")
    seen = replace(base, entries=(entry,), table_names=base.table_names | {f"orders__old_{OLD}"})
    publication = plan_publication(spec, make_results("redshift", "pqt"), seen, NOW, force=case == "forced")
    assert publication.status == ("unfinished" if case == "published" else "pending")
    text = publication_text(1, round_tripped(publication)).replace(str(tmp_path) + "/", "") + "\n"
    golden = GOLDEN / "recovery" / f"redshift_dropAndLoad_old_left_{case}.txt"
    if os.environ.get("UPDATE_GOLDEN"):
        golden.write_text(text)
    assert text == golden.read_text()


def later(action: str, rows: int | None, job: int = 40) -> ledger.Entry:
    """A publication into ``orders`` by another job, recorded done after the interrupted load."""
    return ledger.Entry(
        job, 27, 1, "default", "orders", action, "done", "orders", rows, 600, "20261127100000", None,
        "other.yaml", "0", "", "run2", "2026-11-27 10:00:00",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("table_rows", "since", "outcome"),
    [
        (700, (later("load", 200),), "again"),  # another job appended 200 while the load lay interrupted
        (1700, (later("load", 200),), "complete"),  # ... and the interrupted 1000 went in before it
        (1700, (later("load", 150), later("load", 50, job=41)), "complete"),
        (1600, (later("load", 200),), "refused"),  # neither
        (1700, (later("truncateAndLoad", 200),), "refused"),  # a replace: the counts say nothing
    ],
)
def test_an_interrupted_load_counts_the_loads_recorded_since(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, table_rows: int, since: tuple[ledger.Entry, ...], outcome: str
) -> None:
    monkeypatch.chdir(tmp_path)
    spec = make_spec(tmp_path, "hive", "load", "pqt")
    state = interrupted_view("load", {"names": {f"orders__stage_{OLD}"}, "rows": table_rows})
    tv = replace(state, published_since=since)
    if outcome == "refused":
        with pytest.raises(InvalidInput, match="interrupted"):
            plan_publication(spec, make_results("hive", "pqt"), tv, NOW)
        return
    publication = plan_publication(spec, make_results("hive", "pqt"), tv, NOW)
    load = "INSERT INTO TABLE `default`.`orders` "
    inserts = [s for s in publication.steps if isinstance(s, Statement) and s.text.startswith(load)]
    assert bool(inserts) == (outcome == "again"), publication_text(1, publication)
