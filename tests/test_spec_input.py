"""Specs at the input edge: what validation refuses, and what it leaves as inert data."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from publisher.inputs.config import load_config
from publisher.inputs.spec import Spec, load_specs
from publisher.model.errors import Errors

CASES = Path(__file__).parent / "cases"
ALLOWED = (
    "jobGroup, connection, path, table, action, inputFormat, flowNodeId, source, description, columnTypes, "
    "allowNarrowing, partitionBy, partition, overwrite, mergeKeys, onSchemaChange, keepLast, keepFor, distStyle, "
    "distKey, sortKeys"
)
SPEC = "jobGroup: 31\nflowNodeId: 27\npath: [{db}]\ntable: {table}\naction: load\ninputFormat: pqt\n"


def specs_of(tmp_path: Path, text: str, config: str | None = None) -> tuple[list[Spec], list[str]]:
    file = tmp_path / "spec.yaml"
    file.write_text(text)
    config_file = CASES / "publisher.yaml"
    if config is not None:
        config_file = tmp_path / "publisher.yaml"
        config_file.write_text(config)
    specs, problems = load_specs([file], load_config(config_file))
    return specs, [str(p).replace(f"{tmp_path}/", "") for p in problems]


def test_env_references_in_spec_values_are_inert_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI")
    text = SPEC.format(db="dev", table="t") + "connection: {id: 3}\nsource: s3://bucket/x${AWS_SECRET_ACCESS_KEY}/\n"
    specs, problems = specs_of(tmp_path, text)
    assert problems == []
    (spec,) = specs
    assert spec.source == "s3://bucket/x${AWS_SECRET_ACCESS_KEY}/"
    assert "wJalrXUtnFEMI" not in spec.canonical_json


def test_env_references_in_the_results_template_are_inert_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI")
    config = (
        "results: s3://bucket/${AWS_SECRET_ACCESS_KEY}/{jobGroup}/{flowNodeId}/\nconnections:\n"
        "  - {id: 3, name: rs, type: redshift, host: h, database: dev, user: u, password: '${P}', "
        "iamRole: 'arn:aws:iam::123456789012:role/p', s3: 4}\n"
        "  - {id: 4, name: s3, type: s3}\n"
    )
    specs, problems = specs_of(tmp_path, SPEC.format(db="dev", table="t") + "connection: {id: 3}\n", config)
    assert problems == []
    (spec,) = specs
    assert spec.source == "s3://bucket/${AWS_SECRET_ACCESS_KEY}/31/27/"


HIVE = "results: r/{{jobGroup}}/{{flowNodeId}}/\nconnections:\n  - {{id: 1, name: h, type: hive, host: x{ledger}}}\n"


def test_the_configured_ledger_is_refused_and_the_default_name_is_then_free(tmp_path: Path) -> None:
    config = HIVE.format(ledger=", ledger: {database: Meta, table: Pubs}")
    specs, problems = specs_of(tmp_path, SPEC.format(db="meta", table="PUBS") + "connection: {id: 1}\n", config)
    assert problems == [
        "spec.yaml:4:8: error: Meta.Pubs is the publication ledger of connection h: publisher keeps its records "
        "of what is published there, so no spec may write it; publish into another table"
    ]
    specs, problems = specs_of(
        tmp_path, SPEC.format(db="publisher", table="publications") + "connection: {id: 1}\n", config
    )
    assert problems == [] and len(specs) == 1


def test_a_project_folder_with_a_control_character_is_refused(tmp_path: Path) -> None:
    project = tmp_path / "a\nb"
    project.mkdir()
    specs, problems = specs_of(
        project, SPEC.format(db="default", table="t") + "connection: {id: 1}\n", HIVE.format(ledger="")
    )
    (problem,) = problems
    assert problem.startswith("spec.yaml:7:13: error: results ")
    assert "a\\nb/r/31/27/ (from publisher.yaml) must not contain control characters" in problem
    assert "\n" not in problem


def test_a_results_template_with_a_control_character_is_refused(tmp_path: Path) -> None:
    config = HIVE.format(ledger="").replace("results: r/", 'results: "r\\t/')
    config = config.replace("{flowNodeId}/\n", '{flowNodeId}/"\n', 1)
    with pytest.raises(Errors) as err:
        specs_of(tmp_path, SPEC.format(db="default", table="t") + "connection: {id: 1}\n", config)
    (problem,) = err.value.errors
    assert "results must contain {jobGroup} then {flowNodeId}, without control characters" in str(problem)


def test_a_big_file_of_unknown_keys_is_judged_in_linear_time(tmp_path: Path) -> None:
    text = (
        SPEC.format(db="default", table="t")
        + "connection: {id: 1}\n"
        + "".join(f"tabel{i}: 1\n" for i in range(45_000))
    )
    started = time.process_time()  # CPU time: about the code, not a busy machine
    _, problems = specs_of(tmp_path, text)
    assert len(problems) == 45_000
    assert problems[0].endswith("unknown key 'tabel0'; did you mean 'table'? (allowed: " + ALLOWED + ")")
    assert problems[-1].endswith("unknown key 'tabel44999' (allowed: " + ALLOWED + ")")  # no fuzzy match past 50
    assert time.process_time() - started < 2.5  # about 1 s here; a hint for each key took 4 s
