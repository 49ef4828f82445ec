"""Paths are data: a project folder or S3 prefix with quotes, a dollar sign, a hash, spaces
and non-ASCII letters publishes exactly its own files (every literal that reaches SQL goes
through the dialect's quoting). What a literal or the engine's file system cannot hold is
refused before anything runs: a newline anywhere; on Hive a backslash or a question mark,
which Hadoop's paths do not keep (measured: PATH_NOT_FOUND, "Relative path in absolute URI")."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import HiveEngine, Project
from tests.fixtures.redshift import RedshiftEngine, RedshiftProject
from tests.integration.test_apply_hive import expected, table_rows
from tests.integration.test_apply_redshift import expected as redshift_expected
from tests.integration.test_apply_redshift import table_rows as redshift_rows
from tests.resultfiles import write

ODD = "we'ird $HOME #1 ünï"


@pytest.mark.hive
def test_hive_project_folder_with_quotes_dollar_hash_spaces_and_non_ascii(tmp_path: Path, hive: HiveEngine) -> None:
    root = tmp_path / ODD
    root.mkdir()
    project = Project(root, [hive.connection])
    data = write(project.results(10, 1), "pqt", 1, 6)
    for name, action in (("a", "dropAndLoad"), ("b", "truncateAndLoad")):
        project.spec(
            name,
            jobGroup=10,
            flowNodeId=1,
            connection={"id": 1},
            path=[hive.database],
            table="t",
            action=action,
            inputFormat="pqt",
        )
        result = project.run("apply", f"specs/{name}.yaml")
        assert result.code == 0, result.err
        assert table_rows(hive, "t") == expected(data)
    ledger = hive.target.fetch(f"SELECT spec_file FROM `{hive.database}`.`publications` WHERE state = 'done'")
    assert sorted(r[0] for r in ledger) == ["specs/a.yaml", "specs/b.yaml"]


@pytest.mark.parametrize("folder", ["line\nbreak", "back\\slash", "what?"])
def test_a_folder_the_engine_cannot_read_is_refused_before_anything_runs(tmp_path: Path, folder: str) -> None:
    root = tmp_path / folder
    root.mkdir()
    project = Project(root, [{"id": 1, "name": "local", "type": "hive", "embedded": True}])
    write(project.results(10, 1), "pqt", 1, 3)
    project.spec(
        "a",
        jobGroup=10,
        flowNodeId=1,
        connection={"id": 1},
        path=["default"],
        table="t",
        action="dropAndLoad",
        inputFormat="pqt",
    )
    result = project.run("apply")
    assert result.code == 1
    assert len(result.err.strip().splitlines()) == 1 and "error:" in result.err
    assert not (root / ".publisher").exists(), "no engine was started"


@pytest.mark.redshift
def test_redshift_prefix_with_quotes_dollar_spaces_and_non_ascii(
    redshift_project: RedshiftProject, redshift: RedshiftEngine, tmp_path: Path
) -> None:
    rs = redshift
    data = write(tmp_path / "r", "pqt", 1, 6)
    prefix = "results/we'ird $HOME ünï/"
    for path in sorted((tmp_path / "r").iterdir()):
        rs.put(prefix + path.name, path.read_bytes())
    redshift_project.spec(
        "a",
        jobGroup=10,
        flowNodeId=1,
        connection={"id": 1},
        path=["dev"],
        table=rs.table_name("t"),
        action="dropAndLoad",
        inputFormat="pqt",
        source=rs.uri(prefix),
    )
    result = redshift_project.run("apply")
    assert result.code == 0, result.err
    assert redshift_rows(rs, "t") == redshift_expected(data)
