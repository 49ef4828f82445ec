"""GitOps on every target (the ``target`` fixture: embedded Hive, HiveServer2, the Redshift
stand-in, PostgreSQL): re-apply is a no-op, a changed spec waits for --force, a new job group is
a new publication, a saved plan applies exactly what was reviewed and is refused once anything it
was made from changed, and an offline plan is never applied. A death at every step:
test_crash_recovery.py. What only one engine has (concurrent applies, readers during a replace)
stays in test_gitops_hive.py and test_gitops_redshift.py."""

from __future__ import annotations

import json
import re

from tests.integration.conftest import Target


def summary(out: str) -> tuple[int, int, int]:
    """(published, already published, failed) from apply's last line."""
    found = re.search(r"(\d+) published, (\d+) already published, (\d+) failed", out)
    assert found, out
    published, skipped, failed = (int(g) for g in found.groups())
    return published, skipped, failed


def applied(target: Target, *args: str) -> str:
    result = target.project.run("apply", *args)
    assert result.code == 0, result.err
    return result.out


def ledger_rows(target: Target) -> list[str]:
    return sorted(str(row) for row in target.fetch(f"SELECT * FROM {target.ledger_table()}"))


def refused(target: Target) -> str:
    result = target.project.run("apply", "plan.json")
    assert result.code == 1, result.out
    assert "is stale, nothing was applied" in result.err
    return result.err


def add_column(target: Target, table: str) -> None:
    if target.is_hive:
        target.execute(f"ALTER TABLE `{target.database}`.`{table}` ADD COLUMNS (note STRING)")
    else:
        target.execute(f"ALTER TABLE {target.engine.qualified(table)} ADD COLUMN note VARCHAR(10)")


def test_reapply_is_a_no_op(target: Target) -> None:
    base = target.results(10, 1, 20)
    more = target.results(11, 100, 7)
    target.spec("a", "dropAndLoad", 10)
    target.spec("b", "load", 11)
    assert summary(applied(target)) == (2, 0, 0)
    ledger, tables = ledger_rows(target), target.tables()

    again = applied(target)
    assert summary(again) == (0, 2, 0)
    assert again.count("already published (into ") == 2
    assert target.rows("t") == target.expected(base + more)
    assert ledger_rows(target) == ledger, "nothing was written, not even to the ledger"
    assert target.tables() == tables
    plan = target.project.run("plan", "--detailed-exitcode")
    assert plan.code == 0 and "0 to publish, 2 already published, 0 errors" in plan.out
    status = target.project.run("status")
    assert status.code == 0 and status.out.count(" published ") == 2
    assert "20 rows" in status.out


def test_changed_spec_is_reported_and_needs_force(target: Target) -> None:
    data = target.results(10, 1, 5)
    path = target.spec("a", "dropAndLoad", 10)
    applied(target)
    path.write_text(path.read_text() + "description: now documented\n")
    plan = target.project.run("plan", "--detailed-exitcode")
    assert plan.code == 0
    assert "0 to publish, 0 already published, 1 changed since published, 0 errors" in plan.out
    assert "description: None -> 'now documented'" in plan.out
    assert summary(applied(target)) == (0, 1, 0)
    assert summary(applied(target, "--force")) == (1, 0, 0)
    assert target.rows("t") == target.expected(data)
    done = target.fetch(f"SELECT COUNT(*) FROM {target.ledger_table()} WHERE state = 'done' AND job_group = 10")
    assert int(done[0][0]) == 2


def test_new_job_group_is_a_new_publication(target: Target) -> None:
    target.results(10, 1, 3)
    later = target.results(12, 50, 4)
    target.spec("a", "dropAndLoad", 10)
    applied(target)
    target.spec("a", "dropAndLoad", 12)
    plan = target.project.run("plan", "--detailed-exitcode", "--format", "markdown")
    assert plan.code == 2
    assert plan.out.startswith("### publisher plan: 1 to publish, 0 already published, 0 errors\n")
    applied(target)
    assert target.rows("t") == target.expected(later)


def test_saved_plan_applies_exactly_what_was_reviewed(target: Target) -> None:
    data = target.results(10, 1, 12)
    target.spec("a", "dropAndLoad", 10)
    assert target.project.run("plan", "-o", "plan.json").code == 0
    saved = json.loads((target.project.root / "plan.json").read_text())
    out = applied(target, "plan.json")
    ran = [line.strip() for line in out.splitlines() if re.match(r"^\s+\d+\. -- ", line)]
    assert len(ran) == len(saved["publications"][0]["steps"])
    assert target.rows("t") == target.expected(data)


def test_stale_plan_is_refused_for_each_kind_of_change(target: Target) -> None:
    target.results(10, 1, 12)
    target.results(11, 100, 5)
    target.spec("a", "dropAndLoad", 10)
    applied(target)
    path = target.spec("b", "load", 11)

    def replan() -> None:
        assert target.project.run("plan", "-o", "plan.json").code == 0

    replan()
    path.write_text(path.read_text() + "description: x\n")
    assert "the spec file changed" in refused(target)

    replan()
    target.results(11, 300, 6)  # the job ran again: new files, same names
    assert "result files changed (part-00000.parquet modified" in refused(target)

    replan()
    applied(target, "specs/b.yaml")  # another apply published it meanwhile
    assert "the ledger changed" in refused(target)
    assert target.count("t") == 12 + 6

    target.results(12, 200, 3)
    target.spec("c", "load", 12)
    replan()
    add_column(target, "t")
    # The load no longer fits the table: planning it again fails, and says why.
    assert "planning it again fails (the specs, results or target changed)" in (err := refused(target))
    assert "missing column note" in err
    assert target.count("t") == 12 + 6, "nothing of the refused plans ran"
    if target.kind == "redshift":
        assert target.engine.manifests() == []


def test_offline_plan_cannot_be_applied(target: Target) -> None:
    target.results(10, 1, 3)
    target.spec("a", "dropAndLoad", 10)
    before = target.tables()
    assert target.project.run("plan", "--offline", "-o", "plan.json").code == 0
    assert "the plan was made offline" in refused(target)
    assert target.tables() == before
