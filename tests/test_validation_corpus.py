"""The spec corpus: valid specs pass; each invalid spec gives exactly its expected error lines."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import scan_outputs

CASES = Path(__file__).parent / "cases"
VALID = sorted((CASES / "valid").glob("*.yaml"))
INVALID = sorted((CASES / "invalid").glob("*.yaml"))


def validate(*args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "publisher", "validate", "--config", "publisher.yaml", *args],
        cwd=CASES,
        capture_output=True,
        text=True,
        # PYTHONPATH: this checkout's code, not whichever publisher the venv has installed.
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(CASES.parent.parent), "REDSHIFT_PASSWORD": "never-read"},
        timeout=60,
    )
    scan_outputs(CASES, ["validate", *args], result.stdout, result.stderr)
    return result


@pytest.mark.parametrize("spec", VALID, ids=lambda p: p.stem)
def test_valid_spec_passes(spec: Path) -> None:
    result = validate(str(spec.relative_to(CASES)))
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""


@pytest.mark.parametrize("spec", INVALID, ids=lambda p: p.stem)
def test_invalid_spec_reports_expected_errors(spec: Path) -> None:
    result = validate(str(spec.relative_to(CASES)))
    expected = spec.with_suffix(".errors").read_text()
    assert result.returncode == 1
    assert result.stderr == expected
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_all_errors_of_a_run_are_reported_together() -> None:
    result = validate("invalid")
    expected = "".join(p.with_suffix(".errors").read_text() for p in INVALID)
    assert result.returncode == 1
    assert sorted(result.stderr.splitlines()) == sorted(expected.splitlines())
