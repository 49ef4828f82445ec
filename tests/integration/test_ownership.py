"""The publisher deletes only what it wrote or the folder of a table it owns at that table's
own place: a managed table that someone pointed at a shared folder is refused by every action
that would swap or drop it, and the other team's file stays (both Hive engines)."""

from __future__ import annotations

from pathlib import Path

import pytest

from publisher.dialects import dialect_for
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
    # Apache Hive's SET LOCATION reads its text as a java.net.URI before it uses it as a path: a
    # space is refused there ("Unable to get path"), and 'shared%20folder' would be another
    # folder. Hive's limitation, not the publisher's quoting; its plans refuse such a swap.
    apache = (hive.target.product() or "").startswith("Apache Hive")
    shared = tmp_path / ("shared_folder" if apache else "shared folder")
    shared.mkdir()
    other = shared / "_another_teams_file.txt"  # "_": Spark skips it when reading the table
    other.write_text("not the publisher's")
    hive.target.execute(f"ALTER TABLE {db}.`t` SET LOCATION {dialect_for('hive').literal(f'file:{shared}')}")
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
    # Apache Hive 4's metastore made the plain CREATE TABLE external with purge: owned all the same.
    owner = "is external, owned but stored at" if apache else "is managed but stored at"
    assert owner in line and "would delete files the publisher did not write" in line, line
    assert other.read_text() == "not the publisher's"
    assert hive.target.fetch(f"SELECT id, name FROM {hive.fresh('t')}") == [(2, "kept")]
    assert "t" in hive.tables() and not [n for n in hive.tables() if n.startswith("t_") or "__" in n]


COLUMNS = "id BIGINT, name STRING, amount DECIMAL(10,2), at TIMESTAMP, day DATE, tags ARRAY<STRING>"


def hive4_table(hive: HiveEngine, name: str) -> str:
    """A table as Apache Hive 4's metastore makes a plain CREATE TABLE: external, with purge and
    TRANSLATED_TO_EXTERNAL, in its database's folder (MetastoreDefaultTransformer), made by hand."""
    db = f"`{hive.database}`"
    home = hive.target.namespace_location(hive.table(name))
    assert home is not None
    hive.target.execute(
        f"CREATE EXTERNAL TABLE {db}.`{name}` ({COLUMNS}) STORED AS PARQUET "
        f"LOCATION {dialect_for('hive').location_literal(home.child(name))} "
        "TBLPROPERTIES ('external.table.purge'='TRUE', 'TRANSLATED_TO_EXTERNAL'='TRUE')"
    )
    return str(home.child(name))


@pytest.mark.parametrize("action", ["load", "truncateAndLoad", "merge", "dropAndLoad"])
def test_an_owned_external_table_as_hive_4_makes_it_is_published_with_its_values(
    project: Project, hive: HiveEngine, action: str
) -> None:
    """Owned (purge) external tables are published like managed ones: rows read back by value,
    the plan names the kind, and the results' files stay."""
    from tests.conftest import snapshot
    from tests.integration.test_apply_hive import expected, table_rows

    use(project, hive)
    hive4_table(hive, "t")
    old = write(project.results(1, 1), "pqt", 1, 4)
    project.spec(
        "a", jobGroup=1, flowNodeId=1, connection={"id": 1}, path=[hive.database], table="t",
        action="load", inputFormat="pqt",
    )  # fmt: skip
    assert project.run("apply").code == 0
    new = write(project.results(2, 1), "pqt", 3, 4)  # ids 3, 4 overlap the old rows' 3, 4
    keys = {"mergeKeys": ["id"]} if action == "merge" else {}
    project.spec(
        "b", jobGroup=2, flowNodeId=1, connection={"id": 1}, path=[hive.database], table="t",
        action=action, inputFormat="pqt", **keys,
    )  # fmt: skip
    files = snapshot(project.root / "results")
    plan = project.run("plan")
    apache = (hive.target.product() or "").startswith("Apache Hive")
    if action == "dropAndLoad" and not apache:  # refused where a RENAME keeps the folder: drop_and_load.py
        assert plan.code == 1 and "the folder its managed replacement would be renamed into" in plan.err
        assert table_rows(hive, "t") == expected(old)
        return
    assert "is external, owned (external.table.purge=true" in plan.out, plan.out + plan.err
    applied = project.run("apply")
    assert applied.code == 0, applied.err
    want = {
        "load": old + new,
        "truncateAndLoad": new,
        "dropAndLoad": new,
        "merge": [r for r in old if r["id"] not in {n["id"] for n in new}] + new,
    }[action]
    assert table_rows(hive, "t") == expected(want)
    assert snapshot(project.root / "results") == files
    assert not [n for n in hive.tables() if "__" in n]
    if action in ("truncateAndLoad", "merge"):
        home = hive.target.namespace_location(hive.table("t"))
        at = hive.target.table_location(hive.table("t"))
        assert home is not None and at is not None
        assert at.parent == home, "swapped within the database"
