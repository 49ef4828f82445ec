"""Every benchmark runs at its --small size, so that none rots (issue 15, goal 6).

A smoke run checks that the script still runs against the code and prints its tables; it
asserts nothing about timings (the figures are read from the full runs, bench/README.md).
Baselines outside the [dev] extra (check-jsonschema, dlt) are left out of a smoke run when
they are not installed.

The live benchmarks run against the Redshift stand-in and against the HiveServer2, each
half on its own, so that a failure names the target.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fixtures.hive import server_address
from tests.fixtures.redshift import Endpoint

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
LIMIT = 600  # seconds: a hung benchmark fails the run rather than stalling CI


def _run(script: str, *args: str, env: dict[str, str] | None = None) -> str:
    # Run from the tree under test, whatever publisher the venv was installed from.
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    done = subprocess.run(
        [sys.executable, str(BENCH / script), "--small", *args],
        cwd=ROOT,
        env={**os.environ, **(env or {}), "PYTHONPATH": path},
        capture_output=True,
        text=True,
        timeout=LIMIT,
    )
    assert done.returncode == 0, f"{script} --small failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    assert "|---" in done.stdout, done.stdout  # it printed its table
    return done.stdout


@pytest.mark.slow
def test_plan_speed() -> None:
    shown = _run("plan_speed.py")
    assert "| publisher validate (1 spec) |" in shown  # the start-up rows


@pytest.mark.slow
def test_plan_data_size() -> None:
    _run("plan_data_size.py")


@pytest.mark.slow
def test_result_files() -> None:
    # Starts its own moto S3 server on a loopback port, and stops it.
    shown = _run("result_files.py")
    assert "| local disk | 100 |" in shown and "| moto S3 | 100 |" in shown


@pytest.mark.slow
@pytest.mark.redshift
@pytest.mark.parametrize(
    ("script", "args"),
    [
        ("live_plan.py", ["--targets", "redshift"]),
        ("load_speed.py", ["--targets", "redshift"]),
        ("many_publications.py", ["--targets", "redshift"]),
        ("merge_speed.py", ["--targets", "redshift"]),
        ("ledger_history.py", ["--targets", "redshift"]),
        ("serve_load.py", []),  # the stand-in only
        ("load_speed.py", ["--targets", "postgres"]),  # the stand-in's PostgreSQL, a database of its own
        ("postgres_writers.py", []),
    ],
)
def test_live_benchmarks_on_the_redshift_stand_in(script: str, args: list[str], redshift_endpoint: Endpoint) -> None:
    _run(script, *args)


@pytest.mark.slow
@pytest.mark.hive
@pytest.mark.parametrize(
    "script", ["live_plan.py", "load_speed.py", "many_publications.py", "merge_speed.py", "ledger_history.py"]
)
def test_live_benchmarks_on_hiveserver2(script: str, redshift_endpoint: Endpoint) -> None:
    # The benchmarks read both services' addresses (bench/live.py), the stand-in's included.
    _, port = server_address()
    _run(script, "--targets", "hive", env={"PUBLISHER_HS2_PORT": str(port)})
