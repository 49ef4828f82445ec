"""Every value reaches the table as written: Spark and Hive replace ``${...}`` in SQL text,
string literals included (``spark.sql.variable.substitute``, ``hive.variable.substitute``),
unless the session turns that off. The publisher turns it off in every Hive session and reads
it back; these tests put ``${...}`` into every literal slot a publication writes and read each
value back byte for byte, on every engine, and show the plan's refusal where a server keeps
substitution on."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from publisher.engines import hive_substitution
from tests.conftest import HiveEngine, Project
from tests.integration.conftest import Target
from tests.integration.test_apply_hive import use

# Each one names something a server would put in its place: the server's environment (an API
# token, HOME), a Java system property, Hive and Spark settings, a session variable.
MARKED = (
    "${env:HOME}",
    "${env:PUBLISHER_API_TOKEN}",
    "${system:user.name}",
    "${hiveconf:hive.metastore.warehouse.dir}",
    "${hivevar:x}",
    "${spark.app.name}",
    "a ${HOME} b",
)


def write_rows(folder: Path, rows: list[dict[str, Any]]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows), folder / "part-00000.parquet")
    (folder / "_SUCCESS").write_bytes(b"")


def results(target: Target, job: int, rows: list[dict[str, Any]]) -> None:
    if target.is_hive:
        write_rows(target.project.results(job, 1), rows)
    else:
        write_rows(target.tmp / "local-results" / str(job), rows)
        target.engine.upload(target.tmp / "local-results" / str(job), job)


def test_marked_values_and_spec_names_reach_the_table_and_ledger_as_written(
    target: Target, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rows, and the spec file's name in the ledger's rows, hold ``${...}`` exactly as written."""
    monkeypatch.setenv("PUBLISHER_API_TOKEN", "token-that-must-not-leak")
    rows = [{"id": i, "name": value} for i, value in enumerate(MARKED)]
    results(target, 1, rows)
    target.spec("a${env:HOME}", "dropAndLoad", 1)
    applied = target.project.run("apply")
    assert applied.code == 0, applied.err
    quoted = target.engine.fresh("t") if target.is_hive else target.engine.qualified("t")
    got = sorted(target.fetch(f"SELECT id, name FROM {quoted}"))
    assert got == [(r["id"], r["name"]) for r in rows]
    files = {str(r[0]) for r in target.fetch(f"SELECT spec_file FROM {target.ledger_table()}")}
    assert files == {"specs/a${env:HOME}.yaml"}


def _partitioned(hive: HiveEngine, table: str) -> None:
    db = f"`{hive.database}`"
    hive.target.execute(
        f"CREATE TABLE {db}.`{table}` (id BIGINT, name STRING) PARTITIONED BY (dt STRING) STORED AS PARQUET"
    )


def _values(hive: HiveEngine, table: str, column: str) -> list[str]:
    return sorted(str(r[0]) for r in hive.target.fetch(f"SELECT DISTINCT {column} FROM {hive.fresh(table)}"))


@pytest.mark.hive
def test_static_and_dynamic_partition_values_and_a_results_folder_arrive_as_written(
    project: Project, hive: HiveEngine, tmp_path: Path
) -> None:
    """A static partition value (a literal in INSERT ... PARTITION) and dynamic ones that a
    partition switch names in ALTER TABLE ... PARTITION, each with ``${...}``, each read back as
    written. A results folder named with ``${...}`` is refused at plan time: Spark reads a
    Parquet table's folder as a Hadoop glob, where ``{...}`` names another folder."""
    use(project, hive)
    _partitioned(hive, "t")
    base = {"jobGroup": 1, "flowNodeId": 1, "connection": {"id": 1}, "path": [hive.database], "table": "t"}
    static = "${env:HOME}"
    write_rows(project.results(1, 1), [{"id": 1, "name": "x"}])
    project.spec("a", **base, action="load", inputFormat="pqt", partition={"dt": static})
    assert project.run("apply").code == 0
    assert _values(hive, "t", "dt") == [static]

    # The results in a folder named with ${spark.app.name} (the embedded engine's app name is
    # "publisher": substituted, the path would name another folder): refused, nothing runs.
    marked = tmp_path / "job${spark.app.name}"
    dynamic = [{"id": 10 + i, "name": "y", "dt": value} for i, value in enumerate(MARKED)]
    write_rows(marked, dynamic)
    (project.root / "specs" / "a.yaml").unlink()
    spec = {**base, "jobGroup": 2, "source": str(marked) + "/"}
    project.spec("b", **spec, action="truncateAndLoad", inputFormat="pqt", overwrite="partitions")
    refused = project.run("apply")
    assert refused.code == 1 and "which Spark reads as a Hadoop glob pattern" in refused.err, refused.err
    assert _values(hive, "t", "dt") == [static]
    folder = tmp_path / "job $HOME 'x'"
    write_rows(folder, dynamic)
    project.spec(
        "b",
        **{**spec, "source": str(folder) + "/"},
        action="truncateAndLoad",
        inputFormat="pqt",
        overwrite="partitions",
    )
    applied = project.run("apply")
    assert applied.code == 0, applied.err
    assert _values(hive, "t", "dt") == sorted(MARKED)  # the static one among them, replaced
    got = sorted((int(r[0]), str(r[1])) for r in hive.target.fetch(f"SELECT id, dt FROM {hive.fresh('t')}"))
    assert got == sorted((r["id"], r["dt"]) for r in dynamic)


@pytest.mark.hive
def test_a_server_that_keeps_substitution_on_gets_a_refused_plan(
    project: Project, hive: HiveEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server whose restricted list keeps substitution on (emulated: the publisher's SET is
    replaced by one that turns it on): the plan refuses the marked partition value in one line
    naming the setting and the value, and nothing runs."""
    use(project, hive)
    _partitioned(hive, "t")
    write_rows(project.results(1, 1), [{"id": 1, "name": "x"}])
    base = {"jobGroup": 1, "flowNodeId": 1, "connection": {"id": 1}, "path": [hive.database], "table": "t"}
    project.spec("a", **base, action="load", inputFormat="pqt", partition={"dt": "${env:HOME}"})

    def keep_on(execute: Any) -> None:
        for key in hive_substitution.SUBSTITUTION_KEYS:
            execute(f"SET {key}=true")

    monkeypatch.setattr(hive_substitution, "set_off", keep_on)
    try:
        before = hive.tables()
        for command in ("plan", "apply"):
            refused = project.run(command)
            assert refused.code == 1, refused.out
            (line,) = [x for x in refused.err.splitlines() if "error:" in x]
            assert "spark.sql.variable.substitute=true" in line and "'${env:HOME}'" in line, line
        assert hive.tables() == before and hive.count("t") == 0
    finally:
        monkeypatch.undo()
        if hive.kind == "embedded":  # one Spark session serves the whole test process
            hive_substitution.set_off(hive.target.execute)
