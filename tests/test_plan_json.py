from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from publisher.model.plan import Plan, plan_from_json, plan_to_json
from publisher.model.vocabulary import ACTIONS
from publisher.planning.planner import plan_publication
from tests.test_planner_golden import NOW, make_results, make_spec, view


@pytest.mark.parametrize("target,fmt", [("hive", "avro"), ("redshift", "pqt")])
def test_plan_round_trips_through_json(tmp_path: Path, target: str, fmt: str) -> None:
    pubs = tuple(
        plan_publication(make_spec(tmp_path, target, action, fmt), make_results(target, fmt), view(target, action), NOW)
        for action in ACTIONS  # every step type an action plans, merge's key check among them
    )
    plan = Plan("2026-11-28T12:00:00Z", False, pubs)
    text = plan_to_json(plan)
    assert plan_from_json(text) == plan
    assert plan_to_json(plan_from_json(text)) == text


def test_unknown_fields_and_versions_are_refused() -> None:
    with pytest.raises(ValueError, match="format version 4 \\(found 1\\): plan again"):
        plan_from_json(json.dumps({"format_version": 1, "publications": []}))
    with pytest.raises(ValueError, match="unknown Plan fields: extra"):
        plan_from_json(
            json.dumps({"format_version": 4, "created_at": "x", "offline": True, "publications": [], "extra": 1})
        )


def test_a_step_of_a_wrong_shape_is_refused(tmp_path: Path) -> None:
    pub = plan_publication(
        make_spec(tmp_path, "hive", "load", "pqt"), make_results("hive", "pqt"), view("hive", "load"), NOW
    )
    data = json.loads(plan_to_json(Plan("2026-11-28T12:00:00Z", False, (pub,))))
    data["publications"][0]["steps"][1]["sql"] = [{"param": "env", "name": "HOME"}]  # 0 takes the lock
    with pytest.raises(ValueError, match="not a SQL part"):
        plan_from_json(json.dumps(data))
    data["publications"][0]["steps"][0] = {"kind": "sql", "sql": ["SELECT 1"], "purpose": 3}
    with pytest.raises(ValueError, match="purpose must be str"):
        plan_from_json(json.dumps(data))


def _saved(tmp_path: Path) -> dict[str, Any]:
    spec = make_spec(tmp_path, "redshift", "load", "pqt")
    pub = plan_publication(spec, make_results("redshift", "pqt"), view("redshift", "load"), NOW)
    loaded: dict[str, Any] = json.loads(plan_to_json(Plan("2026-11-28T12:00:00Z", False, (pub,))))
    return loaded


@pytest.mark.parametrize(
    "edit,message",
    [
        (lambda d: d.update(offline="no"), "plan: offline must be bool, found str"),
        (lambda d: d.update(publications={}), "plan: publications must be a list"),
        (lambda d: d["publications"][0].update(rows="12"), "publications[0]: rows must be int | None, found str"),
        (lambda d: d["publications"][0]["id"].update(job_group=True), "publications[0].id: job_group must be int"),
        (lambda d: d["publications"][0]["id"].update(job_group=31.0), "publications[0].id: job_group must be int"),
        (lambda d: d["publications"][0].pop("steps"), "missing Publication fields: steps"),
        (lambda d: d["publications"][0]["steps"][3].update(sql=None), "steps[3]: sql must be a list"),
        (lambda d: d["publications"][0]["steps"][3].update(sql=[["x"]]), "steps[3]: not a SQL part"),
        (lambda d: d["publications"][0]["steps"][0].update(kind="rm"), "a step needs a kind, one of sql, put_object"),
        (lambda d: d["publications"][0]["steps"][0].update(secrets="AWS"), "unknown PutObject fields: secrets"),
        (lambda d: d["publications"][0].update(columns=[["a"]]), "columns[0] must be a list of a name and a type"),
        (lambda d: d["publications"][0].update(columns=[["a", 1]]), "columns[0][1] must be a string"),
        (lambda d: d["publications"][0].update(fingerprint=[]), "fingerprint must be an object"),
        (lambda d: d["publications"].append("x"), "publications[1]: expected an object"),
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


def test_an_edited_plan_is_described_not_crashed_on(tmp_path: Path) -> None:
    """Saved and fresh plans compared: an edited fingerprint or statement is a reason to refuse."""
    from dataclasses import replace

    from publisher.model.plan import sql
    from publisher.workflow import differences

    spec = make_spec(tmp_path, "hive", "load", "pqt")
    pub = plan_publication(spec, make_results("hive", "pqt"), view("hive", "load"), NOW)
    fresh = replace(pub, fingerprint={"files": [["/r/part-0.parquet", 1, "v"]]})
    cases = {
        "the plan file's record of the result files was edited": replace(fresh, fingerprint={"files": "x"}),
        "step 1 (": replace(fresh, steps=(sql("DROP TABLE x", "x"), *fresh.steps[1:])),
        "steps where the specs, results and target plan": replace(fresh, steps=fresh.steps[:-1]),
    }
    for reason, saved in cases.items():
        (found,) = differences(Plan("t", False, (saved,)), Plan("t", False, (fresh,)))
        assert reason in found, found
    assert differences(Plan("t", False, (fresh,)), Plan("t", False, (fresh,))) == []


@pytest.mark.parametrize("edit", ["changes", "reports"])
def test_a_saved_merge_plan_whose_row_checks_were_edited_out_is_stale(tmp_path: Path, edit: str) -> None:
    """The Redshift merge checks rows by the engine's counts (the INSERT's must be the results',
    the DELETE's is recorded): a saved plan with either taken out differs from the plan made
    again at apply, so apply refuses it."""
    from publisher.workflow import differences

    pub = plan_publication(
        make_spec(tmp_path, "redshift", "merge", "pqt"), make_results("redshift", "pqt"), view("redshift", "merge"), NOW
    )
    fresh = Plan("2026-11-28T12:00:00Z", False, (pub,))
    data = json.loads(plan_to_json(fresh))
    (step,) = [s for s in data["publications"][0]["steps"] if s.get(edit)]
    step[edit] = None if edit == "changes" else ""
    saved = plan_from_json(json.dumps(data))
    (reason,) = differences(saved, fresh)
    number = data["publications"][0]["steps"].index(step) + 1
    assert f"{pub.label}: step {number} ({step['purpose']}) is not what the specs, results and target" in reason
    # The plan as saved, unedited, is the plan made again: every step survives the round trip.
    assert differences(plan_from_json(plan_to_json(fresh)), fresh) == []
