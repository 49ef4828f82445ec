"""One fixture for every target: ``target`` runs a test once per engine (embedded Hive, the
HiveServer2, the Redshift stand-in, PostgreSQL) through one interface, so each behaviour every target
must show is written once (tests/integration/test_targets.py)."""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Project
from tests.fixtures.hive import _embedded, _server, server_address
from tests.fixtures.hive4 import FLAVOURS, hive4_address, hive4_server
from tests.fixtures.redshift import RedshiftProject
from tests.resultfiles import write
from tests.secrets import assert_no_secret_in_hive

TARGETS = ("embedded", "server", "redshift", "postgres")
SQL_TARGETS = ("redshift", "postgres")
"""Targets whose engine fixture is a RedshiftEngine (tests/fixtures/postgres.py's PostgresEngine is
one too): a schema of the test's own in a PostgreSQL-family database, results on the stand-in's S3."""
# Not in TARGETS (each would run every shared test again): a test asks for them with
# @pytest.mark.parametrize("target", [..., "hive4", "hive4real"], indirect=True).
# hive4: the emulation on Spark; hive4real / hive4acid: Apache Hive 4 (tests/fixtures/hive4.py).
OPT_IN_TARGETS = tuple(FLAVOURS)
# PUBLISHER_TEST_EXTRA_TARGETS=hive4real (comma-separated): every shared test on those too,
# e.g. a whole module on the real Hive 4 with -k hive4real.
EXTRA_TARGETS = tuple(t for t in os.environ.get("PUBLISHER_TEST_EXTRA_TARGETS", "").split(",") if t in OPT_IN_TARGETS)

# What differs between targets in the shared suites, as data: a new target adds its row.
# The test results' columns (tests/resultfiles.py) as each target's catalog names the types the
# publisher creates for them (Hive: its table state; the others: format_type()). Lists of
# strings are arrays, SUPER on Redshift, except in CSV, where a field is text (JSON text here).
CREATED_COLUMNS: dict[str, dict[str, list[tuple[str, str]]]] = {
    "hive": {
        fmt: [
            ("id", "bigint"),
            ("name", "string"),
            ("amount", "decimal(10,2)"),
            ("at", "timestamp"),
            ("day", "date"),
            ("tags", "array<string>"),
        ]
        for fmt in ("pqt", "avro")
    },
    "redshift": {
        fmt: [
            ("id", "bigint"),
            ("name", "character varying(65535)"),
            ("amount", "numeric(10,2)"),
            ("at", "timestamp with time zone"),
            ("day", "date"),
            ("tags", "character varying(65535)" if fmt == "csv" else "super"),
        ]
        for fmt in ("csv", "json", "avro", "pqt")
    },
    "postgres": {
        fmt: [
            ("id", "bigint"),
            ("name", "text"),
            ("amount", "numeric(10,2)"),
            ("at", "timestamp with time zone"),
            ("day", "date"),
            ("tags", "text" if fmt == "csv" else "text[]"),
        ]
        for fmt in ("pqt", "avro", "csv", "json")
    },
}
# CSV and JSON carry no types (a decimal reads as a float, a timestamp as text): specs of text
# results name the types they mean, in the target's own words.
TEXT_RESULT_TYPES: dict[str, dict[str, str]] = {
    "redshift": {"amount": "DECIMAL(10,2)", "at": "TIMESTAMPTZ", "day": "DATE"},
    "postgres": {"amount": "NUMERIC(10,2)", "at": "TIMESTAMPTZ", "day": "DATE"},
}


