"""Partitioned Hive tables, on both Hive engines: partitionBy, dynamic and static partitions,
truncateAndLoad of the whole table or of the results' partitions only, and a switch killed
half-way finished by the next apply. Values are read back, not only counted."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from publisher.apply import partition_switch
from publisher.engines.hive_describe import parse_location
from tests.conftest import HiveEngine, Project, snapshot
from tests.integration.test_apply_hive import expected, table_rows, use
from tests.resultfiles import write

pytestmark = pytest.mark.hive


def spec(project: Project, hive: HiveEngine, name: str, action: str, job: int, table: str = "t", **extra: Any) -> None:
    keys = {"jobGroup": job, "flowNodeId": 1, "connection": {"id": 1}, "path": [hive.database]}
    project.spec(name, **keys, table=table, action=action, inputFormat=extra.pop("fmt", "pqt"), **extra)


def partitions(hive: HiveEngine, table: str) -> list[str]:
    return sorted(str(r[0]) for r in hive.target.fetch(f"SHOW PARTITIONS `{hive.database}`.`{table}`"))


def days(rows: list[dict[str, Any]]) -> list[str]:
    return sorted({f"day={r['day'].isoformat()}" for r in rows})


def apply(project: Project) -> str:
    result = project.run("apply")
    assert result.code == 0, result.err
    return result.out


def seed_partitioned(project: Project, hive: HiveEngine, first: int, count: int) -> list[dict[str, Any]]:
    """Table t partitioned by day, published by dropAndLoad with partitionBy."""
    data = write(project.results(1, 1), "pqt", first, count)
    spec(project, hive, "seed", "dropAndLoad", 1, partitionBy=["day"])
    apply(project)
    (project.root / "specs" / "seed.yaml").unlink()
    return data


@pytest.mark.parametrize("fmt", ["pqt", "avro"])
def test_create_and_load_with_partition_by_makes_a_partitioned_table(
    project: Project, hive: HiveEngine, fmt: str
) -> None:
    use(project, hive)
    data = write(project.results(2, 1), fmt, 1, 8)
    spec(project, hive, "a", "createAndLoad", 2, partitionBy=["day"], fmt=fmt)
    files = snapshot(project.root / "results")
    apply(project)
    assert snapshot(project.root / "results") == files
    (made,) = [n for n in hive.tables() if n.startswith("t_")]
    assert table_rows(hive, made) == expected(data)
    assert partitions(hive, made) == days(data)
    state = hive.target.table_state(hive.table(made))
    assert state is not None and state.partition_columns == ("day",)
    assert [c.name for c in state.columns][-1] == "day", "Hive keeps partition columns last"


def test_load_appends_each_row_into_its_partition_adding_new_ones(project: Project, hive: HiveEngine) -> None:
    use(project, hive)
    old = seed_partitioned(project, hive, 1, 6)  # days 1..6
    new = write(project.results(2, 1), "pqt", 34, 6)  # days 4..9: three existing, three new
    files = snapshot(project.results(2, 1))
    spec(project, hive, "a", "load", 2)
    apply(project)
    assert table_rows(hive, "t") == expected(old + new)
    assert partitions(hive, "t") == days(old + new)
    assert snapshot(project.results(2, 1)) == files


@pytest.mark.parametrize("fmt", ["pqt", "avro"])
def test_truncate_and_load_replaces_every_partition_by_default(project: Project, hive: HiveEngine, fmt: str) -> None:
    use(project, hive)
    seed_partitioned(project, hive, 1, 6)  # days 1..6
    new = write(project.results(2, 1), fmt, 34, 6)  # days 4..9
    files = snapshot(project.results(2, 1))
    spec(project, hive, "a", "truncateAndLoad", 2, fmt=fmt)
    out = apply(project)
    assert table_rows(hive, "t") == expected(new), "none of the old rows, in any partition"
    assert partitions(hive, "t") == days(new)
    assert "3 replaced, 3 added, 3 dropped" in out
    assert snapshot(project.results(2, 1)) == files
    assert not [n for n in hive.tables() if "__" in n]
    assert_no_orphan_folders(hive, "t")


def test_truncate_and_load_overwrite_partitions_keeps_the_others(project: Project, hive: HiveEngine) -> None:
    use(project, hive)
    old = seed_partitioned(project, hive, 1, 6)  # days 1..6
    new = write(project.results(2, 1), "pqt", 34, 6, parts=6)  # days 4..9, a file each: statistics pin them
    spec(project, hive, "a", "truncateAndLoad", 2, overwrite="partitions")
    files = snapshot(project.root / "results")
    plan = project.run("plan")
    assert "3 replaced (day=2026-01-05, day=2026-01-06, day=2026-01-07); 3 added" in plan.out, plan.out
    assert "0 dropped; 3 kept (day=2026-01-02, day=2026-01-03, day=2026-01-04)" in plan.out
    out = apply(project)
    kept = [r for r in old if r["day"] not in {n["day"] for n in new}]
    assert table_rows(hive, "t") == expected(kept + new)
    assert partitions(hive, "t") == days(old + new)
    assert "3 replaced, 3 added, 0 dropped" in out
    assert snapshot(project.root / "results") == files
    assert_no_orphan_folders(hive, "t")


def test_a_twin_folder_is_deleted_once_no_partition_stays_in_it(project: Project, hive: HiveEngine) -> None:
    """overwrite: partitions, three times over overlapping days: the first twin's folder keeps
    the days the second leaves in it, and goes once the third replaces them; values read back."""
    use(project, hive)
    rows = {r["day"]: r for r in seed_partitioned(project, hive, 1, 6)}  # days 1..6, the table's own folder
    twin_folders: list[set[str]] = []
    for job, (first, count) in enumerate([(34, 6), (34, 3), (37, 3)], start=2):  # days 4..9, 4..6, 7..9
        new = write(project.results(job, 1), "pqt", first, count, parts=count)
        spec(project, hive, "a", "truncateAndLoad", job, overwrite="partitions")
        apply(project)
        rows.update({r["day"]: r for r in new})
        assert table_rows(hive, "t") == expected(list(rows.values()))
        assert_no_orphan_folders(hive, "t")
        if hive.kind == "embedded":
            state = hive.target.table_state(hive.table("t"))
            assert state is not None and state.location
            database = state.location.local_path().parent
            twin_folders.append({p.name for p in database.iterdir() if p.name.startswith("t__new_")})
    if twin_folders:
        first, second, third = twin_folders
        assert len(first) == 1 and first < second, "the second keeps the first's folder: days 7..9 stay in it"
        assert len(third) == 2 and not (first & third), "the third replaced days 7..9: the first's folder is gone"


def test_a_static_partition_of_another_jobs_table_is_appended_to_then_replaced(
    project: Project, hive: HiveEngine
) -> None:
    """A table of another job's making (ORC), partitioned by a column the results lack: Avro
    results appended into one partition, Parquet into another, then one replaced."""
    use(project, hive)
    db = f"`{hive.database}`"
    cols = "id BIGINT, name STRING, amount DECIMAL(10,2), at TIMESTAMP, day DATE, tags ARRAY<STRING>"
    hive.target.execute(f"CREATE TABLE {db}.`daily` ({cols}) PARTITIONED BY (dt STRING) STORED AS ORC")
    first = write(project.results(2, 1), "avro", 1, 4)
    spec(project, hive, "a", "load", 2, table="daily", partition={"dt": "2026-11-30"}, fmt="avro")
    apply(project)
    second = write(project.results(3, 1), "pqt", 10, 3)
    spec(project, hive, "b", "load", 3, table="daily", partition={"dt": "2026-12-01"})
    apply(project)
    assert partitions(hive, "daily") == ["dt=2026-11-30", "dt=2026-12-01"]
    again = write(project.results(4, 1), "pqt", 20, 5)
    spec(project, hive, "c", "truncateAndLoad", 4, table="daily", partition={"dt": "2026-11-30"})
    files = snapshot(project.root / "results")
    out = apply(project)
    assert snapshot(project.root / "results") == files
    assert "1 replaced, 0 added, 0 dropped" in out
    assert table_rows(hive, "daily") == expected(second + again)
    rows = hive.target.fetch(f"SELECT dt, COUNT(*) FROM {db}.`daily` GROUP BY dt ORDER BY dt")
    assert [tuple(r) for r in rows] == [("2026-11-30", 5), ("2026-12-01", 3)]
    state = hive.target.table_state(hive.table("daily"))
    assert state is not None and state.storage == "orc", "the table keeps its format"
    assert first  # replaced: none of its rows remain (checked above)


def test_what_the_plan_can_know_about_partitions_is_refused_at_plan_time(project: Project, hive: HiveEngine) -> None:
    use(project, hive)
    old = seed_partitioned(project, hive, 1, 4)
    db = f"`{hive.database}`"
    hive.target.execute(f"CREATE TABLE {db}.`flat` (id BIGINT) STORED AS PARQUET")
    hive.target.execute(
        f"CREATE TABLE {db}.`bydate` (id BIGINT, name STRING) PARTITIONED BY (dt DATE) STORED AS PARQUET"
    )
    write(project.results(2, 1), "pqt", 10, 3)
    cases = {
        "a": ("load", "t", {"partitionBy": ["name"]}, "partitionBy (name) differs from table"),
        "b": ("load", "flat", {"partition": {"dt": "x"}}, "is not partitioned, but the spec gives partition"),
        "c": ("truncateAndLoad", "t", {"partition": {"id": "1"}}, "partition names id, not a partition column"),
    }
    for job, (name, (action, table, extra, message)) in enumerate(cases.items(), start=2):
        write(project.results(job, 1), "pqt", 10, 3)
        spec(project, hive, name, action, job, table=table, **extra)
        result = project.run("plan")
        assert result.code == 1 and message in result.err, result.err
        assert len(result.err.strip().splitlines()) == 1, result.err
        (project.root / "specs" / f"{name}.yaml").unlink()
    assert table_rows(hive, "t") == expected(old), "nothing ran"


def assert_no_orphan_folders(hive: HiveEngine, table: str) -> None:
    """Embedded engine: every partition folder under the database, the ledger's aside, is one the table uses."""
    if hive.kind != "embedded":
        return
    state = hive.target.table_state(hive.table(table))
    assert state is not None and state.location
    database = state.location.local_path().parent
    used = set()
    for path in partitions(hive, table):
        spec_text = ", ".join(f"`{k}`='{v}'" for k, v in (p.split("=", 1) for p in path.split("/")))
        rows = hive.target.fetch(f"DESCRIBE FORMATTED `{hive.database}`.`{table}` PARTITION ({spec_text})")
        at = parse_location(rows)  # the partition's Location comes before the table's
        assert at is not None
        used.add(at.local_path())
    # The ledger beside the table is partitioned too (by the day its rows are written): not the table's.
    folders = {p for p in database.rglob("*") if p.is_dir() and "=" in p.name and "publications" not in p.parts}
    assert folders == used, f"folders no partition uses: {sorted(map(str, folders - used))}"
    # Each twin's folder holds partitions the table uses, or is gone: none left empty (issue 23, 2b).
    twins = {p for p in database.iterdir() if p.name.lower().startswith(f"{table.lower()}__new_")}
    assert twins == {p for p in twins if any(u.is_relative_to(p) for u in used)}, (
        f"twin folders no partition uses: {sorted(p.name for p in twins if not any(u.is_relative_to(p) for u in used))}"
    )


