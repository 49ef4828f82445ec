"""Retention (keepLast, keepFor) planned from a ledger and a target view, with no engine:
which tables go, which stay and why, where the steps run, and their golden text per target."""

from __future__ import annotations

import base64
import os
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from publisher.model.plan import LedgerRecord, ReleaseLock, RetireTable, SqlStep, TakeLock, plan_from_json, plan_to_json
from publisher.model.target import HiveTable, RedshiftTable, TableFacts, TableState
from publisher.planning import ledger, retention
from publisher.planning.planner import PlanInput, plan_all
from publisher.planning.view import TargetView
from publisher.reports.render import publication_text
from tests.test_planner_golden import GOLDEN, NOW, make_results, make_spec, view

STAMPS = ("20261101120000", "20261110120000", "20261120120000", "20261125120000", "20261127120000")


def entry(target: str, stamp: str, *, state: str = "done", job: int = 30, **changes: object) -> ledger.Entry:
    table = "analytics.orders" if target == "redshift" else "orders"
    published = f"{table}_{stamp}"
    when = f"{stamp[:4]}-{stamp[4:6]}-{stamp[6:8]} {stamp[8:10]}:{stamp[10:12]}:{stamp[12:14]}"
    row = ledger.Entry(
        job, 27, 1 if target == "hive" else 3, "default" if target == "hive" else "dev", table, "createAndLoad",
        state, published, 10, None, stamp, None, "spec.yaml", "h", base64.b64encode(b"{}").decode(), "run", when,
    )  # fmt: skip
    return replace(row, **changes)  # type: ignore[arg-type]


def table_state(target: str, **own: object) -> TableState:
    if target == "hive":
        return TableState((), "parquet", own=HiveTable(managed=True, kind="managed", **own))  # type: ignore[arg-type]
    return TableState((), own=RedshiftTable(facts=TableFacts(), **own))  # type: ignore[arg-type]


def retention_view(
    target: str, made: tuple[ledger.Entry, ...], tables: dict[str, TableState | None] | None = None, **more: object
) -> TargetView:
    names = {e.published_table.rsplit(".", 1)[-1] for e in made}
    tables = {n: table_state(target) for n in names} if tables is None else tables
    base = view(target, "createAndLoad")
    return replace(base, table_names=frozenset(names), made=made, made_tables=tables, **more)  # type: ignore[arg-type]


def planned(tmp_path: Path, target: str, keys: str, tv: TargetView, *, retire_only: bool = False) -> object:
    spec = make_spec(tmp_path, target, "createAndLoad", "pqt", keys)
    publications, problems = plan_all([PlanInput(spec, make_results(target, "pqt"), tv)], NOW, retire_only=retire_only)
    assert not problems, problems
    return publications[0]


def retired(publication: object) -> list[str]:
    return [s.table.rsplit("_", 1)[-1] for s in publication.steps if isinstance(s, RetireTable)]  # type: ignore[attr-defined]


@pytest.mark.parametrize("target", ["hive", "redshift"])
def test_keep_last_counts_the_new_table_and_retires_the_oldest(tmp_path: Path, target: str) -> None:
    made = tuple(entry(target, s) for s in STAMPS)
    publication = planned(tmp_path, target, "keepLast: 2\n", retention_view(target, made))
    assert retired(publication) == list(STAMPS[:4])  # the new table and the newest recorded one stay


@pytest.mark.parametrize("target", ["hive", "redshift"])
def test_keep_for_retires_by_age_and_either_rule_retires(tmp_path: Path, target: str) -> None:
    made = tuple(entry(target, s) for s in STAMPS)
    assert retired(planned(tmp_path, target, "keepFor: 10d\n", retention_view(target, made))) == list(STAMPS[:2])
    both = planned(tmp_path, target, "keepFor: 10d\nkeepLast: 4\n", retention_view(target, made))
    assert retired(both) == list(STAMPS[:2])
    both = planned(tmp_path, target, "keepFor: 30d\nkeepLast: 3\n", retention_view(target, made))
    assert retired(both) == list(STAMPS[:3])


def test_the_newest_recorded_table_is_never_retired_when_nothing_new_is_made(tmp_path: Path) -> None:
    made = tuple(entry("hive", s) for s in STAMPS)
    publication = planned(tmp_path, "hive", "keepFor: 1h\n", retention_view("hive", made), retire_only=True)
    assert publication.status == "retire"  # type: ignore[attr-defined]
    assert retired(publication) == list(STAMPS[:4])


@pytest.mark.parametrize("target", ["hive", "redshift"])
def test_only_what_this_ledger_records_for_this_connection_table_and_project_is_a_candidate(
    tmp_path: Path, target: str
) -> None:
    # The snapshot reads rows by table name; made_for keeps this spec's own.
    spec = make_spec(tmp_path, target, "createAndLoad", "pqt", "keepLast: 1\n")
    mine = entry(target, STAMPS[0])
    assert retention.made_for(mine, spec)
    assert not retention.made_for(replace(mine, connection_id=99), spec)
    assert not retention.made_for(replace(mine, database_name="other"), spec)
    assert not retention.made_for(replace(mine, table_name=mine.table_name + "x"), spec)
    assert not retention.made_for(replace(mine, project="someone-else"), spec)
    assert not retention.made_for(replace(mine, action="dropAndLoad"), spec)
    assert not retention.made_for(replace(mine, state="pending"), spec)


