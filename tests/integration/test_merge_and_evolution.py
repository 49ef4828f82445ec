"""merge (upsert by mergeKeys) on every engine: the embedded Hive, the HiveServer2 and the
Redshift stand-in (the ``target`` fixture). Rows are checked value by value: the results'
rows for their keys, every other row as it was; keys twice or NULL stop it with nothing
changed; a reader never sees a partial merge. A death at any step of a merge, then apply:
test_crash_recovery.py."""

from __future__ import annotations

import datetime as dt
import shutil
import threading
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.conftest import HiveEngine, Project
from tests.integration.conftest import Target
from tests.integration.test_apply_hive import expected, spec, table_rows, use
from tests.resultfiles import rows, write


def results(target: Target, job: int, first: int, count: int, *, tricky: bool = False, parts: int = 2) -> Path:
    """Writes a job's results (uploaded, on Redshift); returns their local folder."""
    folder = target.project.results(job, 1) if target.is_hive else target.tmp / "local-results" / str(job)
    write(folder, "pqt", first, count, parts, tricky=tricky)
    return folder


def publish(target: Target, folder: Path, job: int) -> None:
    if not target.is_hive:
        target.engine.upload(folder, job)


def merged(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What a merge by id leaves: the new rows, and the old rows whose id the new rows lack."""
    ids = {r["id"] for r in new}
    return [r for r in old if r["id"] not in ids] + new


def test_merge_updates_matched_keys_inserts_new_ones_and_keeps_the_rest(target: Target) -> None:
    """Ids 1..20 in the table; results 15..30 with other values (tricky names): 1..14 kept as
    they were, 15..20 replaced, 21..30 inserted; the ledger records the merge once. The merge
    is applied from its saved plan, as a reviewed pull request's would be."""
    project = target.project
    publish(target, results(target, 1, 1, 20), 1)
    target.spec("a", "dropAndLoad", 1)
    assert project.run("apply").code == 0
    publish(target, results(target, 2, 15, 16, tricky=True), 2)
    target.spec("b", "merge", 2, mergeKeys=["id"])
    plan = project.run("plan", "-o", "plan.json")  # reviewed, then applied exactly as saved
    assert plan.code == 0, plan.err
    assert "merge by id" in plan.out
    result = project.run("apply", "plan.json")
    assert result.code == 0, result.err
    want = merged(rows(1, 20), rows(15, 16, tricky=True))
    assert target.rows("t") == target.expected(want)
    assert "-> 6 rows" in result.out, "the count of rows replaced is shown"
    (detail,) = target.details(2)
    assert detail is not None and detail.startswith("rows updated") and detail.endswith(": 6"), detail
    again = project.run("apply")
    assert "0 published, 2 already published" in again.out
    assert target.rows("t") == target.expected(want)


def test_merge_by_two_keys(target: Target) -> None:
    """A key of two columns: a row is replaced only where both match."""
    project = target.project
    publish(target, results(target, 1, 1, 10), 1)
    target.spec("a", "dropAndLoad", 1)
    assert project.run("apply").code == 0
    # Ids 1..10 again, with other values; ids 6..10 on the next day: other keys.
    new = rows(1, 10, tricky=True)
    for row in new[5:]:
        row["day"] += dt.timedelta(days=1)
    folder = results(target, 2, 1, 10, tricky=True, parts=1)
    table = pq.read_table(folder / "part-00000.parquet")
    days = pa.array([r["day"] for r in new], pa.date32())
    pq.write_table(table.set_column(table.schema.get_field_index("day"), "day", days), folder / "part-00000.parquet")
    publish(target, folder, 2)
    target.spec("b", "merge", 2, mergeKeys=["id", "day"])
    result = project.run("apply")
    assert result.code == 0, result.err
    assert sorted(target.rows("t"), key=str) == sorted(target.expected(rows(6, 5) + new), key=str)


@pytest.mark.parametrize("problem", ["repeated", "null"])
def test_repeated_or_null_keys_stop_the_merge_with_nothing_changed(target: Target, problem: str) -> None:
    project = target.project
    publish(target, results(target, 1, 1, 10), 1)
    target.spec("a", "dropAndLoad", 1)
    assert project.run("apply").code == 0
    before, tables = target.rows("t"), target.tables()
    folder = results(target, 2, 1, 5, parts=1)
    if problem == "repeated":
        # A second file with ids 3..7: 3, 4 and 5 are in the results twice.
        other = target.tmp / "other"
        write(other, "pqt", 3, 5, 1)
        shutil.copy(other / "part-00000.parquet", folder / "part-00001.parquet")
    else:
        part = folder / "part-00000.parquet"
        data = pq.read_table(part)
        ids = pa.array([None, 2, None, 4, 5], pa.int64())
        pq.write_table(data.set_column(0, pa.field("id", pa.int64(), nullable=True), ids), part)
    publish(target, folder, 2)
    target.spec("b", "merge", 2, mergeKeys=["id"])
    result = project.run("apply")
    assert result.code == 1
    assert "mergeKeys (id) must name each row once" in result.err
    if problem == "repeated":
        assert "3 key(s) appear more than once in the results" in result.err
        assert "(2 rows)" in result.err
    else:
        assert "2 row(s) of the results have a NULL in id" in result.err
    assert "Nothing was changed" in result.err
    assert target.rows("t") == before
    assert target.tables() == tables, "no staging table, twin or lock left"


def test_merge_keys_must_be_columns_of_both(target: Target) -> None:
    project = target.project
    publish(target, results(target, 1, 1, 5), 1)
    target.spec("a", "dropAndLoad", 1)
    assert project.run("apply").code == 0
    target.spec("b", "merge", 1, mergeKeys=["order_id"])
    result = project.run("plan")
    assert result.code == 1
    assert "mergeKeys order_id not among the columns of the results and the table" in result.err


# --- Hive: tables others made, readers, crashes ---------------------------------------------


@pytest.mark.hive
def test_merge_into_an_orc_table_someone_else_made_keeps_its_format(project: Project, hive: HiveEngine) -> None:
    use(project, hive)
    db = f"`{hive.database}`"
    hive.target.execute(
        f"CREATE TABLE {db}.`t` (id BIGINT, name STRING, amount DECIMAL(12,2), at TIMESTAMP, day DATE, "
        "tags ARRAY<STRING>) STORED AS ORC"
    )
    hive.target.execute(f"INSERT INTO {db}.`t` VALUES (1, 'one', 1.00, NULL, NULL, array('x'))")
    hive.target.execute(f"INSERT INTO {db}.`t` VALUES (99, 'kept', NULL, NULL, NULL, NULL)")
    data = write(project.results(2, 1), "pqt", 1, 5)
    spec(project, hive, "b", "merge", "pqt", 2)
    result = project.run("apply")
    assert result.code == 0, result.err
    found = table_rows(hive, "t")
    assert [r for r in found if r[0] != "99"] == expected(data), "id 1 replaced, 2..5 inserted"
    assert [r[:2] for r in found if r[0] == "99"] == [("99", "kept")]
    described = str(hive.target.fetch(f"DESCRIBE FORMATTED {db}.`t`")).lower()
    assert "orc" in described and ("amount", "decimal(12,2)") in [
        (str(r[0]), str(r[1])) for r in hive.target.fetch(f"DESCRIBE {db}.`t`")
    ]


@pytest.mark.hive
def test_merge_into_a_partitioned_table_rebuilds_only_the_partitions_the_results_touch(
    project: Project, hive: HiveEngine
) -> None:
    """Ids 1..60 over 30 days; results: ids 1..10 with other values, and new ids 101..105, on
    days 1..15. Those 15 partitions are merged; the other 15 keep their rows and their folders."""
    from tests.integration.test_partitions import seed_partitioned

    use(project, hive)
    old = seed_partitioned(project, hive, 1, 60)
    db = f"`{hive.database}`"

    def location(day: str) -> str:
        return str(hive.target.fetch(f"DESCRIBE FORMATTED {db}.`t` PARTITION (day='{day}')"))

    untouched = "2026-01-21"  # ids 20 and 50
    before = location(untouched)
    new = rows(1, 10, tricky=True) + rows(101, 5, tricky=True)
    folder = project.results(2, 1)
    write(folder, "pqt", 1, 10, 1, tricky=True)
    (folder / "part-00000.parquet").rename(folder / "a.parquet")
    write(folder, "pqt", 101, 5, 1, tricky=True)
    spec(project, hive, "b", "merge", "pqt", 2, mergeKeys=["id", "day"])
    result = project.run("apply")
    assert result.code == 0, result.err
    assert "partitions 15 replaced, 0 added, 0 dropped" in result.out
    (detail,) = hive.target.fetch(
        f"SELECT detail FROM {hive.fresh('publications')} WHERE state = 'done' AND job_group = 2"
    )[0]
    assert "partitions 15 replaced, 0 added, 0 dropped (replaced: day=2026-01-02" in detail, detail
    assert table_rows(hive, "t") == expected(merged(old, new))
    assert location(untouched) == before, "a partition the results do not touch keeps its folder"
    assert not [n for n in hive.tables() if "__" in n]


@pytest.mark.hive
def test_merge_into_a_static_partition_keeps_the_others(project: Project, hive: HiveEngine) -> None:
    use(project, hive)
    db = f"`{hive.database}`"
    hive.target.execute(
        f"CREATE TABLE {db}.`t` (id BIGINT, name STRING, amount DECIMAL(10,2), at TIMESTAMP, day DATE, "
        "tags ARRAY<STRING>) PARTITIONED BY (dt STRING) STORED AS PARQUET"
    )
    hive.target.execute(f"INSERT INTO {db}.`t` PARTITION (dt='a') VALUES (1, 'in a', NULL, NULL, NULL, NULL)")
    hive.target.execute(f"INSERT INTO {db}.`t` PARTITION (dt='b') VALUES (1, 'in b', NULL, NULL, NULL, NULL)")
    hive.target.execute(f"INSERT INTO {db}.`t` PARTITION (dt='b') VALUES (99, 'kept', NULL, NULL, NULL, NULL)")
    data = write(project.results(2, 1), "pqt", 1, 3)
    spec(project, hive, "b", "merge", "pqt", 2, mergeKeys=["id"], partition={"dt": "b"})
    result = project.run("apply")
    assert result.code == 0, result.err
    found = hive.target.fetch(f"SELECT dt, id, name FROM {hive.fresh('t')}")
    by_partition = sorted((str(d), int(i), str(n)) for d, i, n in found)
    want = [("a", 1, "in a"), ("b", 99, "kept")] + [("b", r["id"], r["name"]) for r in data]
    assert by_partition == sorted(want)


@pytest.mark.hive
def test_a_partitioned_table_without_its_partition_keys_or_an_external_table_is_refused(
    project: Project, hive: HiveEngine, tmp_path: Path
) -> None:
    use(project, hive)
    db = f"`{hive.database}`"
    hive.target.execute(
        f"CREATE TABLE {db}.`p` (id BIGINT, name STRING, amount DECIMAL(10,2), at TIMESTAMP, tags ARRAY<STRING>) "
        "PARTITIONED BY (day DATE) STORED AS PARQUET"
    )
    hive.target.execute(
        f"CREATE EXTERNAL TABLE {db}.`e` (id BIGINT, name STRING, amount DECIMAL(10,2), at TIMESTAMP, day DATE, "
        f"tags ARRAY<STRING>) STORED AS PARQUET LOCATION 'file://{tmp_path / 'external'}'"
    )
    write(project.results(2, 1), "pqt", 1, 5)
    spec(project, hive, "p", "merge", "pqt", 2, table="p")
    spec(project, hive, "e", "merge", "pqt", 2, table="e")
    result = project.run("plan")
    assert result.code == 1
    assert "mergeKeys must include its partition columns (day missing)" in result.err
    assert "merge: table" in result.err and "is external" in result.err


@pytest.mark.hive
def test_a_reader_during_a_merge_sees_the_old_rows_or_the_new_ones(project: Project, hive: HiveEngine) -> None:
    use(project, hive)
    write(project.results(1, 1), "pqt", 1, 200)
    spec(project, hive, "a", "dropAndLoad", "pqt", 1)
    assert project.run("apply").code == 0
    write(project.results(2, 1), "pqt", 151, 100, tricky=True)  # 50 replaced, 50 inserted
    spec(project, hive, "b", "merge", "pqt", 2)
    if hive.kind == "server":
        from tests.fixtures.hive import _server

        reader_target = _server()
    else:
        reader_target = hive.target  # the same Spark session, from another thread
    query = f"SELECT COUNT(*), MAX(id) FROM `{hive.database}`.`t`"
    seen: list[tuple[int, int]] = []
    errors: list[str] = []
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            try:
                count, top = reader_target.fetch(query)[0]
            except Exception as exc:  # recorded, and the test fails on it
                errors.append(str(exc).splitlines()[0])
                continue
            seen.append((int(count), int(top)))

    reader = threading.Thread(target=read)
    reader.start()
    try:
        result = project.run("apply")
    finally:
        stop.set()
        reader.join(60)
    assert result.code == 0, result.err
    assert not errors, errors[:3]
    assert seen and set(seen) <= {(200, 200), (250, 250)}, sorted(set(seen))
    assert table_rows(hive, "t") == expected(merged(rows(1, 200), rows(151, 100, tricky=True)))


# --- onSchemaChange: addColumns ------------------------------------------------------------


def make_narrow_table(target: Target) -> None:
    """A table someone else made: id, name and a note column the results lack; one old row."""
    if target.is_hive:
        db = f"`{target.database}`"
        target.engine.target.execute(f"CREATE TABLE {db}.`t` (id BIGINT, name STRING, note STRING) STORED AS PARQUET")
        target.engine.target.execute(f"INSERT INTO {db}.`t` VALUES (-1, 'old', 'kept')")
    else:
        text = "VARCHAR(65535)" if target.kind == "redshift" else "TEXT"  # each target's type for the results' strings
        target.engine.execute(f"CREATE TABLE {target.engine.qualified('t')} (id BIGINT, name {text}, note VARCHAR(20))")
        target.engine.execute(f"INSERT INTO {target.engine.qualified('t')} VALUES (-1, 'old', 'kept')")


def read(target: Target, query: str) -> list[tuple[Any, ...]]:
    """Rows of ``query`` on table t (written {t}), values as text, sorted."""
    if target.is_hive:
        found = target.engine.target.fetch(query.format(t=target.engine.fresh("t")))
    else:
        found = target.engine.fetch(query.format(t=target.engine.qualified("t")))
    return sorted((tuple(None if v is None else str(v) for v in row) for row in found), key=str)


@pytest.mark.parametrize("action", ["load", "truncateAndLoad", "merge"])
def test_add_columns_adds_the_results_new_columns_and_fills_missing_ones_with_null(target: Target, action: str) -> None:
    """The results have amount, at, day and tags, which the table lacks; the table has note,
    which the results lack. Without onSchemaChange: a plan error listing both; with addColumns:
    the columns added, the old row reads NULL in them (kept by load and merge), new rows read
    NULL in note, and their values are the results'."""
    project = target.project
    make_narrow_table(target)
    publish(target, results(target, 1, 1, 4), 1)
    target.spec("a", action, 1, **({"mergeKeys": ["id"]} if action == "merge" else {}))
    refused = project.run("plan")
    assert refused.code == 1
    assert "extra column amount" in refused.err and "missing column note" in refused.err
    assert "onSchemaChange: addColumns" in refused.err
    target.spec("a", action, 1, onSchemaChange="addColumns", **({"mergeKeys": ["id"]} if action == "merge" else {}))
    plan = project.run("plan")
    assert plan.code == 0, plan.err
    assert "columns added to the table: amount" in plan.out
    assert "left out of the insert (new rows get their DEFAULT, else NULL): note" in plan.out
    result = project.run("apply")
    assert result.code == 0, result.err
    found = read(target, "SELECT id, name, note, amount, day FROM {t}")
    new = [(str(r["id"]), r["name"], None, str(r["amount"]), str(r["day"])) for r in rows(1, 4)]
    old = [("-1", "old", "kept", None, None)]
    assert found == sorted(new + (old if action != "truncateAndLoad" else []), key=str)
    again = project.run("plan")
    assert "columns added" not in again.out, "the next plan finds the columns there"


# --- the ledger's detail column, added to ledgers of earlier versions -------------------------


def test_a_ledger_of_an_earlier_version_is_read_then_given_its_detail_column(target: Target) -> None:
    """A ledger without the detail column (publisher before merge) holding a published row: plan
    and status read it; the next apply adds the column (once), and records into it."""
    from publisher.dialects import dialect_for
    from publisher.planning import ledger

    dialect = dialect_for("hive" if target.is_hive else "redshift")
    old = [(n, t) for n, t in ledger.COLUMNS if n not in ledger.ADDED_LATER]
    columns = ", ".join(f"{n} {dialect.ledger_types[t]}" for n, t in old)
    home = f"`{target.database}`.`publications`" if target.is_hive else target.engine.qualified("publications")
    target.execute(f"CREATE TABLE {home} ({columns}){dialect.ledger_storage}")
    target.execute(
        f"INSERT INTO {home} VALUES (7, 1, 1, '{target.database}', 'x', 'load', 'done', 'x', 5, NULL, "
        "'20260101000000', NULL, 'specs/x.yaml', 'abc', '', 'run-old', CAST('2026-01-01 00:00:00' AS TIMESTAMP))"
    )
    project = target.project
    publish(target, results(target, 1, 1, 20), 1)
    target.spec("a", "dropAndLoad", 1)
    plan = project.run("plan")
    assert plan.code == 0, plan.err
    assert "add the ledger's detail column" in plan.out
    assert project.run("apply").code == 0
    publish(target, results(target, 2, 15, 10), 2)
    target.spec("b", "merge", 2, mergeKeys=["id"])
    again = project.run("plan")
    assert "add the ledger's detail column" not in again.out, "added once"
    assert project.run("apply").code == 0
    assert target.details(7) == [None], "the earlier row is kept, its detail NULL"
    assert target.details(1) == [None], "dropAndLoad records no detail"
    (merged_detail,) = target.details(2)
    assert merged_detail is not None and merged_detail.endswith(": 6")
    status = project.run("status")
    assert status.code == 0 and "rows updated" in status.out
