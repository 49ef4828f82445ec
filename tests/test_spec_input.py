"""Specs at the input edge: what validation refuses, and what it leaves as inert data."""

from __future__ import annotations

from pathlib import Path

import pytest

from publisher.config import load_config
from publisher.spec import Spec, load_specs

CASES = Path(__file__).parent / "cases"
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
        "  - {id: 3, name: rs, type: redshift, host: h, database: dev, user: u, password: '${P}', s3: 4}\n"
        "  - {id: 4, name: s3, type: s3}\n"
    )
    specs, problems = specs_of(tmp_path, SPEC.format(db="dev", table="t") + "connection: {id: 3}\n", config)
    assert problems == []
    (spec,) = specs
    assert spec.source == "s3://bucket/${AWS_SECRET_ACCESS_KEY}/31/27/"