@pytest.mark.parametrize("target", ["hive", "redshift"])
def test_a_table_retired_already_is_not_retired_again(tmp_path: Path, target: str) -> None:
    made = (*(entry(target, s) for s in STAMPS), entry(target, STAMPS[0], state="retired"))
    assert retired(planned(tmp_path, target, "keepLast: 2\n", retention_view(target, made))) == list(STAMPS[1:4])


def test_hive_keeps_a_table_a_view_names_and_says_which_view(tmp_path: Path) -> None:
    made = tuple(entry("hive", s) for s in STAMPS)
    views = (("recent", f"CREATE VIEW default.recent AS SELECT * FROM default.orders_{STAMPS[1]}"),)
    publication = planned(tmp_path, "hive", "keepLast: 1\n", retention_view("hive", made, views=views))
    assert STAMPS[1] not in retired(publication)
    assert retired(publication) == [s for s in STAMPS if s != STAMPS[1]]
    notes = " ".join(publication.notes)  # type: ignore[attr-defined]
    assert f"retention keeps orders_{STAMPS[1]}: view default.recent (its SQL names it)" in notes


def test_hive_keeps_tables_whose_files_are_not_their_own(tmp_path: Path) -> None:
    made = tuple(entry("hive", s) for s in STAMPS[:2])
    foreign = TableState((), own=HiveTable(managed=False, kind="external-foreign"))
    tables = {f"orders_{STAMPS[0]}": foreign, f"orders_{STAMPS[1]}": table_state("hive")}
    publication = planned(tmp_path, "hive", "keepLast: 1\n", retention_view("hive", made, tables))
    assert retired(publication) == [STAMPS[1]]
    assert any("external, foreign" in n for n in publication.notes)  # type: ignore[attr-defined]


def test_redshift_keeps_tables_views_and_foreign_keys_depend_on_and_names_them(tmp_path: Path) -> None:
    made = tuple(entry("redshift", s) for s in STAMPS[:4])
    tables: dict[str, TableState | None] = {
        f"orders_{STAMPS[0]}": table_state("redshift", dependent_views=("analytics.v1",)),
        f"orders_{STAMPS[1]}": table_state("redshift", late_binding_views=("analytics.lb",)),
        f"orders_{STAMPS[2]}": TableState((), own=RedshiftTable(facts=TableFacts(referenced_by=("analytics.c (fk)",)))),
        f"orders_{STAMPS[3]}": table_state("redshift"),
    }
    publication = planned(tmp_path, "redshift", "keepLast: 1\n", retention_view("redshift", made, tables))
    assert retired(publication) == [STAMPS[3]]
    notes = " ".join(publication.notes)  # type: ignore[attr-defined]
    assert "view analytics.v1" in notes and "late-binding view analytics.lb" in notes
    assert "foreign key of analytics.c (fk)" in notes


def test_a_gone_table_is_recorded_retired_without_failing(tmp_path: Path) -> None:
    made = tuple(entry("hive", s) for s in STAMPS[:2])
    tables: dict[str, TableState | None] = {f"orders_{STAMPS[0]}": None, f"orders_{STAMPS[1]}": table_state("hive")}
    publication = planned(tmp_path, "hive", "keepLast: 1\n", retention_view("hive", made, tables))
    assert retired(publication) == list(STAMPS[:2])
    step = next(s for s in publication.steps if isinstance(s, RetireTable))  # type: ignore[attr-defined]
    assert "DROP TABLE IF EXISTS" in step.retire[0].text


@pytest.mark.parametrize("target", ["hive", "redshift"])
def test_retirements_run_after_the_commit_and_under_the_tables_lock(tmp_path: Path, target: str) -> None:
    made = tuple(entry(target, s) for s in STAMPS)
    publication = planned(tmp_path, target, "keepLast: 2\n", retention_view(target, made))
    steps = publication.steps  # type: ignore[attr-defined]
    kinds = [type(s).__name__ for s in steps]
    first = kinds.index("RetireTable")
    done = max(i for i, s in enumerate(steps) if isinstance(s, LedgerRecord) and "'done'" in s.text)
    assert first > done  # after the 'done' record
    if target == "redshift":
        assert [s.text for s in steps[done + 1 : first]] == ["COMMIT"]
        retire = steps[first]
        assert [s.text for s in retire.begin][0] == "BEGIN" and retire.end[0].text == "COMMIT"
    else:
        release = [i for i, s in enumerate(steps) if isinstance(s, ReleaseLock)]
        assert release and release[0] > max(i for i, k in enumerate(kinds) if k == "RetireTable")
    # A saved plan keeps them, and reads them back equal.
    again = plan_from_json(plan_to_json(replace_plan(publication)))
    assert again.publications[0] == publication


