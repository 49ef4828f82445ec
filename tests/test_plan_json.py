from __future__ import annotations

import json
from pathlib import Path

import pytest

from publisher.plan import Plan, plan_from_json, plan_to_json
from publisher.planning.planner import plan_publication
from tests.test_planner_golden import NOW, make_results, make_spec, view


@pytest.mark.parametrize("target,fmt", [("hive", "avro"), ("redshift", "pqt")])
def test_plan_round_trips_through_json(tmp_path: Path, target: str, fmt: str) -> None:
    pubs = tuple(
        plan_publication(make_spec(tmp_path, target, action, fmt), make_results(target, fmt), view(target, action), NOW)
        for action in ("load", "dropAndLoad")
    )
    plan = Plan("2026-11-28T12:00:00Z", False, pubs)
    text = plan_to_json(plan)
    assert plan_from_json(text) == plan
    assert plan_to_json(plan_from_json(text)) == text


def test_unknown_fields_and_versions_are_refused() -> None:
    with pytest.raises(ValueError, match="format version 2 \\(found 1\\): plan again"):
        plan_from_json(json.dumps({"format_version": 1, "publications": []}))
    with pytest.raises(ValueError, match="unknown Plan fields: extra"):
        plan_from_json(
            json.dumps({"format_version": 2, "created_at": "x", "offline": True, "publications": [], "extra": 1})
        )


def test_a_step_of_a_wrong_shape_is_refused(tmp_path: Path) -> None:
    pub = plan_publication(
        make_spec(tmp_path, "hive", "load", "pqt"), make_results("hive", "pqt"), view("hive", "load"), NOW
    )
    data = json.loads(plan_to_json(Plan("2026-11-28T12:00:00Z", False, (pub,))))
    data["publications"][0]["steps"][0]["sql"] = [{"param": "env", "name": "HOME"}]
    with pytest.raises(ValueError, match="not a SQL part"):
        plan_from_json(json.dumps(data))
    data["publications"][0]["steps"][0] = {"kind": "sql", "sql": ["SELECT 1"], "purpose": 3}
    with pytest.raises(ValueError, match="purpose must be str"):
        plan_from_json(json.dumps(data))
