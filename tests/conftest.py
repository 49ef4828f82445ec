"""Shared fixtures: a publisher project on disk, and the Hive engines to publish into.

The engines themselves come from tests/fixtures/ (see there for how they start and
when they skip).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from publisher import cli
from publisher.model.relation import Relation
from publisher.model.target import Target
from tests.fixtures.hive import server_address
from tests.secrets import assert_no_secret

pytest_plugins = ["tests.fixtures.hive", "tests.fixtures.hive4", "tests.fixtures.redshift", "tests.fixtures.postgres"]


@dataclass
class HiveEngine:
    """A Hive engine with a database of the test's own, and the connection that reaches it."""

    kind: str
    connection: dict[str, Any]
    target: Target
    database: str

    def table(self, name: str) -> Relation:
        return Relation(self.database, None, name)

    def fresh(self, name: str) -> str:
        """The table's name, after dropping this session's cached file list of it: Spark
        sessions cache it, and the publisher replaced the table through another session.
        Apache Hive caches no file list and has no REFRESH TABLE."""
        from tests.fixtures.hive4 import REAL_HIVE

        if self.kind not in REAL_HIVE:
            self.target.execute(f"REFRESH TABLE `{self.database}`.`{name}`")
        return f"`{self.database}`.`{name}`"

    def rows(self, name: str) -> list[tuple[Any, ...]]:
        return self.target.fetch(f"SELECT * FROM {self.fresh(name)}")

    def count(self, name: str) -> int:
        return int(self.target.fetch(f"SELECT COUNT(*) FROM {self.fresh(name)}")[0][0])

    def tables(self) -> set[str]:
        return self.target.table_names(self.table("x"))


@pytest.fixture
def hive(request: pytest.FixtureRequest, hive_target: Target, hive_database: str, hive_state_dir: Path) -> HiveEngine:
    """``hive_target`` and ``hive_database`` as a publisher.yaml connection; the ledger lives
    in the test's database too, so tests do not see each other's publications."""
    from publisher.engines.hive_embedded import EmbeddedHive

    ledger = {"database": hive_database, "table": "publications"}
    flavour = request.node.callspec.params.get("hive_target") if hasattr(request.node, "callspec") else None
    if flavour not in (None, "embedded", "server"):
        from tests.fixtures.hive4 import hive4_connection

        return HiveEngine(flavour, hive4_connection(ledger, flavour), hive_target, hive_database)
    if isinstance(hive_target, EmbeddedHive):
        kind, connection = "embedded", {"embedded": True, "stateDir": str(hive_state_dir)}
    else:
        host, port = server_address()
        kind, connection = "server", {"host": host, "port": port, "auth": "NONE", "username": "publisher"}
    connection = {"id": 1, "name": "hive", "type": "hive", **connection, "ledger": ledger}
    return HiveEngine(kind, connection, hive_target, hive_database)


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
        scan_outputs(self.root, args, out.getvalue(), err.getvalue())
        return Run(code, out.getvalue(), err.getvalue())


def scan_outputs(root: Path, args: tuple[str, ...] | list[str], out: str, err: str) -> None:
    """No secret in a CLI run's output, nor in the plan it saved (-o FILE)."""
    where = f"`publisher {' '.join(args)}`"
    assert_no_secret(out, f"the stdout of {where}")
    assert_no_secret(err, f"the stderr of {where}")
    for flag, value in zip(args, list(args)[1:], strict=False):
        if flag in ("-o", "--out") and (root / value).is_file():
            assert_no_secret((root / value).read_text(encoding="utf-8", errors="replace"), f"the plan {value}")


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


STEP_HEADER = re.compile(r"^\s*\d+\. -- ")
STAMP = re.compile(r"\d{14}")


def printed_statements(output: str) -> list[str]:
    """The numbered steps that ``apply`` (or ``apply --dry-run``) printed, each with its
    statement; the plan-time stamp in names replaced by <stamp>, results (-> ...) left out."""
    steps: list[str] = []
    for line in output.splitlines():
        if STEP_HEADER.match(line):
            steps.append(line.strip())
        elif steps and line.startswith(" " * 8) and not line.lstrip().startswith("-> "):
            steps[-1] += "\n" + line.strip()
    return [STAMP.sub("<stamp>", s) for s in steps]
