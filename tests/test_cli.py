"""The command line as users run it: exit codes, one-line errors, offline plans."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import scan_outputs

ROOT = Path(__file__).resolve().parent.parent


def publisher(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([sys.executable, "-m", "publisher", *args], cwd=cwd, capture_output=True, text=True)
    scan_outputs(cwd, args, result.stdout, result.stderr)
    return result


def test_validate_the_example_project() -> None:
    result = publisher("validate")
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"{len(list((ROOT / 'specs').glob('*.yaml')))} spec(s) valid\n"


def test_usage_errors_exit_2() -> None:
    assert publisher("frobnicate").returncode == 2
    assert publisher("plan", "--format", "yaml").returncode == 2


def test_missing_path_is_an_error_not_a_traceback() -> None:
    result = publisher("validate", "no/such/dir")
    assert result.returncode == 1
    assert result.stderr == "error: no such spec file or folder: no/such/dir\n"


def test_offline_plan_says_so_and_saves_json(tmp_path: Path) -> None:
    out = tmp_path / "plan.json"
    result = publisher("plan", "--offline", "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert "(planned offline: targets not inspected)" in result.stdout.splitlines()[0]
    plan = json.loads(out.read_text())
    assert plan["offline"] is True
    assert [p["id"]["action"] for p in plan["publications"]] == [
        "dropAndLoad",
        "truncateAndLoad",
        "createAndLoad",
        "dropAndLoad",
        "load",
        "create",
    ]


def test_plan_json_format_is_the_saved_plan(tmp_path: Path) -> None:
    result = publisher("plan", "--offline", "--format", "json")
    assert json.loads(result.stdout)["format_version"] == 2


def test_invalid_input_runs_nothing(tmp_path: Path) -> None:
    (tmp_path / "specs").mkdir()
    (tmp_path / "publisher.yaml").write_text(
        "results: r/{jobGroup}/{flowNodeId}/\nconnections:\n  - {id: 1, name: local, type: hive, embedded: true}\n"
    )
    (tmp_path / "specs" / "a.yaml").write_text(
        "jobGroup: 1\nflowNodeId: 2\nconnection: {id: 1}\npath: [default]\ntable: t\naction: load\ninputFormat: pqt\n"
    )
    result = publisher("apply", cwd=tmp_path)
    assert result.returncode == 1
    # The results are missing: reported at the spec, and no engine was started (no state dir).
    assert result.stderr.startswith("specs/a.yaml:1:1: error: results")
    assert not (tmp_path / ".publisher").exists()


@pytest.mark.parametrize("command", ["validate", "plan", "apply"])
def test_help_for_each_command(command: str) -> None:
    result = publisher(command, "--help")
    assert result.returncode == 0
    assert "--config" in result.stdout
