"""A machine that cannot run a target's engine (a driver not installed, no Java) is told so in
one line per run that names what to install, whatever the number of specs; the engine is
tried once per run.

A missing module is simulated with a ``None`` entry in ``sys.modules`` (Python's own way to
make an import fail), in a child process so that this one keeps its modules. The Java tests
start no JVM: with no java to be found, publisher refuses before Spark's launcher runs."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from publisher import DISTRIBUTION
from publisher.engines import drivers, pool
from publisher.inputs.config import Config, Connection, load_config
from publisher.model.errors import EngineUnavailable
from publisher.model.target import Target

ROOT = Path(__file__).resolve().parent.parent
HIVESERVER2 = {"id": 2, "name": "hs2", "type": "hive", "host": "127.0.0.1", "port": 1, "auth": "NONE"}


def example_project(tmp_path: Path, connection: dict[str, object] | None = None) -> Path:
    """The example project (six specs, results on disk), optionally on another connection."""
    shutil.copytree(ROOT / "specs", tmp_path / "specs")
    shutil.copytree(ROOT / "examples" / "results", tmp_path / "examples" / "results")
    config = yaml.safe_load((ROOT / "publisher.yaml").read_text())
    if connection is not None:
        config["connections"] = [{**connection, "id": 1, "name": "local"}]
    config["server"] = {"tokens": ["${PUBLISHER_TEST_TOKEN}"]}
    (tmp_path / "publisher.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return tmp_path


def run_cli(
    root: Path, args: list[str], missing: tuple[str, ...] = (), env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """publisher ARGS in a child process where each module of ``missing`` cannot be imported."""
    code = (
        "import sys\n"
        f"for name in {missing!r}:\n"
        "    sys.modules[name] = None\n"
        "from publisher.cli import main\n"
        f"sys.exit(main({args!r}))\n"
    )
    base = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(ROOT)}
    base["PUBLISHER_TEST_TOKEN"] = "a-token-long-enough-for-serve"
    return subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, env={**base, **(env or {})}, timeout=120
    )


@pytest.mark.parametrize(
    ("connection", "module", "expected"),
    [
        (None, "pyspark", f"error: the embedded Hive engine needs pyspark: pip install '{DISTRIBUTION}[embedded]'"),
        (HIVESERVER2, "pyhive", f"error: a HiveServer2 connection needs pyhive: pip install '{DISTRIBUTION}[hive]'"),
    ],
    ids=["embedded", "hiveserver2"],
)
@pytest.mark.parametrize("command", ["plan", "status"])
def test_a_missing_driver_is_one_line_per_run_naming_the_extra(
    tmp_path: Path, connection: dict[str, object] | None, module: str, expected: str, command: str
) -> None:
    root = example_project(tmp_path, connection)
    result = run_cli(root, [command], missing=(module,))
    assert result.returncode == 1
    assert result.stderr.splitlines() == [expected], result.stderr  # six specs, one line
    assert result.stdout == ""


def test_serve_without_its_extra_is_one_line(tmp_path: Path) -> None:
    root = example_project(tmp_path)
    result = run_cli(root, ["serve"], missing=("uvicorn",))
    assert result.returncode == 1
    assert result.stderr.splitlines() == [f"error: publisher serve needs uvicorn: pip install '{DISTRIBUTION}[server]'"]


def test_validate_and_offline_plans_need_no_driver(tmp_path: Path) -> None:
    root = example_project(tmp_path)
    missing = ("pyspark", "pyhive", "redshift_connector", "starlette", "uvicorn")
    assert run_cli(root, ["validate"], missing=missing).returncode == 0
    offline = run_cli(root, ["plan", "--offline"], missing=missing)
    assert offline.returncode == 0 and offline.stderr == ""


def _connection(config: Config, type_: str) -> Connection:
    return next(c for c in config.connections if c.type == type_)


def test_a_missing_redshift_connector_names_the_redshift_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "redshift_connector", None)
    monkeypatch.setenv("REDSHIFT_PASSWORD", "never-sent")
    config = load_config(ROOT / "tests" / "cases" / "publisher.yaml")
    with pytest.raises(EngineUnavailable) as raised:
        pool.open_target(_connection(config, "redshift"), config)
    expected = f"a Redshift connection needs redshift_connector: pip install '{DISTRIBUTION}[redshift]'"
    assert raised.value.message == expected


def test_publishers_own_import_errors_stay_bugs() -> None:
    with pytest.raises(ImportError), drivers.needs(drivers.EMBEDDED):
        raise ImportError("cannot import name 'x'", name="publisher.engines.nothing")


def test_every_extra_named_is_one_of_pyproject() -> None:
    import tomllib

    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert {e.name for e in drivers.EXTRAS} <= set(extras)


def test_an_unavailable_engine_is_tried_once_per_run(monkeypatch: pytest.MonkeyPatch) -> None:
    attempts: list[str] = []

    def open_target(connection: Connection, config: Config) -> Target:
        attempts.append(connection.name)
        raise EngineUnavailable("the embedded Hive engine needs Java 17: no java on PATH and JAVA_HOME is not set")

    monkeypatch.setattr(pool, "open_target", open_target)
    config = load_config(ROOT / "tests" / "cases" / "publisher.yaml")
    connections = pool.Pool(config)
    local = _connection(config, "hive")
    errors = []
    for _ in range(3):
        with pytest.raises(EngineUnavailable) as raised:
            connections.target(local)
        errors.append(raised.value)
    assert attempts == ["local"]
    assert errors[0] is errors[1] is errors[2]


JAVA_HINT = "install it and set JAVA_HOME to it, or put its java on PATH"


@pytest.mark.hive  # imports pyspark (installed with the embedded extra); starts no JVM
@pytest.mark.parametrize(
    ("java_home", "why"),
    [
        ("/nonexistent", "JAVA_HOME is /nonexistent, which has no bin/java"),
        (None, "no java on PATH and JAVA_HOME is not set"),
    ],
    ids=["JAVA_HOME-wrong", "no-java"],
)
def test_no_java_is_one_line_and_no_start_attempt(tmp_path: Path, java_home: str | None, why: str) -> None:
    pytest.importorskip("pyspark")
    root = example_project(tmp_path / "project")
    empty = tmp_path / "bin"  # a PATH without java (nor anything else: python runs by its full path)
    empty.mkdir()
    env = {"PATH": str(empty)} | ({"JAVA_HOME": java_home} if java_home else {})
    result = run_cli(root, ["plan"], env=env)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [f"error: the embedded Hive engine needs Java 17: {why}; {JAVA_HINT}"]
    assert not (root / ".publisher" / "hive" / "spark.log").exists(), "Spark's launcher was not to run"


@pytest.mark.parametrize(("version", "problem"), [("11.0.22", True), ("1.8.0_392", True), ("17.0.15", False)])
def test_a_java_older_than_spark_needs_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, version: str, problem: bool
) -> None:
    from publisher.engines.hive_embedded import _java_problem

    java = tmp_path / "jdk" / "bin" / "java"
    java.parent.mkdir(parents=True)
    java.write_text("#!/bin/sh\nexit 1\n")  # never run: the version comes from the release file
    java.chmod(0o755)
    (tmp_path / "jdk" / "release").write_text(f'IMPLEMENTOR="Test"\nJAVA_VERSION="{version}"\n')
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "jdk"))
    major = version.removeprefix("1.").split(".")[0]
    assert _java_problem(17) == (f"{java} is Java {major}" if problem else None)