@dataclass
class Target:
    """A project publishing into one engine, and ways to look at what it published."""

    kind: str
    project: Project
    database: str  # a spec's path
    engine: Any  # tests.conftest.HiveEngine, tests.fixtures.redshift.RedshiftEngine or its PostgresEngine
    tmp: Path

    @property
    def is_hive(self) -> bool:
        return self.kind not in SQL_TARGETS

    @property
    def type(self) -> str:
        """The connection type (publisher/targets/): every Hive engine here is ``hive``."""
        return "hive" if self.is_hive else self.kind

    def created_columns(self, fmt: str) -> list[tuple[str, str]]:
        """The test results' columns (name, type) as the publisher creates them from ``fmt``."""
        return list(CREATED_COLUMNS[self.type][fmt])

    def columns(self, table: str) -> list[tuple[str, str]]:
        """The table's columns (name, type), in CREATED_COLUMNS' words."""
        if not self.is_hive:
            return list(self.engine.columns(table))
        state = self.engine.target.table_state(self.engine.table(table))
        assert state is not None, table
        return [(c.name, c.type) for c in state.columns]

    def create_table(self, table: str, columns: list[tuple[str, str]], comments: dict[str, str] | None = None) -> None:
        """Makes ``table`` by hand, as another job would: ``columns`` in the target's DDL words,
        ``comments`` on some of them (plain words: no quotes)."""
        comments = comments or {}
        if self.is_hive:
            said = {name: f" COMMENT '{text}'" for name, text in comments.items()}
            defined = ", ".join(f"`{name}` {kind}{said.get(name, '')}" for name, kind in columns)
            self.execute(f"CREATE TABLE `{self.database}`.`{table}` ({defined}) STORED AS PARQUET")
            return
        defined = ", ".join(f'"{name}" {kind}' for name, kind in columns)
        self.execute(f"CREATE TABLE {self.engine.qualified(table)} ({defined})")
        for name, text in comments.items():
            self.execute(f"COMMENT ON COLUMN {self.engine.qualified(table)}.\"{name}\" IS '{text}'")

    def column_comment(self, table: str, column: str) -> str | None:
        if self.is_hive:
            described = {row[0]: row[2] for row in self.fetch(f"DESCRIBE {self.relation(table)}")}
            return described.get(column) or None
        oid = f"'{self.relation(table)}'::regclass"
        found = self.fetch(f"SELECT col_description({oid}, attnum) FROM pg_attribute WHERE attrelid = {oid} "
                           f"AND attname = '{column}'")  # fmt: skip
        return found[0][0] if found else None

    def quote(self, name: str) -> str:
        """A column's name as SQL."""
        return f"`{name}`" if self.is_hive else '"' + name.replace('"', '""') + '"'

    def relation(self, table: str) -> str:
        """The table's name as SQL (on Spark, after dropping its cached file list)."""
        return self.engine.fresh(table) if self.is_hive else str(self.engine.qualified(table))

    def text_types(self, fmt: str) -> dict[str, str]:
        """The spec's columnTypes for results of ``fmt`` (none for typed formats)."""
        return dict(TEXT_RESULT_TYPES[self.type]) if fmt in ("csv", "json") else {}

    def result_files(self) -> dict[str, Any]:
        """The job results as stored (names with sizes and hashes, or S3 keys with ETags)."""
        if self.is_hive:
            from tests.conftest import snapshot

            return snapshot(self.project.root / "results")
        return dict(self.engine.objects())

    def table_name(self, table: str) -> str:
        return table if self.is_hive else self.engine.table_name(table)

    def spec(self, name: str, action: str, job: int, table: str = "t", fmt: str = "pqt", **extra: Any) -> Path:
        keys = {"jobGroup": job, "flowNodeId": 1, "connection": {"id": 1}, "path": [self.database]}
        keys |= {"table": self.table_name(table), "action": action, "inputFormat": fmt, **extra}
        return self.project.spec(name, **keys)

    def results(
        self, job: int, first: int, count: int, fmt: str = "pqt", parts: int = 2, *, tricky: bool = False
    ) -> list[dict[str, Any]]:
        if self.is_hive:
            return write(self.project.results(job, 1), fmt, first, count, parts, tricky=tricky)
        data = write(self.tmp / "local-results" / str(job), fmt, first, count, parts, tricky=tricky)
        self.engine.upload(self.tmp / "local-results" / str(job), job)
        return data

    def count(self, table: str) -> int:
        return int(self.engine.count(table))

    def rows(self, table: str) -> list[tuple[Any, ...]]:
        """The table's rows, comparable with ``expected``."""
        if self.is_hive:
            from tests.integration.test_apply_hive import table_rows

            return table_rows(self.engine, table)
        from tests.integration.test_apply_redshift import table_rows as redshift_rows

        return redshift_rows(self.engine, table)

    def expected(self, data: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
        if self.is_hive:
            from tests.integration.test_apply_hive import expected

            return expected(data)
        from tests.integration.test_apply_redshift import expected as redshift_expected

        return redshift_expected(data)

    def tables(self) -> set[str]:
        return set(self.engine.tables())

    def ledger_table(self) -> str:
        """The ledger, as SQL (it lives beside the test's tables on every engine)."""
        if self.is_hive:
            return self.engine.fresh("publications")
        return str(self.engine.qualified("publications"))

    def fetch(self, sql: str) -> list[tuple[Any, ...]]:
        return list(self.engine.target.fetch(sql) if self.is_hive else self.engine.fetch(sql))

    def execute(self, sql: str) -> None:
        if self.is_hive:
            self.engine.target.execute(sql)
        else:
            self.engine.execute(sql)

    def details(self, job: int) -> list[str | None]:
        """The ledger's detail of job ``job``'s 'done' rows."""
        query = f"SELECT detail FROM {self.ledger_table()} WHERE state = 'done' AND job_group = {int(job)}"
        return [row[0] for row in self.fetch(query)]


@pytest.fixture(params=TARGETS + EXTRA_TARGETS)
def target(request: pytest.FixtureRequest, tmp_path: Path, hive_state_dir: Path) -> Iterator[Target]:
    """A fresh database (Hive) or schema and bucket (Redshift) per test, per engine."""
    if request.param in SQL_TARGETS:
        # The PostgreSQL target runs on the stand-in's server: the same marker selects it.
        request.applymarker(pytest.mark.redshift)
        if request.param == "postgres":
            request.applymarker(pytest.mark.postgres)
        engine = request.getfixturevalue(request.param)
        project = RedshiftProject(
            tmp_path, engine.connections, results_template=engine.results_template, results_connection="s3"
        )
        database = "dev" if request.param == "redshift" else engine.database
        yield Target(request.param, project, database, engine, tmp_path)
        return
    request.applymarker(pytest.mark.hive)
    from tests.conftest import HiveEngine

    if request.param in FLAVOURS:
        request.applymarker(pytest.mark.hive4)
        hive_target = hive4_server(request.param)
    else:
        hive_target = _embedded(hive_state_dir) if request.param == "embedded" else _server()
    database = f"pubtest_{secrets.token_hex(5)}"
    hive_target.execute(f"CREATE DATABASE `{database}`")
    ledger = {"database": database, "table": "publications"}
    if request.param == "embedded":
        connection: dict[str, Any] = {"embedded": True, "stateDir": str(hive_state_dir)}
    else:
        host, port = hive4_address(request.param) if request.param in FLAVOURS else server_address()
        connection = {"host": host, "port": port, "auth": "NONE", "username": "publisher"}
    connection = {"id": 1, "name": "hive", "type": "hive", **connection, "ledger": ledger}
    engine = HiveEngine(request.param, connection, hive_target, database)
    try:
        yield Target(request.param, Project(tmp_path, [connection]), database, engine, tmp_path)
        assert_no_secret_in_hive(hive_target, database)
    finally:
        with contextlib.suppress(Exception):
            hive_target.execute(f"DROP DATABASE IF EXISTS `{database}` CASCADE")
        hive_target.close()
