"""The table shape x action matrix (docs/hive.md, "Tables the publisher did not make"), the cells
other suites do not prove already
(test_apply_hive.py, test_partitions.py, test_table_shapes.py, test_merge_and_evolution.py),
on both Hive engines and from Parquet and Avro results. Every table written into is made by
hand with SQL, not by the publisher; several publications go in one apply (one lock, one
plan) to keep the suite's time down. Values are read back, not only counted, and the
results' files are unchanged afterwards."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import HiveEngine, Project, snapshot
from tests.integration.test_apply_hive import expected, spec, table_rows, use
from tests.resultfiles import rows, write

pytestmark = pytest.mark.hive

COLUMNS = "id BIGINT, name STRING, amount DECIMAL(10,2), at TIMESTAMP, day DATE, tags ARRAY<STRING>"
NOT_DAY = "id BIGINT, name STRING, amount DECIMAL(10,2), at TIMESTAMP, tags ARRAY<STRING>"
SELECT_BY_DAY = "id, name, amount, at, tags, day"

OLD = (1, 6)  # ids 1..6: days 2026-01-02 .. 2026-01-07
NEW = (4, 6)  # ids 4..9: days 2026-01-05 .. 2026-01-10: three days of the old rows, three new ones


def old_rows_table(hive: HiveEngine, folder: Path) -> str:
    """An external table over Parquet files of the old rows, to fill hand-made tables from."""
    write(folder, "pqt", *OLD, parts=1)
    name = f"`{hive.database}`.`old_rows`"
    hive.target.execute(f"CREATE EXTERNAL TABLE {name} ({COLUMNS}) STORED AS PARQUET LOCATION '{folder.as_uri()}'")
    return name


def by_hand(hive: HiveEngine, name: str, shape: str, storage: str, old: str) -> None:
    """Table ``name``, made with SQL, holding the old rows: ``flat`` (unpartitioned), ``day``
    (partitioned by a result column) or ``dt`` (by a column the results lack: the old rows
    in dt=2026-11-30 and again in dt=2026-12-01)."""
    table = f"`{hive.database}`.`{name}`"
    if shape == "flat":
        hive.target.execute(f"CREATE TABLE {table} ({COLUMNS}) STORED AS {storage}")
        hive.target.execute(f"INSERT INTO {table} SELECT * FROM {old}")
    elif shape == "day":
        hive.target.execute(f"CREATE TABLE {table} ({NOT_DAY}) PARTITIONED BY (day DATE) STORED AS {storage}")
        # Hive's default strict mode refuses an insert whose partitions all come from the rows;
        # set back after, so that the publisher's own session (the same one, embedded) is not helped.
        hive.target.execute("SET hive.exec.dynamic.partition.mode=nonstrict")
        hive.target.execute(f"INSERT INTO {table} PARTITION (day) SELECT {SELECT_BY_DAY} FROM {old}")
        hive.target.execute("SET hive.exec.dynamic.partition.mode=strict")
    else:
        hive.target.execute(f"CREATE TABLE {table} ({COLUMNS}) PARTITIONED BY (dt STRING) STORED AS {storage}")
        for dt in ("2026-11-30", "2026-12-01"):
            hive.target.execute(f"INSERT INTO {table} PARTITION (dt='{dt}') SELECT * FROM {old}")


def partitions(hive: HiveEngine, table: str) -> list[str]:
    return sorted(str(r[0]) for r in hive.target.fetch(f"SHOW PARTITIONS `{hive.database}`.`{table}`"))


def days(data: list[dict[str, Any]]) -> list[str]:
    return sorted({f"day={r['day'].isoformat()}" for r in data})


def by_dt(hive: HiveEngine, table: str) -> list[tuple[str, int]]:
    query = f"SELECT dt, COUNT(*) FROM {hive.fresh(table)} GROUP BY dt ORDER BY dt"
    return [(str(r[0]), int(r[1])) for r in hive.target.fetch(query)]


def merged(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[dict[str, Any]]:
    ids = {r["id"] for r in new}
    return [r for r in old if r["id"] not in ids] + new


def storage(hive: HiveEngine, table: str, partition: str = "") -> dict[str, str]:
    """SerDe, input and output format of a table (or of one of its partitions), as
    DESCRIBE FORMATTED shows them."""
    rows_ = hive.target.fetch(f"DESCRIBE FORMATTED `{hive.database}`.`{table}` {partition}")
    found = {}
    for row in rows_:
        key = str(row[0] or "").strip().rstrip(":").lower()
        if key in ("serde library", "inputformat", "outputformat"):
            found[key] = str(row[1]).strip()
    assert len(found) == 3, rows_
    return found


# (table, shape, action, extra spec keys): each a cell no other suite proves for both formats.
CELLS = [
    ("flat_merge", "flat", "merge", {}),
    ("dc", None, "create", {"partitionBy": ["day"]}),
    ("sl", None, "createAndLoad", {"partition": {"dt": "2026-12-01"}}),
    ("day_load", "day", "load", {}),
    ("day_parts", "day", "truncateAndLoad", {"overwrite": "partitions"}),
    ("day_drop", "day", "dropAndLoad", {}),
    ("dt_trunc", "dt", "truncateAndLoad", {"partition": {"dt": "2026-11-30"}}),
    ("dt_drop", "dt", "dropAndLoad", {"partition": {"dt": "2026-12-02"}}),
]


@pytest.mark.parametrize("fmt", ["pqt", "avro"])
def test_every_action_on_every_partitioning(project: Project, hive: HiveEngine, tmp_path: Path, fmt: str) -> None:
    """One apply, one publication per cell: each leaves exactly the rows it promises, in the
    partitions it promises, and the tables keep being partitioned as before."""
    use(project, hive)
    old_table = old_rows_table(hive, tmp_path / "old")
    for job, (table, shape, action, extra) in enumerate(CELLS, start=10):
        if shape:
            by_hand(hive, table, shape, "PARQUET", old_table)
        write(project.results(job, 1), fmt, *NEW)
        spec(project, hive, table, action, fmt, job, table=table, **extra)
    files = snapshot(project.root / "results")
    before = hive.tables()
    result = project.run("apply")
    assert result.code == 0, result.err
    assert f"{len(CELLS)} published, 0 already published, 0 failed" in result.out
    assert snapshot(project.root / "results") == files, "the results' files are unchanged"
    old, new = rows(*OLD), rows(*NEW)
    made = {n.rsplit("_", 1)[0]: n for n in hive.tables() - before - {"publications"}}
    assert set(made) == {"dc", "sl"}, made

    assert table_rows(hive, "flat_merge") == expected(merged(old, new))

    state = hive.target.table_state(hive.table(made["dc"]))
    assert state is not None and state.partition_columns == ("day",) and hive.count(made["dc"]) == 0
    assert table_rows(hive, made["sl"]) == expected(new)
    assert by_dt(hive, made["sl"]) == [("2026-12-01", 6)]

    assert table_rows(hive, "day_load") == expected(old + new)
    assert partitions(hive, "day_load") == days(old + new)
    kept = [r for r in old if r["day"] not in {n["day"] for n in new}]
    assert table_rows(hive, "day_parts") == expected(kept + new), "the results' days replaced, the others kept"
    assert partitions(hive, "day_parts") == days(old + new)
    assert table_rows(hive, "day_drop") == expected(new)
    assert partitions(hive, "day_drop") == days(new), "rebuilt partitioned by day, as the old table was"

    assert table_rows(hive, "dt_trunc") == expected(old + new), "dt=2026-11-30 replaced, dt=2026-12-01 kept"
    assert by_dt(hive, "dt_trunc") == [("2026-11-30", 6), ("2026-12-01", 6)]
    assert {r[0] for r in hive.target.fetch(f"SELECT id FROM {hive.fresh('dt_trunc')} WHERE dt = '2026-11-30'")} == {
        r["id"] for r in new
    }
    assert table_rows(hive, "dt_drop") == expected(new)
    assert by_dt(hive, "dt_drop") == [("2026-12-02", 6)]

    assert not [n for n in hive.tables() if "__" in n], "no twin, trash, staging table or lock left"


# Managed tables of the Hive SerDes other than Parquet and ORC (test_table_shapes.py has ORC).
STORAGE = [("AVRO", "pqt"), ("TEXTFILE", "avro")]


def in_millis(folder: Path) -> None:
    """The Parquet results in ``folder`` with their timestamps cut to milliseconds."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    millis = pa.timestamp("ms", tz="UTC")
    for part in folder.glob("*.parquet"):
        table = pq.read_table(part)
        at = table.schema.get_field_index("at")
        pq.write_table(table.set_column(at, pa.field("at", millis), table["at"].cast(millis, safe=False)), part)


