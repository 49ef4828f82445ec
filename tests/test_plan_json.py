from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

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


def _saved(tmp_path: Path) -> dict[str, Any]:
    spec = make_spec(tmp_path, "redshift", "load", "pqt")
    pub = plan_publication(spec, make_results("redshift", "pqt"), view("redshift", "load"), NOW)
    loaded: dict[str, Any] = json.loads(plan_to_json(Plan("2026-11-28T12:00:00Z", False, (pub,))))
    return loaded


@pytest.mark.parametrize(
    "edit,message",
    [
        (lambda d: d.update(offline="no"), 'plan.offline must be true or false, not "no"'),
        (lambda d: d.update(publications={}), "plan.publications must be a list, not {}"),
        (
            lambda d: d["publications"][0].update(rows="12"),
            'plan.publications[0].rows must be an integer or null, not "12"',
        ),
        (
            lambda d: d["publications"][0].update(job_group=True),
            "plan.publications[0].job_group must be an integer, not true",
        ),
        (
            lambda d: d["publications"][0].update(job_group=31.0),
            "plan.publications[0].job_group must be an integer, not 31.0",
        ),
        (lambda d: d["publications"][0].pop("steps"), "missing Publication fields: steps"),
        (lambda d: d["publications"][0]["steps"][0].update(sql=None), "steps[0].sql must be a string, not null"),
        (lambda d: d["publications"][0]["steps"][0].update(kind="rm"), "kind must be one of sql, put_object"),
        (lambda d: d["publications"][0]["steps"][0].update(secrets="AWS"), "steps[0].secrets must be a list"),
        (lambda d: d["publications"][0].update(columns=[["a"]]), "columns[0] must be a list"),
        (lambda d: d["publications"][0].update(columns=[["a", 1]]), "columns[0][1] must be a string"),
        (lambda d: d["publications"][0].update(fingerprint=[]), "fingerprint must be an object"),
        (lambda d: d["publications"].append("x"), "plan.publications[1] must be an object"),
    ],
)
def test_mistyped_fields_are_clear_errors(tmp_path: Path, edit: Any, message: str) -> None:
    data = _saved(tmp_path)
    edit(data)
    with pytest.raises(ValueError, match=re.escape(message)):
        plan_from_json(json.dumps(data))


def test_deeply_nested_json_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="nested too deeply"):
        plan_from_json("[" * 100_000 + "]" * 100_000)