class Killed(BaseException):
    """The apply dies inside the switch: no undo, no cleanup."""


@contextlib.contextmanager
def killed_after(statements: int) -> Iterator[list[str]]:
    """Kill the apply at the ``statements``-th statement the partition switch runs."""
    original = partition_switch.switch_partitions
    ran: list[str] = []

    def switch(target: Any, dialect: Any, step: Any) -> str:
        execute = target.execute

        def counted(sql: str) -> None:
            ran.append(sql)
            if len(ran) >= statements:
                raise Killed(sql)
            execute(sql)

        target.execute = counted
        try:
            return original(target, dialect, step)
        finally:
            target.execute = execute

    partition_switch.switch_partitions = switch  # type: ignore[assignment]
    import publisher.apply.executor as executor

    executor.switch_partitions = switch  # type: ignore[attr-defined]
    try:
        yield ran
    finally:
        partition_switch.switch_partitions = original  # type: ignore[assignment]
        executor.switch_partitions = original  # type: ignore[attr-defined]


def test_a_switch_killed_at_each_statement_is_finished_by_the_next_apply(project: Project, hive: HiveEngine) -> None:
    """Killed after each statement of the switch: the next apply finishes it, exactly once,
    no partition lost, and no folder deleted that a partition uses."""
    if hive.kind != "embedded":
        pytest.skip("in-process kill injection; the embedded engine runs the same statements")
    use(project, hive)
    seed_partitioned(project, hive, 1, 3)  # days 1..3
    statement = 1
    while True:
        # Each round swaps between days 1..3 and days 2..4: two replaced, one added, one dropped.
        job = 100 + statement
        new = write(project.results(job, 1), "pqt", 1 + statement % 2, 3)
        spec(project, hive, "a", "truncateAndLoad", job)
        with killed_after(statement) as ran, contextlib.suppress(Killed):
            project.run("apply")
        apply(project)
        where = f"killed at statement {statement}: {ran[-1:]}"
        assert table_rows(hive, "t") == expected(new), where
        assert partitions(hive, "t") == days(new), where
        assert not [n for n in hive.tables() if "__" in n], where
        assert_no_orphan_folders(hive, "t")
        if len(ran) < statement:
            break  # the switch ran to its end: every statement was a kill point
        statement += 1
    assert statement > 8, "the switch ran several statements"


