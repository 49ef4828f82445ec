"""Crash recovery on every target (the ``target`` fixture): an apply dies at step N of a
publication, for each N in turn (and once just after the step that publishes it); the next apply
publishes it exactly once. The table then holds exactly the right rows, the ledger one 'done' row
for the job, the schema no ``__`` table (staging, twin, old table, lock); a death after the
publication's COMMIT leaves nothing for the next apply to publish. How an apply dies is the only
part that differs by target: tests/crashing.py."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.crashing import die_at, pending_steps
from tests.integration.conftest import Target
from tests.integration.test_gitops import summary
from tests.integration.test_merge_and_evolution import merged, publish, results
from tests.resultfiles import rows

ACTIONS = ["load", "truncateAndLoad", "dropAndLoad", "createAndLoad", "merge"]

SERVER_STRIDE = 4
"""A Hive server dies at every fourth step only (2, 6, 10, ...): each of its statements costs
seconds, and a round is a killed apply, a re-apply and the base's re-publication (about 6 s).
Every step of the same plans still dies on the embedded Hive."""


def stride(target: Target) -> tuple[int, int]:
    """(first step, stride) of the deaths on ``target``."""
    return (2, SERVER_STRIDE) if target.is_hive and target.kind != "embedded" else (1, 1)


def published_at(steps: list[dict[str, Any]]) -> int:
    """The step after which the publication is durable: its transaction's COMMIT, or (Hive, no
    transactions) the ledger's 'done' row."""
    commits = [i for i, s in enumerate(steps, 1) if s["kind"] == "commit" and not s.get("after_publish")]
    if commits:
        return commits[0]
    return [i for i, s in enumerate(steps, 1) if s["kind"] == "ledger_record"][-1]


def change(target: Target, action: str, job: int) -> list[dict[str, Any]]:
    """The spec b_change publishing job ``job`` by ``action``; returns the rows it publishes.
    A merge's results replace ids 15..20 of the base (other values) and add 21..24."""
    if action == "merge":
        publish(target, results(target, job, 15, 10, tricky=True), job)
        target.spec("b_change", action, job, mergeKeys=["id"])
        return rows(15, 10, tricky=True)
    new = target.results(job, 500, 7)
    target.spec("b_change", action, job)
    return new


@pytest.mark.slow
@pytest.mark.parametrize("action", ACTIONS)
def test_death_at_every_step_then_reapply_publishes_exactly_once(target: Target, action: str) -> None:
    project = target.project
    base = target.results(10, 1, 20)
    target.spec("a_base", "dropAndLoad", 10)
    assert project.run("apply").code == 0
    change(target, action, 11)
    steps = pending_steps(project)
    purposes = [s["purpose"] for s in steps]
    commit_at = published_at(steps)
    assert len(steps) >= 8, purposes
    first, every = stride(target)
    rounds = [(n, False) for n in range(first, len(steps) + 1, every)]
    if commit_at + 1 not in range(first, len(steps) + 1, every):
        # Dying just after the publishing step is dying before the next one: once is enough.
        rounds.append((commit_at, True))

    for number, (step_number, after) in enumerate(rounds, start=1):
        # Each round publishes a new job's results (a new publication) onto the base table.
        job = 100 + number
        new = change(target, action, job)
        before = target.tables()
        where = f"{target.kind}: died {'after' if after else 'at'} step {step_number} ({purposes[step_number - 1]})"
        die_at(target.kind, project, step_number, after=after)
        again = project.run("apply")
        assert again.code == 0, f"re-apply failed, {where}: {again.err}"
        if step_number > commit_at or after:
            assert summary(again.out)[0] == 0, f"{where}: the publication had committed, yet was published again"
        now = target.tables()
        if action == "createAndLoad":
            made = now - before
            assert len(made) == 1, (where, made)
            assert target.rows(made.pop()) == target.expected(new), where
        else:
            want = {"load": base + new, "merge": merged(base, new)}.get(action, new)
            assert target.rows("t") == target.expected(want), where
        done = target.fetch(f"SELECT COUNT(*) FROM {target.ledger_table()} WHERE state = 'done' AND job_group = {job}")
        assert int(done[0][0]) == 1, where
        assert not [n for n in now if "__" in n], f"leftovers, {where}"
        # Back to the base table for the next round.
        assert project.run("apply", "--force", "specs/a_base.yaml").code == 0
        if target.is_hive:
            time.sleep(1)  # a new second: a new plan stamp, so new names for staging and old tables
