"""Paths are data: a project folder or S3 prefix with quotes, a dollar sign, a hash, spaces
and non-ASCII letters publishes exactly its own files (every literal that reaches SQL goes
through the dialect's quoting). What a literal or the engine's file system cannot hold is
refused before anything runs: a newline anywhere; on Hive a backslash or a question mark,
which Hadoop's paths do not keep (measured: PATH_NOT_FOUND, "Relative path in absolute URI").

Every action also runs with its table's folder there: a database stored under such a folder,
where the publisher's twins, swaps and partition switches compare and set locations the
engine printed (issue 23, item 7). Why the earlier path tests passed while truncateAndLoad
failed in a project folder with a space: they put the project (results, specs) in the odd
folder, but the embedded engine's warehouse in the fixture's plain state folder (stateDir),
and the HiveServer2's in its own; only the results' path was odd, and it is only quoted into
a LOCATION clause, never compared. The locations compared (the database's, printed
percent-encoded by Spark's DESCRIBE DATABASE, against the table's, printed as written) held
no space, so both spellings were one string."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from publisher.dialects import dialect_for
from publisher.model.location import Location
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


AWKWARD = "we'ird $HOME #1 100%41 ünï"  # a space, a quote, $, #, a literal %41, non-ASCII
AWKWARD_NO_SPACE = "we'ird$HOME#1_100%41_ünï"  # the same but the space: Apache Hive swaps there
GLOBS = ("braces {}", "var ${x}")  # Spark reads these as Hadoop glob patterns
CASES = {  # case: (action, the spec's extra keys, the first publication's extra keys)
    "create": ("create", {}, {}),
    "load": ("load", {}, {}),
    "createAndLoad": ("createAndLoad", {}, {}),
    "truncateAndLoad": ("truncateAndLoad", {}, {}),
    "truncateAndLoad-partitions": ("truncateAndLoad", {"overwrite": "partitions"}, {"partitionBy": ["day"]}),
    "truncateAndLoad-partitioned": ("truncateAndLoad", {}, {"partitionBy": ["day"]}),
    "dropAndLoad": ("dropAndLoad", {}, {}),
    "merge": ("merge", {"mergeKeys": ["id"]}, {}),
    "merge-partitioned": ("merge", {"mergeKeys": ["id", "day"]}, {"partitionBy": ["day"]}),
}


@pytest.fixture
def odd_home(hive: HiveEngine, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[tuple[HiveEngine, Path]]:
    """A database of the test's own stored under a folder named ``request.param``: every table
    the publisher makes in it, and every twin, lives there."""
    folder = tmp_path / request.param / "db"
    folder.mkdir(parents=True)
    for p in (tmp_path, folder.parent, folder):
        os.chmod(p, 0o777)  # a server may write as another user
    name = f"{hive.database}_odd"
    at = dialect_for("hive").location_literal(Location.parse(f"file:{folder}"))
    hive.target.execute(f"CREATE DATABASE `{name}` LOCATION {at}")
    try:
        yield replace(hive, database=name), folder
    finally:
        hive.target.execute(f"DROP DATABASE IF EXISTS `{name}` CASCADE")


def publish(project: Project, hive: HiveEngine, name: str, action: str, job: int, **extra: Any) -> Any:
    project.spec(
        name, jobGroup=job, flowNodeId=1, connection={"id": 1}, path=[hive.database], table="t",
        action=action, inputFormat="pqt", **extra,
    )  # fmt: skip
    return project.run("apply", f"specs/{name}.yaml")


def is_apache_hive(hive: HiveEngine) -> bool:
    return (hive.target.product() or "").startswith("Apache Hive")


@pytest.mark.hive
@pytest.mark.parametrize("odd_home", [AWKWARD, AWKWARD_NO_SPACE], indirect=True)
@pytest.mark.parametrize("case", list(CASES))
def test_every_action_with_its_table_in_a_folder_with_awkward_characters(
    tmp_path: Path, odd_home: tuple[HiveEngine, Path], case: str
) -> None:
    hive, folder = odd_home
    action, keys, first_keys = CASES[case]
    project = Project(tmp_path / folder.parent.name, [hive.connection])
    old = write(project.results(1, 1), "pqt", 1, 6, parts=3)
    new = write(project.results(2, 1), "pqt", 4, 6, parts=3)  # ids 4..6 overlap
    if action not in ("create", "createAndLoad"):
        first = publish(project, hive, "a", "dropAndLoad", 1, **first_keys)
        assert first.code == 0, first.err
        assert table_rows(hive, "t") == expected(old)
    result = publish(project, hive, "b", action, 2, **keys)
    at = hive.target.table_location(hive.table("t"))
    if action in ("truncateAndLoad", "merge") and is_apache_hive(hive) and " " in folder.parent.name:
        # Apache Hive's SET LOCATION takes its text as a URI first: a space is refused there.
        assert result.code == 1 and len(result.err.strip().splitlines()) == 1, result.err
        assert "holds a space, which Apache Hive" in result.err, result.err
        assert table_rows(hive, "t") == expected(old), "nothing ran"
        return
    assert result.code == 0, result.out + result.err
    made = [n for n in hive.tables() if n.startswith("t_")]
    want = {
        "create": [],
        "load": old + new,
        "createAndLoad": new,
        "truncateAndLoad": new,
        "dropAndLoad": new,
        "merge": [r for r in old if r["id"] not in {n["id"] for n in new}] + new,
    }[action]
    if keys.get("overwrite") == "partitions":  # the old rows of days the results lack stay
        want = [r for r in old if r["day"] not in {n["day"] for n in new}] + new
    if action in ("create", "createAndLoad"):
        (table,) = made
        at = hive.target.table_location(hive.table(table))
        assert table_rows(hive, table) == expected(want)
    else:
        assert not made and not [n for n in hive.tables() if "__" in n], hive.tables()
        assert table_rows(hive, "t") == expected(want)
    assert at is not None and at.inside(Location.parse(f"file:{folder}")), at
    assert at.local_path().is_dir(), "the table's folder is where the engine says, as written"
    # No folder is left that no table uses: the database's folder holds the tables' own only.
    assert {Location.parse(f"file:{p}") for p in folder.iterdir() if not p.name.startswith((".", "_"))} <= used(hive)


def used(hive: HiveEngine) -> set[Location | None]:
    """The folders the database's tables use: each table's, and those its partitions are in."""
    from publisher.apply.partition_switch import _partition_location, _partitions

    found: set[Location | None] = set()
    dialect = dialect_for("hive")
    for name in hive.tables():
        state = hive.target.table_state(hive.table(name))
        assert state is not None
        found.add(state.location)
        for path in _partitions(hive.target, dialect, hive.table(name)) if state.partition_columns else ():
            found.add(_partition_location(hive.target, dialect, hive.table(name), path).base_of(path))
    return found


@pytest.mark.hive
@pytest.mark.parametrize("odd_home", GLOBS, indirect=True)
@pytest.mark.parametrize("action", ["create", "load", "createAndLoad", "truncateAndLoad", "dropAndLoad", "merge"])
def test_a_table_folder_the_engine_reads_as_a_glob_is_refused_before_anything_runs(
    tmp_path: Path, odd_home: tuple[HiveEngine, Path], action: str
) -> None:
    """Measured on Spark 4.3: an unpartitioned table stored under 'b{}' or 'v${x}' is created,
    then every INSERT and SELECT fails with PATH_NOT_FOUND (the folder is read as a glob). The
    plan says so in one line; no table is made."""
    hive, folder = odd_home
    (tmp_path / "project").mkdir()
    project = Project(tmp_path / "project", [hive.connection])
    write(project.results(1, 1), "pqt", 1, 3)
    keys = {"mergeKeys": ["id"]} if action == "merge" else {}
    result = publish(project, hive, "a", action, 1, **keys)
    assert result.code == 1 and len(result.err.strip().splitlines()) == 1, result.err
    assert "which Spark reads as a Hadoop glob pattern" in result.err and folder.parent.name in result.err
    assert not hive.tables()