def test_a_reader_during_the_switch_sees_each_partition_old_or_new_never_empty(
    project: Project, hive: HiveEngine
) -> None:
    """A second session polls every partition's rows while truncateAndLoad switches 30
    partitions: each partition reads wholly old or wholly new rows, and none reads empty."""
    import threading

    use(project, hive)
    seed_partitioned(project, hive, 1, 60)  # ids 1..60: 30 days, 2 rows each
    write(project.results(2, 1), "pqt", 1001, 60)  # ids 1001..1060: the same 30 days
    spec(project, hive, "a", "truncateAndLoad", 2)
    if hive.kind == "server":
        from tests.fixtures.hive import _server

        reader_target = _server()
    else:
        reader_target = hive.target  # the same Spark session, from another thread
    query = f"SELECT day, MIN(id), MAX(id), COUNT(*) FROM `{hive.database}`.`t` GROUP BY day"
    seen: list[dict[str, tuple[int, int, int]]] = []
    errors: list[str] = []
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            try:
                rows = reader_target.fetch(query)
            except Exception as exc:  # recorded, and the test fails on it
                errors.append(str(exc).splitlines()[0])
                continue
            seen.append({str(r[0]): (int(r[1]), int(r[2]), int(r[3])) for r in rows})

    reader = threading.Thread(target=read)
    reader.start()
    try:
        apply(project)
    finally:
        stop.set()
        reader.join(60)
    assert not errors, errors[:3]
    assert len(seen) >= 2
    mixed = 0
    for view in seen:
        assert len(view) == 30, f"a partition read empty: {30 - len(view)} of 30 missing"
        kinds = set()
        for low, high, count in view.values():
            assert count == 2 and (high < 1000 or low > 1000), "a partition mixed old and new rows"
            kinds.add(low > 1000)
        mixed += len(kinds) == 2
    assert int(hive.target.fetch(f"SELECT MIN(id) FROM `{hive.database}`.`t`")[0][0]) == 1001
    print(f"reader: {len(seen)} reads, {mixed} during the switch (old and new partitions side by side)")


