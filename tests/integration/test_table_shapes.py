"""Tables the publisher did not make. An action either keeps its promise on a table's
shape or is refused at plan time, in one line with the alternative, with nothing run:
never a silent partial result (a partitioned table emptied by truncateAndLoad and reported
as published, for one). Partitioned tables: tests/integration/test_partitions.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import HiveEngine, Project, snapshot
from tests.fixtures.redshift import RedshiftEngine, RedshiftProject
from tests.integration.test_apply_hive import expected, spec, table_rows, use
from tests.resultfiles import write

SHAPES = {
    "bucketed": "CLUSTERED BY (id) INTO 4 BUCKETS STORED AS ORC",
}


def seed(project: Project, hive: HiveEngine, name: str, ddl: str) -> None:
    """A table of another job's making, with 5 rows: the results' columns (and a partition)."""
    db = f"`{hive.database}`"
    hive.target.execute(f"CREATE TABLE {db}.`seed` STORED AS PARQUET AS SELECT * FROM {db}.`t`")
    columns = "id BIGINT, name STRING, amount DECIMAL(10,2), at TIMESTAMP, day DATE, tags ARRAY<STRING>"
    hive.target.execute(f"CREATE TABLE {db}.`{name}` ({columns}) {ddl}")
    if "PARTITIONED" in ddl:
        hive.target.execute(f"INSERT INTO {db}.`{name}` PARTITION (part = 'a') SELECT * FROM {db}.`seed`")
    else:
        hive.target.execute(f"INSERT INTO {db}.`{name}` SELECT * FROM {db}.`seed`")


@pytest.mark.hive
@pytest.mark.parametrize("shape", list(SHAPES))
@pytest.mark.parametrize("action", ["load", "truncateAndLoad"])
def test_writing_into_a_bucketed_table_is_refused_at_plan_time(
    project: Project, hive: HiveEngine, shape: str, action: str
) -> None:
    use(project, hive)
    write(project.results(1, 1), "pqt", 1, 5)
    spec(project, hive, "seed", "dropAndLoad", "pqt", 1)
    assert project.run("apply").code == 0
    seed(project, hive, "other", SHAPES[shape])
    (project.root / "specs" / "seed.yaml").unlink()
    write(project.results(2, 1), "pqt", 100, 3)
    spec(project, hive, "a", action, "pqt", 2, table="other")
    for command in (("plan",), ("apply",)):
        result = project.run(*command)
        assert result.code == 1, result.out
        assert len(result.err.splitlines()) == 1, result.err
        assert f"{action}: table {hive.database}.other is {shape}" in result.err
        assert "dropAndLoad recreates the table" in result.err
    assert hive.count("other") == 5, "nothing ran"


@pytest.mark.hive
def test_a_view_is_refused_as_the_target_of_every_action_that_writes_it(project: Project, hive: HiveEngine) -> None:
    use(project, hive)
    data = write(project.results(1, 1), "pqt", 1, 5)
    spec(project, hive, "seed", "dropAndLoad", "pqt", 1)
    assert project.run("apply").code == 0
    hive.target.execute(f"CREATE VIEW `{hive.database}`.`v` AS SELECT * FROM `{hive.database}`.`t`")
    (project.root / "specs" / "seed.yaml").unlink()
    for job, action in enumerate(["load", "truncateAndLoad", "dropAndLoad"], start=2):
        write(project.results(job, 1), "pqt", 100, 3)
        spec(project, hive, action, action, "pqt", job, table="v")
    result = project.run("plan")
    assert result.code == 1
    assert result.err.count("is a view, not a table") == 3, result.err
    assert table_rows(hive, "t") == expected(data)


@pytest.mark.hive
def test_an_orc_table_keeps_its_format_through_truncate_and_load(project: Project, hive: HiveEngine) -> None:
    use(project, hive)
    write(project.results(1, 1), "pqt", 1, 5)
    spec(project, hive, "seed", "dropAndLoad", "pqt", 1)
    assert project.run("apply").code == 0
    seed(project, hive, "orc", "STORED AS ORC")
    (project.root / "specs" / "seed.yaml").unlink()
    data = write(project.results(2, 1), "pqt", 100, 3)
    spec(project, hive, "a", "truncateAndLoad", "pqt", 2, table="orc")
    result = project.run("apply")
    assert result.code == 0, result.err
    assert table_rows(hive, "orc") == expected(data)
    state = hive.target.table_state(hive.table("orc"))
    assert state is not None and state.storage == "orc"


@pytest.mark.redshift
def test_a_redshift_view_is_refused(
    redshift_project: RedshiftProject, redshift: RedshiftEngine, tmp_path: Path
) -> None:
    rs = redshift
    rs.execute(f"CREATE TABLE {rs.qualified('t')} (id BIGINT)")
    rs.execute(f"CREATE VIEW {rs.qualified('v')} AS SELECT id FROM {rs.qualified('t')}")
    write(tmp_path / "r", "pqt", 1, 3)
    for job, action in enumerate(["load", "truncateAndLoad", "dropAndLoad"], start=2):
        rs.upload(tmp_path / "r", job)
        redshift_project.spec(
            action,
            jobGroup=job,
            flowNodeId=1,
            connection={"id": 1},
            path=["dev"],
            table=rs.table_name("v"),
            action=action,
            inputFormat="pqt",
        )
    result = redshift_project.run("plan")
    assert result.code == 1
    assert result.err.count("is a view, not a table") == 3, result.err


@pytest.mark.hive
def test_truncate_and_load_of_an_external_table_is_refused_and_its_files_kept(
    project: Project, hive: HiveEngine, tmp_path: Path
) -> None:
    use(project, hive)
    theirs = write(tmp_path / "theirs", "pqt", 1, 5)
    files = snapshot(tmp_path / "theirs")
    columns = "id BIGINT, name STRING, amount DECIMAL(10,2), at TIMESTAMP, day DATE, tags ARRAY<STRING>"
    location = (tmp_path / "theirs").as_uri()
    hive.target.execute(
        f"CREATE EXTERNAL TABLE `{hive.database}`.`ext` ({columns}) STORED AS PARQUET LOCATION '{location}'"
    )
    write(project.results(2, 1), "pqt", 100, 3)
    spec(project, hive, "a", "truncateAndLoad", "pqt", 2, table="ext")
    result = project.run("apply")
    assert result.code == 1 and "is external" in result.err and "load appends to it" in result.err
    assert table_rows(hive, "ext") == expected(theirs)
    assert snapshot(tmp_path / "theirs") == files


@pytest.mark.redshift
def test_drop_and_load_of_a_redshift_table_with_dependent_views_is_refused_at_plan_time(
    redshift_project: RedshiftProject, redshift: RedshiftEngine, tmp_path: Path
) -> None:
    """`DROP TABLE` fails while schema-bound views depend on the table: the plan says so,
    naming the views, and truncateAndLoad keeps them (they read the new rows)."""
    from tests.integration.test_apply_redshift import expected as rs_expected
    from tests.integration.test_apply_redshift import results as rs_results
    from tests.integration.test_apply_redshift import spec as rs_spec
    from tests.integration.test_apply_redshift import table_rows as rs_rows

    rs, project = redshift, redshift_project
    rs_results(rs, tmp_path, "pqt", 1, 1, 5)
    rs_spec(project, rs, "seed", "dropAndLoad", "pqt", 1)
    assert project.run("apply").code == 0
    rs.execute(f"CREATE VIEW {rs.qualified('v')} AS SELECT id, name FROM {rs.qualified('t')}")
    (project.root / "specs" / "seed.yaml").unlink()
    new = rs_results(rs, tmp_path, "pqt", 2, 100, 3)
    rs_spec(project, rs, "a", "dropAndLoad", "pqt", 2)
    result = project.run("plan")
    assert result.code == 1
    assert f"dropAndLoad: views depend on table dev.{rs.schema}.t ({rs.schema}.v)" in result.err
    assert "truncateAndLoad replaces its rows and keeps the views" in result.err
    (project.root / "specs" / "a.yaml").unlink()
    rs_spec(project, rs, "b", "truncateAndLoad", "pqt", 2)
    assert project.run("apply").code == 0
    assert rs_rows(rs, "t") == rs_expected(new)
    assert rs.count("v") == 3
