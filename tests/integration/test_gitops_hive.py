"""GitOps on Hive: exactly once across crashes and kills. What every target shows (re-apply,
saved and stale plans, --force) is in test_gitops.py."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from publisher.apply.executor import Executor
from publisher.model.plan import Step
from tests.conftest import HiveEngine, Project, scan_outputs
from tests.integration.test_apply_hive import expected, spec, table_rows, use
from tests.resultfiles import write

pytestmark = pytest.mark.hive


class Crash(BaseException):
    """The process dies: no undo, no cleanup (BaseException passes every `except Exception`)."""


@contextlib.contextmanager
def crash_at(step_number: int) -> Iterator[list[str]]:
    """Kills the apply when it reaches its ``step_number``-th executed statement; every
    statement after that fails too, as it would in a dead process. Yields what ran."""
    original = Executor._execute
    ran: list[str] = []

    def execute(self: Executor, step: Step) -> Any:
        if len(ran) + 1 >= step_number:
            ran.append(step.purpose)
            raise Crash(step.purpose)
        ran.append(step.purpose)
        return original(self, step)

    Executor._execute = execute  # type: ignore[method-assign]
    try:
        yield ran
    finally:
        Executor._execute = original  # type: ignore[method-assign]


def steps_of(project: Project) -> int:
    plan = json.loads(project.run("plan", "--format", "json").out)
    return sum(len(p["steps"]) for p in plan["publications"] if p["status"] == "pending")


def crash_then_reapply(project: Project, step_number: int) -> str:
    with crash_at(step_number) as ran, contextlib.suppress(Crash):
        project.run("apply")
    result = project.run("apply")
    assert result.code == 0, f"re-apply after a crash at step {step_number} ({ran[-1:]}) failed: {result.err}"
    return ran[-1] if ran else ""


@pytest.mark.parametrize("action", ["load", "truncateAndLoad", "dropAndLoad", "createAndLoad"])
def test_crash_at_every_step_then_reapply_publishes_exactly_once(
    project: Project, hive: HiveEngine, action: str
) -> None:
    if hive.kind != "embedded":
        pytest.skip("in-process crash injection; the server is covered by killing a real process")
    use(project, hive)
    base = write(project.results(10, 1), "pqt", 1, 20)
    write(project.results(11, 1), "pqt", 500, 7)
    spec(project, hive, "a_base", "dropAndLoad", "pqt", 10)
    assert project.run("apply").code == 0
    spec(project, hive, "b_change", action, "pqt", 11)
    total = steps_of(project)
    assert total > 5
    for step_number in range(1, total + 1):
        # Each round publishes a new job's results (a new publication) onto the base table.
        job = 100 + step_number
        new = write(project.results(job, 1), "pqt", 500, 7)
        spec(project, hive, "b_change", action, "pqt", job)
        where = crash_then_reapply(project, step_number)
        if action == "load":
            assert table_rows(hive, "t") == expected(base + new), where
        elif action in ("truncateAndLoad", "dropAndLoad"):
            assert table_rows(hive, "t") == expected(new), where
        else:
            made = [n for n in hive.tables() if n.startswith("t_") and "__" not in n]
            assert len(made) == 1, (where, made)
            assert table_rows(hive, made[0]) == expected(new)
            hive.target.execute(f"DROP TABLE `{hive.database}`.`{made[0]}`")
        assert not [n for n in hive.tables() if "__" in n], f"leftovers after a crash at {where}"
        assert project.run("apply", "--force", "specs/a_base.yaml").code == 0
        time.sleep(1)  # a new second: a new plan stamp


KILLER = """
import os, signal, sys
from publisher import cli
from publisher.apply.executor import Executor

original, ran = Executor._execute, []

def execute(self, step):
    ran.append(step)
    if len(ran) >= {step}:
        os.kill(os.getpid(), signal.SIGKILL)
    return original(self, step)

