"""Golden plans of Redshift tables that others depend on: dropAndLoad of a table owned by
another user, with grants to users, a group and PUBLIC. UPDATE_GOLDEN=1 rewrites them."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import pytest

from publisher.model.target import Grant
from publisher.planning.planner import plan_publication
from publisher.reports.render import publication_text
from tests.test_planner_golden import GOLDEN, NOW, make_results, make_spec, view

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
    from publisher.model.errors import InvalidInput

    monkeypatch.chdir(tmp_path)
    spec = make_spec(tmp_path, "redshift", "dropAndLoad", "pqt")
    base = view("redshift", "dropAndLoad")
    assert base.table is not None
    table = replace(base.table, owner="reporting", owner_only=True)
    with pytest.raises(InvalidInput, match="is owned by reporting: only that user or a superuser may drop"):
        plan_publication(spec, make_results("redshift", "pqt"), replace(base, table=table), NOW)
