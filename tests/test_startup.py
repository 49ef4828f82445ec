"""Start-up: a command imports only what it uses (issue 15, goal 1).

`publisher validate` runs on every pull request; the heavy modules (pyarrow and numpy, pandas,
boto3, the drivers, Spark, the web server, and jsonschema, which only describes errors) must
not load for it. Checked in a fresh interpreter through sys.modules: behaviour, not timing
(bench/plan_speed.py times it).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

HEAVY = ("pyarrow", "numpy", "pandas", "boto3", "botocore", "pyspark", "py4j", "redshift_connector", "pyhive")
HEAVY += ("thrift", "starlette", "uvicorn", "sqlalchemy", "fastavro", "jsonschema")
HEAVY += ("openlineage",)  # the lineage extra: imported only where lineage is configured

# Runs the CLI in this interpreter, then reports which modules it loaded.
RUN = """
import json, sys
from publisher.cli import main
code = main(sys.argv[1:])
print(json.dumps([code, sorted(sys.modules)]))
"""


def _loaded(*argv: str) -> set[str]:
    """The top-level packages the command loaded."""
    return {m.split(".")[0] for m in _modules(*argv)}


def _modules(*argv: str) -> set[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    done = subprocess.run(
        [sys.executable, "-c", RUN, *argv], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    code, modules = json.loads(done.stdout.strip().splitlines()[-1])
    assert code == 0, done.stderr
    return set(modules)


def test_validate_imports_nothing_heavy() -> None:
    assert _loaded("validate", "specs/") & set(HEAVY) == set()


def test_validate_loads_none_of_the_sql_side_of_publisher() -> None:
    # Checking specs needs the schema, the YAML positions and each target's rules
    # (publisher/targets/), not the dialects that write SQL, the plan model or the planner.
    loaded = _modules("validate", "specs/")
    assert "publisher.inputs.spec" in loaded  # specs were really loaded
    sql_side = ("publisher.dialects", "publisher.model.plan", "publisher.planning", "publisher.reports")
    assert {m for m in loaded if m.startswith(sql_side)} == set()


def test_offline_plan_of_local_results_loads_no_driver_cloud_client_or_pandas() -> None:
    # pyarrow reads the Parquet footers and fastavro the Avro headers the example specs publish:
    # those are used. A driver, boto3 (local results), Spark or pandas are not.
    loaded = _loaded("plan", "--offline", "specs/", "-o", os.devnull)
    assert "pyarrow" in loaded  # the check runs on a plan that really read its results
    assert loaded & set(HEAVY) - {"pyarrow", "numpy", "fastavro"} == set()


@pytest.mark.parametrize("module", HEAVY)
def test_the_list_names_real_modules(module: str) -> None:
    """A misspelt name would make the checks above pass for nothing."""
    import importlib.util

    if importlib.util.find_spec(module) is None:
        pytest.skip(f"{module} is not installed here (an optional extra)")
