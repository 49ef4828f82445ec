"""Projects sharing one ledger: each ledger row carries publisher.yaml's project, and a
publication is 'already published' only by its own project's rows (or by rows without a
project, as earlier versions and unnamed projects write them). Another project's row for the
same job, table and action is refused at plan time, unless --force."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from publisher.dialects import dialect_for
from publisher.inputs.spec import Spec
from publisher.model.errors import InvalidInput
from publisher.planning import ledger
from publisher.planning.planner import plan_publication
from tests.test_planner_golden import NOW, make_results, make_spec, view


def row(spec: Spec, project: str | None, connection_id: int | None = None) -> ledger.Entry:
    pid = spec.id
    return ledger.Entry(
        pid.job_group, pid.flow_node_id, pid.connection_id if connection_id is None else connection_id,
        pid.database, pid.table, pid.action, "done", "orders", 1000, None, "20261127090000", None,
        "specs/theirs.yaml", spec.content_hash, "", "run", "2026-11-27 09:00:00", None, project,
    )  # fmt: skip


@pytest.mark.parametrize("target", ["hive", "redshift"])
def test_a_row_of_another_project_is_not_this_projects_and_is_refused_unless_forced(
    tmp_path: Path, target: str
) -> None:
    spec = replace(make_spec(tmp_path, target, "load", "pqt"), project="sales")
    theirs = row(spec, "finance", connection_id=7)  # connection ids are each project's own
    assert not ledger.owned(theirs, "sales") and ledger.same_elsewhere(theirs, spec)
    seen = replace(view(target, "load"), elsewhere=(theirs,))
    with pytest.raises(InvalidInput) as refused:
        plan_publication(spec, make_results(target, "pqt"), seen, NOW)
    message = str(refused.value)
    assert "was published by project 'finance' (from specs/theirs.yaml" in message
    assert "not by project 'sales'" in message and "--force" in message and "\n" not in message
    forced = plan_publication(spec, make_results(target, "pqt"), seen, NOW, force=True)
    assert forced.status == "pending" and forced.steps


@pytest.mark.parametrize("project", ["sales", None])
def test_own_rows_and_rows_without_a_project_publish_nothing_again(tmp_path: Path, project: str | None) -> None:
    spec = replace(make_spec(tmp_path, "hive", "load", "pqt"), project="sales")
    mine = row(spec, project)
    assert ledger.owned(mine, "sales") and not ledger.same_elsewhere(mine, spec)
    seen = replace(view("hive", "load"), entries=(mine,))
    assert plan_publication(spec, make_results("hive", "pqt"), seen, NOW).status == "published"


def test_an_unnamed_project_does_not_take_a_named_projects_rows() -> None:
    theirs = ledger.Entry(*([0] * 17), None, "finance")  # type: ignore[arg-type]
    assert not ledger.owned(theirs, None)


@pytest.mark.parametrize("target", ["hive", "redshift"])
def test_rows_record_the_project_and_the_guard_counts_only_its_own(tmp_path: Path, target: str) -> None:
    spec = replace(make_spec(tmp_path, target, "load", "pqt"), project="sales")
    dialect = dialect_for(spec.target_type)
    record = ledger.record(dialect, ledger.relation(spec), spec, state="done", published_table="t", rows=1, stamp="s")
    assert record.text.endswith(", :outcome, 'sales')")
    home = ledger.relation(spec)
    assert "(`project` = 'sales' OR `project` IS NULL)" in ledger.guard(dialect, home, spec).text or target != "hive"
    lock = ledger.lock_relation(spec)
    assert lock != ledger.lock_relation(replace(spec, project="finance")), "a project's own lock table"
    assert "project" not in ledger.guard(dialect, lock, spec).text, "a lock table is the project's own"


def test_a_missing_ledger_with_traces_of_earlier_publications_is_refused_unless_forced(tmp_path: Path) -> None:
    """A ledger dropped by hand: publishing everything again would append a load's rows twice."""
    spec = make_spec(tmp_path, "redshift", "load", "pqt")
    traces = ("lock_0123456789ab_orders", "orders_20261127090000")
    seen = replace(view("redshift", "load"), ledger_exists=False, ledger_traces=traces)
    with pytest.raises(InvalidInput) as refused:
        plan_publication(spec, make_results("redshift", "pqt"), seen, NOW)
    message = str(refused.value)
    assert "is missing, yet this connection was published into before (lock_0123456789ab_orders" in message
    assert "--force" in message and "\n" not in message
    assert plan_publication(spec, make_results("redshift", "pqt"), seen, NOW, force=True).steps
    fresh = replace(view("redshift", "load"), ledger_exists=False)
    assert plan_publication(spec, make_results("redshift", "pqt"), fresh, NOW).status == "pending"
