"""Retention (keepLast, keepFor) on every engine, through the ``target`` fixture: only the
tables the ledger says the publisher made go, never one a view reads or one made by hand,
never before the publication committed, each once."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

from publisher.apply.executor import Executor
from publisher.engines.pool import Pool
from publisher.inputs.project import load_project
from publisher.model.plan import Plan, RetireTable, Step
from publisher.workflow import apply_plan, make_plan
from tests.integration.conftest import Target

STAMPED = re.compile(r"t_\d{14}")


def stamped(target: Target) -> list[str]:
    """The timestamped tables of ``t``, oldest first."""
    return sorted(n for n in target.tables() if STAMPED.fullmatch(n))


def publish(target: Target, job: int, **keys: Any) -> str:
    """Publishes job ``job`` on its own; the table it made."""
    target.results(job, job * 10, 2)
    spec = target.spec(f"p{job}", "createAndLoad", job, **keys)
    before = set(stamped(target))
    result = target.project.run("apply", f"specs/{spec.name}")
    assert result.code == 0, result.err
    (made,) = set(stamped(target)) - before
    return made


def retired_rows(target: Target) -> list[str]:
    rows = target.fetch(f"SELECT published_table FROM {target.ledger_table()} WHERE state = 'retired'")
    return sorted(str(r[0]).rsplit(".", 1)[-1] for r in rows)


def view_sql(target: Target, name: str, table: str) -> str:
    if target.is_hive:
        return f"CREATE VIEW `{target.database}`.`{name}` AS SELECT * FROM `{target.database}`.`{table}`"
    return f"CREATE VIEW {target.engine.qualified(name)} AS SELECT * FROM {target.engine.qualified(table)}"


def test_keep_last_two_after_five_publications_leaves_the_two_newest(target: Target) -> None:
    made = [publish(target, job, keepLast=2) for job in range(1, 6)]
    assert sorted(stamped(target)) == sorted(made[-2:])
    assert retired_rows(target) == sorted(made[:3])
    # Re-apply: nothing to publish, nothing retired twice.
    again = target.project.run("apply")
    assert again.code == 0, again.err
    assert retired_rows(target) == sorted(made[:3]) and sorted(stamped(target)) == sorted(made[-2:])


def test_keep_for_retires_what_the_moved_clock_makes_old(target: Target) -> None:
    for job in (1, 2, 3):
        publish(target, job, keepFor="30d")
    tables = stamped(target)
    assert len(tables) == 3, "all within 30 days: kept"
    with contextlib.chdir(target.project.root):
        config, specs = load_project(None, ["specs"])
    assert config is not None
    pool = Pool(config)
    try:
        later = datetime.now(UTC) + timedelta(days=31)
        plan = make_plan(config, specs, pool, offline=False, now=later, retire_only=True)
        outcomes = apply_plan(plan, config, pool)
    finally:
        pool.close()
    assert not [o for o in outcomes if o.error]
    assert stamped(target) == tables[-1:], "31 days on, all but the newest are old"
    assert retired_rows(target) == tables[:-1]


def test_a_hand_made_table_with_a_matching_name_is_kept(target: Target) -> None:
    hand = "t_20200101000000"
    target.execute(
        f"CREATE TABLE `{target.database}`.`{hand}` (id INT)"
        if target.is_hive
        else f"CREATE TABLE {target.engine.qualified(hand)} (id INT)"
    )
    for job in (1, 2, 3):
        publish(target, job, keepLast=1)
    assert hand in stamped(target)
    assert hand not in retired_rows(target)
    assert len(stamped(target)) == 2  # the hand-made one and the newest


def test_a_table_a_view_reads_is_kept_and_the_plan_names_the_view(target: Target) -> None:
    publish(target, 1, keepLast=1)
    first = stamped(target)[0]
    target.execute(view_sql(target, "v_first", first))
    target.results(2, 20, 2)
    target.spec("p2", "createAndLoad", 2, keepLast=1)
    plan = target.project.run("plan", "specs/p2.yaml")
    assert plan.code == 0, plan.err
    assert f"retention keeps {first}" in plan.out and "v_first" in plan.out
    assert target.project.run("apply", "specs/p2.yaml").code == 0
    assert first in stamped(target)
    assert target.count("v_first") == 2


@contextlib.contextmanager
def failing(purpose_starts: str, error: type[BaseException] = RuntimeError) -> Iterator[None]:
    """Every step whose purpose starts so fails (or, with a BaseException, kills the apply)."""
    original = Executor._execute

    def execute(self: Executor, step: Step) -> Any:
        if step.purpose.startswith(purpose_starts) and not self.dry_run:
            raise error(f"injected: {step.purpose}")
        return original(self, step)

    Executor._execute = execute  # type: ignore[method-assign]
    try:
        yield
    finally:
        Executor._execute = original  # type: ignore[method-assign]


def test_the_publication_before_a_failed_one_is_never_retired(target: Target) -> None:
    publish(target, 1, keepLast=1)
    first = stamped(target)
    target.results(2, 20, 2)
    target.spec("p2", "createAndLoad", 2, keepLast=1)
    with failing("check the table holds"):
        failed = target.project.run("apply", "specs/p2.yaml")
    assert failed.code == 1
    assert stamped(target) == first and retired_rows(target) == []


class Crash(BaseException):
    """The process dies: no undo, no cleanup."""


def test_crash_after_the_publication_before_its_retirements_then_reapply(target: Target) -> None:
    publish(target, 1, keepLast=1)
    first = stamped(target)
    target.results(2, 20, 2)
    target.spec("p2", "createAndLoad", 2, keepLast=1)
    with failing("retire", Crash), contextlib.suppress(Crash):
        target.project.run("apply", "specs/p2.yaml")
    assert len(stamped(target)) == 2, "published, not yet retired"
    plan = target.project.run("plan", "specs/p2.yaml")
    assert "published, to finish" in plan.out or "unfinished" in plan.out, plan.out
    again = target.project.run("apply", "specs/p2.yaml")
    assert again.code == 0, again.err
    assert first[0] not in stamped(target) and len(stamped(target)) == 1
    assert retired_rows(target) == first
    assert target.count(stamped(target)[0]) == 2, "published once"


def test_two_applies_at_once_retire_each_table_once(target: Target) -> None:
    """Both planned before either runs (each plans the same retirements), then run at once, each
    on connections of its own: the lock and the ledger's 'retired' count let one drop each."""
    for job in (1, 2, 3):
        publish(target, job)  # no retention yet: three tables
    tables = stamped(target)
    for job in (1, 2, 3):
        target.spec(f"p{job}", "createAndLoad", job, keepLast=1)
    with contextlib.chdir(target.project.root):
        config, specs = load_project(None, ["specs"])
    assert config is not None
    pool = Pool(config)
    try:
        first = make_plan(config, specs, pool, offline=False, retire_only=True)
        second = make_plan(config, specs, pool, offline=False, retire_only=True)
    finally:
        pool.close()
    planned = [s.table for p in first.pending for s in p.steps if isinstance(s, RetireTable)]
    assert len(planned) == 6  # each of the three specs retires the two older tables

    def run(plan: Plan) -> list[str]:
        own = Pool(config)  # drivers' connections are not shared across threads
        try:
            return [str(o.error) for o in apply_plan(plan, config, own) if o.error]
        finally:
            own.close()

    with ThreadPoolExecutor(max_workers=2) as threads:
        errors = list(threads.map(run, (first, second)))
    assert errors == [[], []]
    assert stamped(target) == tables[-1:]
    assert retired_rows(target) == tables[:-1], "each recorded retired once"


