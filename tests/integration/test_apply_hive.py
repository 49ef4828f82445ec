"""End to end on Hive (embedded and HiveServer2): what the plan refuses, parallel applies, and
timestamped names. Every action x format is in test_actions.py, on every target."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from tests.conftest import HiveEngine, Project
from tests.resultfiles import write

pytestmark = pytest.mark.hive


def use(project: Project, hive: HiveEngine) -> Project:
    project.connections = [hive.connection]
    project.write_config()
    return project


def spec(
    project: Project, hive: HiveEngine, name: str, action: str, fmt: str, job: int, table: str = "t", **extra: Any
) -> None:
    if action == "merge":
        extra.setdefault("mergeKeys", ["id"])
    project.spec(
        name,
        jobGroup=job,
        flowNodeId=1,
        connection={"id": 1},
        path=[hive.database],
        table=table,
        action=action,
        inputFormat=fmt,
        **extra,
    )


def table_rows(hive: HiveEngine, table: str) -> list[tuple[Any, ...]]:
    """The rows as text, read the same way from both engines (PyHive returns dates and
    arrays as text where pyspark returns objects)."""
    sql = (
        "SELECT CAST(id AS STRING), name, CAST(amount AS STRING), CAST(at AS STRING), CAST(day AS STRING), "
        f"concat_ws('|', tags) FROM {hive.fresh(table)}"
    )
    return sorted((tuple(r) for r in hive.target.fetch(sql)), key=str)


def spark_timestamp(value: datetime) -> str:
    """CAST(timestamp AS STRING) of Spark: UTC here, trailing zeros of the fraction dropped."""
    text = value.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")
    return text.rstrip("0").rstrip(".") if "." in text else text


def expected(rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """The rows written, as ``table_rows`` reads them (timestamps in UTC)."""
    return sorted(
        (
            (
                str(r["id"]),
                r["name"],
                str(r["amount"].quantize(Decimal("0.01"))),
                spark_timestamp(r["at"]),
                r["day"].isoformat(),
                "|".join(r["tags"]),
            )
            for r in rows
        ),
        key=str,
    )


def test_load_into_a_missing_table_fails_at_plan_time(project: Project, hive: HiveEngine) -> None:
    use(project, hive)
    write(project.results(10, 1), "pqt", 1, 10)
    spec(project, hive, "a", "load", "pqt", 10, table="nope")
    result = project.run("plan")
    assert result.code == 1
    assert result.err == (
        f"specs/a.yaml:1:1: error: load: table {hive.database}.nope does not exist on hive (id 1, hive); "
        "createAndLoad or dropAndLoad create it\n"
    )


def test_mismatched_columns_list_every_difference(project: Project, hive: HiveEngine) -> None:
    use(project, hive)
    hive.target.execute(
        f"CREATE TABLE `{hive.database}`.`t` (id INT, name STRING, amount DECIMAL(10,2), extra_col STRING, "
        "day DATE, tags ARRAY<STRING>) STORED AS PARQUET"
    )
    write(project.results(10, 1), "pqt", 1, 10)
    spec(project, hive, "a", "truncateAndLoad", "pqt", 10)
    result = project.run("plan")
    assert result.code == 1
    message = result.err
    assert "column id: results BIGINT do not fit table INT" in message
    assert "missing column extra_col STRING (in the table, not in the results)" in message
    assert "extra column at TIMESTAMP (in the results, not in the table)" in message
    assert "dropAndLoad recreates the table from the results" in message
    assert message.count("\n") == 1


def test_missing_database_is_a_plan_error(project: Project, hive: HiveEngine) -> None:
    use(project, hive)
    write(project.results(10, 1), "pqt", 1, 10)
    project.spec(
        "a",
        jobGroup=10,
        flowNodeId=1,
        connection={"id": 1},
        path=["no_such_db_x"],
        table="t",
        action="createAndLoad",
        inputFormat="pqt",
    )
    result = project.run("plan")
    assert result.code == 1
    assert "database no_such_db_x does not exist on hive (id 1, hive)" in result.err


def test_parallel_apply_publishes_each_table_in_plan_order(project: Project, hive: HiveEngine) -> None:
    use(project, hive)
    first = write(project.results(10, 1), "pqt", 1, 10)
    more = write(project.results(11, 1), "pqt", 100, 5)
    spec(project, hive, "a1", "dropAndLoad", "pqt", 10)
    spec(project, hive, "a2", "load", "pqt", 11)  # same table: must run after a1
    for i, table in enumerate(("u", "v", "w")):
        spec(project, hive, f"b{i}", "dropAndLoad", "pqt", 10, table=table)
    result = project.run("apply", "--parallel", "3")
    assert result.code == 0, result.err
    assert "5 published, 0 already published, 0 failed" in result.out
    assert table_rows(hive, "t") == expected(first + more)
    for table in ("u", "v", "w"):
        assert table_rows(hive, table) == expected(first)


@pytest.mark.parametrize("action", ["create", "createAndLoad"])
def test_timestamped_name_never_collides_with_an_existing_table(
    project: Project, hive: HiveEngine, action: str
) -> None:
    from publisher.engines.pool import Pool
    from publisher.inputs.config import load_config
    from publisher.inputs.spec import load_specs
    from publisher.workflow import make_plan

    use(project, hive)
    write(project.results(10, 1), "pqt", 1, 5)
    path = project.spec("a", jobGroup=10, flowNodeId=1, connection={"id": 1}, path=[hive.database], table="t",
                        action=action, inputFormat="pqt")  # fmt: skip
    # The names this plan would take at 12:00:00 and 12:00:01 exist already.
    for taken in ("t_20261128120000", "t__stage_20261128120001"):
        hive.target.execute(f"CREATE TABLE `{hive.database}`.`{taken}` (x INT) STORED AS PARQUET")
    config = load_config(project.root / "publisher.yaml")
    specs, problems = load_specs([path], config)
    assert not problems
    pool = Pool(config)
    try:
        plan = make_plan(config, specs, pool, offline=False, now=datetime(2026, 11, 28, 12, 0, 0, tzinfo=UTC))
    finally:
        pool.close()
    assert plan.publications[0].table == "t_20261128120002"
