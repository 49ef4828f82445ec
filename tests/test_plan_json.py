from __future__ import annotations

import json
from pathlib import Path

import pytest

from publisher.plan import Plan, plan_from_json, plan_to_json
from publisher.planner import plan_publication
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
    with pytest.raises(ValueError, match="format version"):
        plan_from_json(json.dumps({"format_version": 99, "publications": []}))
    with pytest.raises(ValueError, match="unknown Plan fields: extra"):
        plan_from_json(
            json.dumps({"format_version": 1, "created_at": "x", "offline": True, "publications": [], "extra": 1})
        )
