"""GitOps on Hive: readers during a replace, a table made earlier in a saved plan, a dropAndLoad
stopped between its renames. What every target shows (re-apply, saved and stale plans, --force,
a death at every step) is in test_gitops.py and test_crash_recovery.py."""

from __future__ import annotations

import contextlib
import json

import pytest

from tests.conftest import HiveEngine, Project
from tests.crashing import Crash, crash_at
from tests.integration.test_apply_hive import expected, spec, table_rows, use
from tests.resultfiles import write

pytestmark = pytest.mark.hive


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
