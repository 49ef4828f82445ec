"""The command line as users run it: exit codes, one-line errors, offline plans."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from publisher import cli
from publisher.model.plan import Plan
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


@pytest.mark.parametrize(
    "args",
    [
        ["frobnicate"],
        ["plan", "--format", "yaml"],
        ["apply", "--parallel", "0"],
        ["apply", "--parallel", "-2"],
        ["apply", "--parallel", "many"],
    ],
)
def test_usage_errors_exit_64_not_2_which_means_changes(args: list[str]) -> None:
    result = publisher(*args)
    assert result.returncode == 64, result.stderr
    assert result.stderr.splitlines()[-1].startswith("publisher")
    assert "Traceback" not in result.stderr


def test_parallel_must_be_positive_before_anything_runs() -> None:
    result = publisher("apply", "--parallel", "0")
    assert result.stderr.splitlines()[-1] == "publisher apply: error: argument --parallel: must be 1 or more, not 0"
    assert result.stdout == ""


def test_detailed_exitcode_2_when_there_is_something_to_publish() -> None:
    assert publisher("plan", "--offline", "--detailed-exitcode").returncode == 2
    assert publisher("plan", "--offline").returncode == 0


def test_detailed_exitcode_0_when_nothing_to_publish(monkeypatch: pytest.MonkeyPatch) -> None:
    class NoPool:
        def close(self) -> None:
            pass

    empty = Plan("2026-11-28T12:00:00Z", True, ())
    monkeypatch.setattr(cli, "_plan", lambda args, offline: (empty, None, NoPool()))
    assert cli.main(["plan", "--offline", "--detailed-exitcode"]) == 0


def _boom(args: object) -> int:
    raise RuntimeError("no such thing\nsecond line")


@pytest.mark.parametrize("argv", [["validate"], ["--debug", "validate"], ["validate", "--debug"]])
def test_an_unexpected_exception_is_one_line_and_exit_3(
    argv: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(cli.COMMANDS, "validate", _boom)
    assert cli.main(argv) == 3
    err = capsys.readouterr().err
    assert err.splitlines()[-1] == (
        "error: internal error (a bug in publisher): RuntimeError: no such thing; run with --debug for the traceback"
    )
    assert ("Traceback" in err) == ("--debug" in argv)


def _must_not_plan(args: object) -> int:
    raise AssertionError("planned although the plan could not be saved")


@pytest.mark.parametrize("where", ["missing/plan.json", ".", "ro.json"])
def test_plan_out_is_checked_before_planning(
    where: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(cli.COMMANDS, "plan", _must_not_plan)
    (tmp_path / "ro.json").write_text("{}")
    real_access = os.access
    # Tests may run as root, whom file modes do not stop: fake the one unwritable file.
    monkeypatch.setattr(os, "access", lambda p, mode: not str(p).endswith("ro.json") and real_access(p, mode))
    out = tmp_path / where
    assert cli.main(["plan", "-o", str(out)]) == 1
    why = {
        "missing/plan.json": f"no such folder: {tmp_path / 'missing'}",
        ".": f"{out} is a folder",
        "ro.json": f"{out} is not writable",
    }[where]
    assert capsys.readouterr().err == f"error: cannot write the plan to {out}: {why}\n"


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
    assert json.loads(result.stdout)["format_version"] == 5


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


@pytest.mark.parametrize(
    "content,why",
    [
        ("not json", "not JSON: Expecting value: line 1 column 1 (char 0)"),
        ("[" * 50_000 + "]" * 50_000, "not a publisher plan: nested too deeply"),
        (
            '{"format_version": 1, "created_at": "x", "offline": 0, "publications": []}',
            "not a publisher plan of format",
        ),
        (
            '{"format_version": 5, "created_at": "x", "offline": 0, "publications": []}',
            "offline: expected bool, found 0",
        ),
    ],
)
def test_a_broken_saved_plan_is_one_line_and_exit_1(tmp_path: Path, content: str, why: str) -> None:
    (tmp_path / "plan.json").write_text(content)
    result = publisher("apply", "plan.json", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.startswith(f"error: plan.json: cannot read plan: {why}")
    assert len(result.stderr.splitlines()) == 1


def test_plan_errors_never_repeat_a_secret_in_text_or_markdown(tmp_path: Path) -> None:
    (tmp_path / "publisher.yaml").write_text(
        "results: s3://b/{jobGroup}/{flowNodeId}/\nconnections:\n"
        "  - {id: 3, name: rs, type: redshift, host: h, database: dev, user: u, password: S3cr3tPw, s3: 4}\n"
        "  - {id: 4, name: s3, type: s3, accessKeyId: AKIAS3cr3t, secretAccessKey: S3cr3tKey}\n"
    )
    (tmp_path / "specs").mkdir()
    for fmt in ("text", "markdown"):
        result = publisher("plan", "--format", fmt, cwd=tmp_path)
        assert result.returncode == 1
        assert "found a value that is not shown: it is a secret" in result.stderr
        assert "S3cr3t" not in result.stdout + result.stderr
    assert "connections[0].password must be" in result.stdout  # the markdown
