from __future__ import annotations

import copy
import dataclasses
import json
import re
import types
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

import pytest

from publisher.model.location import Location
from publisher.model.plan import (
    PARAM_KINDS,
    STEP_TYPES,
    Param,
    Plan,
    PlanFileError,
    Publication,
    plan_from_json,
    plan_to_json,
)
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
    with pytest.raises(ValueError, match="format version 5 \\(found 1\\): plan again"):
        plan_from_json(json.dumps({"format_version": 1, "publications": []}))
    with pytest.raises(ValueError, match="unknown Plan fields: extra"):
        plan_from_json(
            json.dumps({"format_version": 5, "created_at": "x", "offline": True, "publications": [], "extra": 1})
        )


def test_a_step_of_a_wrong_shape_is_refused(tmp_path: Path) -> None:
    pub = plan_publication(
        make_spec(tmp_path, "hive", "load", "pqt"), make_results("hive", "pqt"), view("hive", "load"), NOW
    )
    data = json.loads(plan_to_json(Plan("2026-11-28T12:00:00Z", False, (pub,))))
    data["publications"][0]["steps"][1]["sql"] = [{"param": "env", "name": "HOME"}]  # 0 takes the lock
    with pytest.raises(ValueError, match=re.escape("steps[1].sql[0]: expected str | Param, found")):
        plan_from_json(json.dumps(data))
    data["publications"][0]["steps"][0] = {"kind": "sql", "sql": ["SELECT 1"], "purpose": 3}
    with pytest.raises(ValueError, match=re.escape("steps[0].purpose: expected str, found 3")):
        plan_from_json(json.dumps(data))


def _saved(tmp_path: Path) -> dict[str, Any]:
    spec = make_spec(tmp_path, "redshift", "load", "pqt")
    pub = plan_publication(spec, make_results("redshift", "pqt"), view("redshift", "load"), NOW)
    loaded: dict[str, Any] = json.loads(plan_to_json(Plan("2026-11-28T12:00:00Z", False, (pub,))))
    return loaded