Executor._execute = execute
sys.exit(cli.main(["apply"]))
"""


@pytest.mark.slow
@pytest.mark.parametrize("action", ["load", "truncateAndLoad", "dropAndLoad"])
def test_killed_apply_then_reapply_publishes_exactly_once(project: Project, hive: HiveEngine, action: str) -> None:
    """A real process killed (SIGKILL) mid-publish, against the HiveServer2."""
    if hive.kind != "server":
        pytest.skip("a killed child process needs the server: the embedded metastore allows one process")
    import subprocess
    import sys

    use(project, hive)
    base = write(project.results(10, 1), "pqt", 1, 20)
    spec(project, hive, "a_base", "dropAndLoad", "pqt", 10)
    assert project.run("apply").code == 0
    spec(project, hive, "b_change", action, "pqt", 100)
    write(project.results(100, 1), "pqt", 500, 7)
    total = steps_of(project)
    for step_number in range(2, total + 1, 2):
        job = 100 + step_number
        new = write(project.results(job, 1), "pqt", 500, 7)
        spec(project, hive, "b_change", action, "pqt", job)
        killed = subprocess.run(
            [sys.executable, "-c", KILLER.replace("{step}", str(step_number))],
            cwd=project.root,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert killed.returncode == -9, killed.stderr
        scan_outputs(project.root, ["apply"], killed.stdout, killed.stderr)
        again = project.run("apply")
        assert again.code == 0, f"after a kill at step {step_number}: {again.err}"
        rows = table_rows(hive, "t")
        assert rows == (expected(base + new) if action == "load" else expected(new)), step_number
        assert not [n for n in hive.tables() if "__" in n], step_number
        assert project.run("apply", "--force", "specs/a_base.yaml").code == 0
        time.sleep(1)


@pytest.mark.slow
def test_readers_never_see_an_empty_table_during_truncate_and_load(project: Project, hive: HiveEngine) -> None:
    """A reader on another connection polls the table through the whole replace."""
    if hive.kind != "server":
        pytest.skip("a second connection needs the server")
    import threading

    from publisher.engines.hiveserver2 import HiveServer

    use(project, hive)
    write(project.results(10, 1), "pqt", 1, 50_000, parts=4)
    write(project.results(11, 1), "pqt", 100_000, 80_000, parts=4)
    spec(project, hive, "a", "dropAndLoad", "pqt", 10)
    assert project.run("apply").code == 0
    spec(project, hive, "b", "truncateAndLoad", "pqt", 11)
    counts: list[int] = []
    errors: list[str] = []
    done = threading.Event()
    host, port = hive.connection["host"], hive.connection["port"]

    def poll() -> None:
        reader = HiveServer(host, port, username="reader")
        try:
            while not done.is_set():
                try:
                    counts.append(int(reader.fetch(f"SELECT COUNT(*) FROM `{hive.database}`.`t`")[0][0]))
                except Exception as exc:  # noqa: BLE001 - every failure is a finding
                    errors.append(str(exc))
        finally:
            reader.close()

    thread = threading.Thread(target=poll)
    thread.start()
    try:
        result = project.run("apply")
    finally:
        done.set()
        thread.join()
    assert result.code == 0, result.err
    assert len(counts) > 5
    assert set(counts) <= {50_000, 80_000}, sorted(set(counts))
    assert errors == []
    assert hive.count("t") == 80_000


def test_saved_plan_with_a_table_made_earlier_in_the_plan(project: Project, hive: HiveEngine) -> None:
    """A spec loading into a table that an earlier spec of the same plan creates (the example
    project does this): the saved plan is not stale for it."""
    use(project, hive)
    first = write(project.results(10, 1), "pqt", 1, 6)
    more = write(project.results(11, 1), "pqt", 100, 4)
    spec(project, hive, "a", "dropAndLoad", "pqt", 10)
    spec(project, hive, "b", "load", "pqt", 11)
    assert project.run("plan", "-o", "plan.json").code == 0
    result = project.run("apply", "plan.json")
    assert result.code == 0, result.err
    assert table_rows(hive, "t") == expected(first + more)


def test_a_drop_and_load_stopped_between_its_renames_is_named_by_plan_and_status(
    project: Project, hive: HiveEngine
) -> None:
    """The table is missing until the next apply: plan and status say so, and apply puts the old
    rows back before publishing."""
    if hive.kind != "embedded":
        pytest.skip("in-process crash injection")
    use(project, hive)
    write(project.results(10, 1), "pqt", 1, 5)
    spec(project, hive, "a_base", "dropAndLoad", "pqt", 10)
    assert project.run("apply").code == 0
    new = write(project.results(11, 1), "pqt", 500, 7)
    spec(project, hive, "b_change", "dropAndLoad", "pqt", 11)
    plan = json.loads(project.run("plan", "--format", "json").out)
    (pub,) = [p for p in plan["publications"] if p["status"] == "pending"]
    purposes = [s["purpose"] for s in pub["steps"]]
    second_rename = purposes.index("the replacement takes the table's name") + 1
    with crash_at(second_rename), contextlib.suppress(Crash):
        project.run("apply")
    assert "t" not in hive.tables()
    status = project.run("status").out
    assert "interrupted: table" in status and "is missing" in status and ": run apply" in status, status
    planned = project.run("plan").out
    assert "is missing (an apply stopped between its renames" in planned and "puts it back first" in planned
    assert project.run("apply").code == 0
    assert table_rows(hive, "t") == expected(new)