def test_publisher_retire_dry_run_lists_and_runs_nothing_then_retires(target: Target) -> None:
    for job in (1, 2, 3):
        publish(target, job)
    tables = stamped(target)
    for job in (1, 2, 3):
        target.spec(f"p{job}", "createAndLoad", job, keepLast=2)
    dry = target.project.run("retire", "--dry-run")
    assert dry.code == 0, dry.err
    assert tables[0] in dry.out and "would be retired" in dry.out
    assert stamped(target) == tables
    real = target.project.run("retire")
    assert real.code == 0, real.err
    assert stamped(target) == tables[1:]
    assert retired_rows(target) == tables[:1]


def test_a_saved_plan_keeps_its_retirements_and_is_refused_once_they_changed(target: Target) -> None:
    for job in (1, 2):
        publish(target, job)
    tables = stamped(target)
    target.results(3, 30, 2)
    target.spec("p3", "createAndLoad", 3, keepLast=1)
    saved = target.project.run("plan", "specs/p3.yaml", "-o", "plan.json")
    assert saved.code == 0, saved.err
    text = (target.project.root / "plan.json").read_text()
    assert text.count('"kind": "retire_table"') == 2 and all(t in text for t in tables)
    # Another run retires the older table first: the saved plan no longer says what would happen.
    assert target.project.run("retire", "specs/p3.yaml").code == 0
    assert stamped(target) == tables[1:]
    stale = target.project.run("apply", "plan.json")
    assert stale.code == 1 and "the tables retention would retire changed" in stale.err, stale.err
    applied = target.project.run("apply", "specs/p3.yaml")
    assert applied.code == 0, applied.err
    assert len(stamped(target)) == 1 and retired_rows(target) == tables