def millis(data: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r | {"at": r["at"].replace(microsecond=r["at"].microsecond // 1000 * 1000)} for r in data]


@pytest.mark.parametrize(("stored_as", "fmt"), STORAGE, ids=[s for s, _ in STORAGE])
def test_avro_and_text_tables_keep_their_format_and_serde(
    project: Project, hive: HiveEngine, tmp_path: Path, stored_as: str, fmt: str
) -> None:
    """load, truncateAndLoad and merge into managed Avro and text tables made by hand
    (unpartitioned and partitioned by day): the promised rows, and the table and its
    partitions keep their SerDe and formats (a twin made LIKE the table has them too).
    Hive's AvroSerDe keeps timestamps to the millisecond: results with finer ones are
    refused at plan time, results in milliseconds load."""
    use(project, hive)
    old_table = old_rows_table(hive, tmp_path / "old")
    cells = [
        ("u_load", "flat", "load", {}),
        ("u_trunc", "flat", "truncateAndLoad", {}),
        ("u_merge", "flat", "merge", {}),
        ("p_load", "day", "load", {}),
        ("p_trunc", "day", "truncateAndLoad", {}),
    ]
    avro = stored_as == "AVRO"
    formats = {}
    for table, shape, _, _ in cells:
        by_hand(hive, table, shape, stored_as, old_table)
        formats[table] = storage(hive, table)
        assert stored_as.lower()[:4] in str(formats[table]).lower()
    if avro:
        write(project.results(9, 1), fmt, *NEW)
        spec(project, hive, "refused", "load", fmt, 9, table="u_load")
        refused = project.run("plan")
        assert refused.code == 1 and len(refused.err.splitlines()) == 1, refused.err
        assert "column at: results TIMESTAMP in microseconds, which an Avro table keeps only to the millisecond" in (
            refused.err
        )
        assert "createAndLoad publishes into a new table" in refused.err
        (project.root / "specs" / "refused.yaml").unlink()
    for job, (table, _, action, extra) in enumerate(cells, start=10):
        write(project.results(job, 1), fmt, *NEW)
        if avro:
            in_millis(project.results(job, 1))
        spec(project, hive, table, action, fmt, job, table=table, **extra)
    files = snapshot(project.root / "results")
    result = project.run("apply")
    assert result.code == 0, result.err
    assert snapshot(project.root / "results") == files
    old, new = rows(*OLD), rows(*NEW)
    if avro:
        old, new = millis(old), millis(new)
    assert table_rows(hive, "u_load") == expected(old + new)
    assert table_rows(hive, "u_trunc") == expected(new)
    assert table_rows(hive, "u_merge") == expected(merged(old, new))
    assert table_rows(hive, "p_load") == expected(old + new)
    assert table_rows(hive, "p_trunc") == expected(new)
    assert partitions(hive, "p_trunc") == days(new)
    for table, was in formats.items():
        assert storage(hive, table) == was, f"{table} keeps its format and SerDe"
    for table in ("p_load", "p_trunc"):
        for path in partitions(hive, table):
            name, value = path.split("=", 1)
            assert storage(hive, table, f"PARTITION ({name}='{value}')") == formats[table], f"{table} {path}"
    assert not [n for n in hive.tables() if "__" in n]
