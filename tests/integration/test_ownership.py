"""The publisher deletes only what it wrote or the folder of a table it owns at that table's
own place: a managed table that someone pointed at a shared folder is refused by every action
that would swap or drop it, and the other team's file stays (both Hive engines)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import HiveEngine, Project
from tests.integration.test_apply_hive import use
from tests.resultfiles import write

pytestmark = pytest.mark.hive


@pytest.mark.parametrize("action", ["truncateAndLoad", "merge", "dropAndLoad"])
def test_a_managed_table_at_a_shared_folder_is_refused_and_the_folder_kept(
    project: Project, hive: HiveEngine, tmp_path: Path, action: str
) -> None:
    use(project, hive)
    db = f"`{hive.database}`"
    columns = "id BIGINT, name STRING, amount DECIMAL(10,2), at TIMESTAMP, day DATE, tags ARRAY<STRING>"
    hive.target.execute(f"CREATE TABLE {db}.`t` ({columns}) STORED AS PARQUET")
    row = "1.00, TIMESTAMP '2026-01-01 00:00:00', DATE '2026-01-01', array('a')"
    hive.target.execute(f"INSERT INTO {db}.`t` VALUES (1, 'gone', {row})")
    shared = tmp_path / "shared folder"
    shared.mkdir()
    other = shared / "_another_teams_file.txt"  # "_": Spark skips it when reading the table
    other.write_text("not the publisher's")
    hive.target.execute(f"ALTER TABLE {db}.`t` SET LOCATION 'file:{shared}'")
    hive.target.execute(f"INSERT INTO {db}.`t` VALUES (2, 'kept', {row})")
    write(project.results(1, 1), "pqt", 1, 3)
    keys = {"mergeKeys": ["id"]} if action == "merge" else {}
    project.spec(
        "a", jobGroup=1, flowNodeId=1, connection={"id": 1}, path=[hive.database], table="t",
        action=action, inputFormat="pqt", **keys,
    )  # fmt: skip
    refused = project.run("apply")
    assert refused.code == 1, refused.out
    (line,) = [x for x in refused.err.splitlines() if "error:" in x]
    assert "is managed but stored at" in line and "would delete files the publisher did not write" in line, line
    assert other.read_text() == "not the publisher's"
    assert hive.target.fetch(f"SELECT id, name FROM {hive.fresh('t')}") == [(2, "kept")]
    assert "t" in hive.tables() and not [n for n in hive.tables() if n.startswith("t_") or "__" in n]