@pytest.mark.parametrize(
    "edit,message",
    [
        (lambda d: d.update(offline="no"), 'offline: expected bool, found "no"'),
        (lambda d: d.update(publications={}), "publications: expected a list of Publication, found {}"),
        (lambda d: d["publications"][0].update(rows="12"), 'publications[0].rows: expected int | None, found "12"'),
        (lambda d: d["publications"][0]["id"].update(job_group=True), "publications[0].id.job_group: expected int"),
        (lambda d: d["publications"][0]["id"].update(job_group=31.0), "publications[0].id.job_group: expected int"),
        (lambda d: d["publications"][0].pop("steps"), "missing Publication fields: steps"),
        (lambda d: d["publications"][0]["steps"][3].update(sql=None), "steps[3].sql: expected a list of str | Param"),
        (lambda d: d["publications"][0]["steps"][3].update(sql=[["x"]]), "steps[3].sql[0]: expected str | Param"),
        (
            lambda d: d["publications"][0]["steps"][0].update(kind="rm"),
            "steps[0]: a step needs a kind, one of sql",
        ),
        (lambda d: d["publications"][0]["steps"][0].update(secrets="AWS"), "unknown PutObject fields: secrets"),
        (lambda d: d["publications"][0].update(columns=[["a"]]), "columns[0]: expected a list of 2: str, str"),
        (lambda d: d["publications"][0].update(columns=[["a", 1]]), "columns[0][1]: expected str, found 1"),
        (lambda d: d["publications"][0].update(fingerprint=[]), "fingerprint: expected an object, found []"),
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


# --------------------------------------------------------------------------- every step kind


def _sample(tp: Any, seed: int) -> Any:
    """A value of the declared type ``tp`` (``seed`` varies it), built from the type alone."""
    origin, args = get_origin(tp), get_args(tp)
    if tp is str:
        return f"text {seed} 'quoted' ${{x}}"
    if tp is bool:
        return seed % 2 == 1
    if tp is int:
        return 1000 + seed
    if tp is Location:
        return Location.parse(f"s3a://bucket/folder {seed}/t")
    if tp is Param:
        return Param(PARAM_KINDS[seed % len(PARAM_KINDS)], f"NAME_{seed}")
    if origin is Literal:
        return args[seed % len(args)]
    if origin in (Union, types.UnionType):
        members = [a for a in args if a is not type(None)]
        return _sample(members[seed % len(members)], seed)  # never None: None is the easy case
    if origin is tuple:
        if args[1:] == (Ellipsis,):
            return tuple(_sample(args[0], seed + i) for i in range(2))
        return tuple(_sample(a, seed + i) for i, a in enumerate(args))
    if origin is dict:
        return {"key": [seed]}
    assert dataclasses.is_dataclass(tp), tp
    return _build(tp, seed)  # type: ignore[arg-type]


def _build(cls: type[Any], seed: int) -> Any:
    hints = get_type_hints(cls)
    # Nested steps are sampled one level deep: a Statement's undo holds a Statement without one.
    return cls(
        **{
            f.name: None
            if seed > 1
            and get_origin(hints[f.name]) in (Union, types.UnionType)
            and type(None) in get_args(hints[f.name])
            else _sample(hints[f.name], seed + 1)
            for f in dataclasses.fields(cls)
        }
    )


def _plan_of(steps: tuple[Any, ...]) -> Plan:
    pub = _build(Publication, 0)
    return Plan("2026-11-28T12:00:00Z", False, (dataclasses.replace(pub, steps=steps, on_failure=steps[:1]),))


@pytest.mark.parametrize("kind", sorted(STEP_TYPES))
def test_every_step_kind_round_trips_with_every_field_set(kind: str) -> None:
    step = _build(STEP_TYPES[kind], 0)
    plan = _plan_of((step,))
    text = plan_to_json(plan)
    assert plan_from_json(text) == plan
    assert plan_to_json(plan_from_json(text)) == text
    saved = json.loads(text)["publications"][0]["steps"][0]
    assert saved["kind"] == kind and set(saved) == {"kind", *(f.name for f in dataclasses.fields(step))}


def _leaves(value: Any, path: str) -> list[tuple[str, list[Any]]]:
    """Every JSON value under ``value`` with its path, as the decoder names paths."""
    found = [(path, [])]
    if isinstance(value, dict):
        for key, item in value.items():
            if key != "kind":
                found += [(p, [key, *keys]) for p, keys in _leaves(item, f"{path}.{key}")]
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found += [(p, [i, *keys]) for p, keys in _leaves(item, f"{path}[{i}]")]
    return found


def _wrong_value(value: Any) -> Any:
    """A JSON value no declared type that ``value`` satisfies admits."""
    if isinstance(value, bool | int):
        return "a string"
    if isinstance(value, str | list | dict):
        return 3.5
    return ["a", "list"]


@pytest.mark.parametrize("kind", sorted(STEP_TYPES))
def test_a_wrong_type_anywhere_in_a_step_is_refused_with_its_path(kind: str) -> None:
    data = json.loads(plan_to_json(_plan_of((_build(STEP_TYPES[kind], 0),))))
    step = data["publications"][0]["steps"][0]
    for path, keys in _leaves(step, "publications[0].steps[0]")[1:]:
        edited = copy.deepcopy(data)
        *outer, last = keys
        holder = edited["publications"][0]["steps"][0]
        for key in outer:
            holder = holder[key]
        holder[last] = _wrong_value(holder[last])
        with pytest.raises(PlanFileError) as refused:
            plan_from_json(json.dumps(edited))
        named = str(refused.value).split(": ", 1)[0]
        # The path itself, or (inside a SQL part, which is a str or a Param) the part's.
        assert path == named or (path.startswith(named) and re.search(r"\.sql\[\d+\]$", named)), (path, named)