def test_an_external_partitioned_table_is_appended_to_and_never_truncated(
    project: Project, hive: HiveEngine, tmp_path: Path
) -> None:
    """load adds files into its partitions' folders (none deleted); truncateAndLoad is refused
    at plan time, as for every external table: its files belong to whoever wrote them."""
    use(project, hive)
    db = f"`{hive.database}`"
    cols = "id BIGINT, name STRING, amount DECIMAL(10,2), at TIMESTAMP, tags ARRAY<STRING>"
    location = (tmp_path / "theirs").as_uri()
    hive.target.execute(
        f"CREATE EXTERNAL TABLE {db}.`ext` ({cols}) PARTITIONED BY (day DATE) STORED AS PARQUET LOCATION '{location}'"
    )
    data = write(project.results(2, 1), "pqt", 1, 4)
    spec(project, hive, "a", "load", 2, table="ext")
    apply(project)
    assert partitions(hive, "ext") == days(data)
    theirs = snapshot(tmp_path / "theirs")
    write(project.results(3, 1), "pqt", 10, 2)
    spec(project, hive, "b", "truncateAndLoad", 3, table="ext")
    result = project.run("plan")
    assert result.code == 1 and "is external" in result.err, result.err
    assert snapshot(tmp_path / "theirs") == theirs