def replace_plan(publication: object) -> object:
    from publisher.model.plan import Plan

    return Plan("2026-11-28T12:00:00Z", False, (publication,))  # type: ignore[arg-type]


def test_published_publication_with_retirements_left_is_unfinished(tmp_path: Path) -> None:
    # A crash after the publication's COMMIT, before its retirements: the next plan runs them alone.
    spec = make_spec(tmp_path, "hive", "createAndLoad", "pqt", "keepLast: 2\n")
    newest = entry("hive", STAMPS[-1], job=31, spec_hash=spec.content_hash)
    made = (*(entry("hive", s) for s in STAMPS[:-1]), newest)
    tv = replace(retention_view("hive", made), entries=(newest,))
    publications, problems = plan_all([PlanInput(spec, make_results("hive", "pqt"), tv)], NOW)
    assert not problems
    publication = publications[0]
    assert publication.status == "unfinished"
    assert retired(publication) == list(STAMPS[:3])
    assert isinstance(publication.steps[0], TakeLock) and isinstance(publication.steps[-1], ReleaseLock)
    assert not any(isinstance(s, SqlStep) and "INSERT INTO `default`.`orders_" in s.text for s in publication.steps)


def test_publisher_retire_batches_a_backlog_under_the_lock(tmp_path: Path) -> None:
    start = NOW.replace(tzinfo=None) - timedelta(days=400)
    stamps = [(start + timedelta(days=i)).strftime("%Y%m%d%H%M%S") for i in range(120)]
    made = tuple(entry("hive", s) for s in stamps)
    publication = planned(tmp_path, "hive", "keepLast: 5\n", retention_view("hive", made), retire_only=True)
    assert len(retired(publication)) == 115
    steps = publication.steps  # type: ignore[attr-defined]
    assert sum(isinstance(s, TakeLock) for s in steps) == 3  # 50 + 50 + 15
    assert not any(isinstance(s, SqlStep) for s in steps)  # nothing published


def test_offline_plans_no_retirement_and_says_so(tmp_path: Path) -> None:
    spec = make_spec(tmp_path, "hive", "createAndLoad", "pqt", "keepLast: 2\n")
    publications, _ = plan_all([PlanInput(spec, make_results("hive", "pqt"), None)], NOW)
    assert not retired(publications[0])
    assert any("retention" in n for n in publications[0].notes)


@pytest.mark.parametrize("target", ["hive", "redshift"])
def test_golden_retention_plan(tmp_path: Path, target: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    made = tuple(entry(target, s) for s in STAMPS[:3])
    publication = planned(tmp_path, target, "keepLast: 2\n", retention_view(target, made))
    text = publication_text(1, publication).replace(str(tmp_path) + "/", "") + "\n"  # type: ignore[arg-type]
    golden = GOLDEN / target / "retention_createAndLoad_pqt.txt"
    if os.environ.get("UPDATE_GOLDEN"):
        golden.write_text(text)
    assert text == golden.read_text()


def test_order_is_the_ledgers_and_a_name_made_again_after_its_retirement_is_a_new_table(tmp_path: Path) -> None:
    # Published in this order (a stamp moved past names in use can be older than an earlier one).
    first, second = entry("hive", STAMPS[1]), entry("hive", STAMPS[0])
    gone, again = entry("hive", STAMPS[0], state="retired"), entry("hive", STAMPS[0])
    tv = retention_view("hive", (first, second))
    assert retired(planned(tmp_path, "hive", "keepLast: 2\n", tv)) == [STAMPS[1]]
    tv = retention_view("hive", (second, gone, first, again))
    assert retired(planned(tmp_path, "hive", "keepLast: 2\n", tv)) == [STAMPS[1]]


def test_a_new_table_never_takes_the_name_of_one_the_ledger_recorded(tmp_path: Path) -> None:
    now = NOW.strftime("%Y%m%d%H%M%S")
    tv = replace(
        retention_view("hive", (entry("hive", now), entry("hive", now, state="retired"))), table_names=frozenset()
    )
    assert planned(tmp_path, "hive", "keepLast: 2\n", tv).stamp != now  # type: ignore[attr-defined]


def test_publications_of_one_second_are_ordered_by_their_stamps_whatever_order_the_engine_returns(
    tmp_path: Path,
) -> None:
    # Ledgers written before the time had microseconds: three tables published in one second.
    rows = [replace(entry("hive", s), published_at="2026-11-27 12:00:00") for s in STAMPS[2:]]
    for shuffled in (rows, rows[::-1], [rows[1], rows[2], rows[0]]):
        made = ledger.in_publication_order(shuffled)
        assert [e.stamp for e in made] == list(STAMPS[2:])
        tv = retention_view("hive", made)
        assert retired(planned(tmp_path, "hive", "keepLast: 2\n", tv)) == [STAMPS[2], STAMPS[3]]
