"""Shared fixtures: a publisher project on disk, and the Hive engines to publish into.

Engines: the embedded one runs in this process (one per test run: Derby allows one JVM per
metastore); the HiveServer2 is the one .ci/services/hiveserver2.sh starts, named by
PUBLISHER_TEST_HS2=host:port. Without it those tests skip, unless
PUBLISHER_REQUIRE_SERVICES=1 (CI), where a missing engine is a failure.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from publisher import cli
from publisher.relation import Relation
from publisher.targets.base import Target

HIVE_ENGINES = ["embedded", "server"]


def require_service(env: str, what: str) -> str:
    value = os.environ.get(env)
    if value:
        return value
    if os.environ.get("PUBLISHER_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{what} is required (PUBLISHER_REQUIRE_SERVICES=1) but {env} is not set")
    pytest.skip(f"{what} not available: set {env} (scripts/test.sh starts it)")


@pytest.fixture(scope="session")
def embedded_state(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("embedded-hive")


@dataclass
class HiveEngine:
    kind: str
    connection: dict[str, Any]
    target: Target
    database: str

    def table(self, name: str) -> Relation:
        return Relation(self.database, None, name)

    def rows(self, name: str) -> list[tuple[Any, ...]]:
        return self.target.fetch(f"SELECT * FROM `{self.database}`.`{name}`")

    def count(self, name: str) -> int:
        return int(self.target.fetch(f"SELECT COUNT(*) FROM `{self.database}`.`{name}`")[0][0])

    def tables(self) -> set[str]:
        return self.target.table_names(self.table("x"))


@pytest.fixture(params=HIVE_ENGINES)
def hive(request: pytest.FixtureRequest, embedded_state: Path) -> Iterator[HiveEngine]:
    """A Hive engine with a fresh database (dropped afterwards); the ledger lives in it too."""
    from publisher.targets.hive import EmbeddedHive, HiveServer

    database = f"pubtest_{uuid.uuid4().hex[:10]}"
    ledger = {"database": database, "table": "publications"}
    if request.param == "embedded":
        target: Target = EmbeddedHive(embedded_state)
        connection = {"embedded": True, "stateDir": str(embedded_state), "ledger": ledger}
    else:
        host, port = require_service("PUBLISHER_TEST_HS2", "a HiveServer2").split(":")
        target = HiveServer(host, int(port), username="publisher")
        connection = {"host": host, "port": int(port), "auth": "NONE", "username": "publisher", "ledger": ledger}
    target.execute(f"CREATE DATABASE `{database}`")
    try:
        yield HiveEngine(request.param, {"id": 1, "name": "hive", "type": "hive", **connection}, target, database)
    finally:
        with contextlib.suppress(Exception):
            target.execute(f"DROP DATABASE IF EXISTS `{database}` CASCADE")
        target.close()


@dataclass
class Run:
    code: int
    out: str
    err: str


@dataclass
class Project:
    """A publisher project in a temporary folder: publisher.yaml, specs/, results/."""

    root: Path
    connections: list[dict[str, Any]]
    results_template: str = "results/{jobGroup}/{flowNodeId}/"
    specs: list[Path] = field(default_factory=list)

    def __post_init__(self) -> None:
        (self.root / "specs").mkdir(exist_ok=True)
        self.write_config()

    def write_config(self) -> None:
        config = {"results": self.results_template, "connections": self.connections}
        (self.root / "publisher.yaml").write_text(yaml.safe_dump(config, sort_keys=False))

    def spec(self, name: str, **keys: Any) -> Path:
        path = self.root / "specs" / f"{name}.yaml"
        path.write_text(yaml.safe_dump(keys, sort_keys=False))
        self.specs.append(path)
        return path

    def results(self, job_group: int, flow_node_id: int) -> Path:
        return self.root / "results" / str(job_group) / str(flow_node_id)

    def run(self, *args: str) -> Run:
        """The CLI in this process (the embedded engine cannot be shared with a child)."""
        out, err = io.StringIO(), io.StringIO()
        old = Path.cwd()
        os.chdir(self.root)
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                code = cli.main(list(args))
        finally:
            os.chdir(old)
        return Run(code, out.getvalue(), err.getvalue())


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return Project(tmp_path, [{"id": 1, "name": "local", "type": "hive", "embedded": True}])


def snapshot(folder: Path) -> dict[str, tuple[str, int]]:
    """Every file under ``folder``: content hash and modification time."""
    return {
        str(p.relative_to(folder)): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }
