"""Golden plans of Redshift tables that others depend on: dropAndLoad of a table owned by
another user, with grants to users, a group and PUBLIC; distribution and sort keys from the
spec or kept from the old table. UPDATE_GOLDEN=1 rewrites them."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import pytest

from publisher.inputs.config import load_config
from publisher.inputs.spec import Spec, load_specs
from publisher.model.errors import InvalidInput
from publisher.model.plan import Statement
from publisher.model.target import Grant, Layout
from publisher.planning.planner import plan_publication
from publisher.reports.render import publication_text
from tests.test_planner_golden import CASES, GOLDEN, NOW, make_results, make_spec, view

GRANTS = (
    Grant("user", "alice", ("SELECT",)),
    Grant("group", "analysts", ("SELECT", "UPDATE")),
    Grant("public", "", ("SELECT",)),
    Grant("user", "etl bot", ("INSERT",), grantable=True),
)


def golden(tmp_path: Path, text: str, name: str) -> None:
    path = GOLDEN / "redshift" / name
    text = text.replace(str(tmp_path) + "/", "") + "\n"
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(text)
    assert text == path.read_text()


def test_drop_and_load_keeps_grants_and_owner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    spec = make_spec(tmp_path, "redshift", "dropAndLoad", "pqt")
    base = view("redshift", "dropAndLoad")
    assert base.table is not None
    table = replace(base.table, owner="reporting", grants=GRANTS, ungranted=("user alice: D",))
    publication = plan_publication(spec, make_results("redshift", "pqt"), replace(base, table=table), NOW)
    golden(tmp_path, publication_text(1, publication), "dropAndLoad_pqt_grants_owner.txt")


def test_drop_and_load_of_a_table_only_its_owner_may_drop_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    spec = make_spec(tmp_path, "redshift", "dropAndLoad", "pqt")
    base = view("redshift", "dropAndLoad")
    assert base.table is not None
    table = replace(base.table, owner="reporting", owner_only=True)
    with pytest.raises(InvalidInput, match="is owned by reporting: only that user or a superuser may drop"):
        plan_publication(spec, make_results("redshift", "pqt"), replace(base, table=table), NOW)


def spec_with(tmp_path: Path, action: str, extra: str) -> Spec:
    """The golden plans' Redshift spec with more keys."""
    base = make_spec(tmp_path, "redshift", action, "pqt")
    path = tmp_path / "spec.yaml"
    path.write_text(path.read_text() + extra)
    specs, problems = load_specs([path], load_config(CASES / "publisher.yaml"))
    assert not problems and base.relation == specs[0].relation, problems
    return specs[0]


def test_create_and_load_with_the_specs_keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    spec = spec_with(tmp_path, "createAndLoad", "distKey: Customer_Id\nsortKeys: [ordered_at, order_id]\n")
    publication = plan_publication(spec, make_results("redshift", "pqt"), view("redshift", "createAndLoad"), NOW)
    golden(tmp_path, publication_text(1, publication), "createAndLoad_pqt_keys.txt")


def test_drop_and_load_keeps_the_old_tables_keys_where_the_columns_remain(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DISTKEY (customer_id) is kept; of SORTKEY (ship_date, gone, status) the columns up to
    the one the results lack; each said in a note."""
    monkeypatch.chdir(tmp_path)
    spec = make_spec(tmp_path, "redshift", "dropAndLoad", "pqt")
    base = view("redshift", "dropAndLoad")
    assert base.table is not None
    table = replace(base.table, layout=Layout("KEY", "customer_id", ("ship_date", "gone", "status")))
    publication = plan_publication(spec, make_results("redshift", "pqt"), replace(base, table=table), NOW)
    golden(tmp_path, publication_text(1, publication), "dropAndLoad_pqt_keys_kept.txt")


def test_the_specs_keys_win_over_the_old_tables_and_name_result_columns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    base = view("redshift", "dropAndLoad")
    assert base.table is not None
    seen = replace(base, table=replace(base.table, layout=Layout("KEY", "customer_id", ("ship_date",))))
    spec = spec_with(tmp_path, "dropAndLoad", "distStyle: ALL\n")
    publication = plan_publication(spec, make_results("redshift", "pqt"), seen, NOW)
    statements = [s.text for s in publication.steps if isinstance(s, Statement)]
    create = next(text for text in statements if text.startswith('CREATE TABLE "analytics"'))
    assert create.endswith(')\nDISTSTYLE ALL\nSORTKEY ("ship_date")')
    spec = spec_with(tmp_path, "dropAndLoad", "sortKeys: [nope]\n")
    with pytest.raises(InvalidInput, match="distKey/sortKeys name columns the results do not have: nope"):
        plan_publication(spec, make_results("redshift", "pqt"), seen, NOW)


def test_keys_of_a_spec_that_writes_into_an_existing_table_are_a_note(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    spec = spec_with(tmp_path, "truncateAndLoad", "distStyle: EVEN\n")
    publication = plan_publication(spec, make_results("redshift", "pqt"), view("redshift", "truncateAndLoad"), NOW)
    assert any(
        "apply to tables the publisher creates: dev.analytics.orders keeps its own" in n for n in publication.notes
    )
