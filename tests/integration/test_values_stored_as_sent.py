"""Values an engine would store otherwise than they were sent are refused before any change,
and those it stores as sent read back one by one as written (issue 22, item 2):

- Hive (and Spark) write a dynamic partition value '' into __HIVE_DEFAULT_PARTITION__, which
  reads back as NULL; a static partition __HIVE_DEFAULT_PARTITION__ is the NULL partition too;
- a Hive text table without ESCAPED BY splits a value at its field delimiter, a row at a
  line break;
- Redshift's COPY of CSV read the text \\N as NULL (its default NULL AS): CSV NULL is now an
  empty field, and \\N is text.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.integration.conftest import Target


def _parquet(folder: Path, rows: list[dict[str, Any]], *, statistics: bool = True) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    schema = pa.schema([("id", pa.int64()), ("name", pa.string()), ("dt", pa.string())])
    names = [f.name for f in schema if f.name in rows[0]]
    table = pa.Table.from_pylist(rows, schema=pa.schema([schema.field(n) for n in names]))
    pq.write_table(table, folder / "part-00000.parquet", write_statistics=statistics)
    (folder / "_SUCCESS").write_bytes(b"")


def _hive_only(target: Target) -> None:
    if not target.is_hive:
        pytest.skip("Hive partitions and text tables")


def _read(target: Target, table: str, columns: str) -> list[tuple[Any, ...]]:
    return sorted(target.fetch(f"SELECT {columns} FROM {target.engine.fresh(table)}"), key=lambda r: int(r[0]))


def test_an_empty_partition_value_is_refused_and_null_reads_back_as_null(target: Target) -> None:
    _hive_only(target)
    db = f"`{target.database}`"
    target.execute(f"CREATE TABLE {db}.`t` (id BIGINT, name STRING) PARTITIONED BY (dt STRING) STORED AS PARQUET")

    # No statistics: only the staged rows tell. Refused at apply, before any change.
    rows = [{"id": 1, "name": "a", "dt": "x"}, {"id": 2, "name": "b", "dt": ""}]
    _parquet(target.project.results(1, 1), rows, statistics=False)
    target.spec("a", "load", 1)
    refused = target.project.run("apply")
    assert refused.code == 1, refused.err
    assert "column dt: 1 row(s) of the results hold an empty string" in refused.err, refused.err
    assert "such as ''" in refused.err and "Nothing was changed" in refused.err, refused.err
    assert _read(target, "t", "id") == []

    # With statistics the plan knows: refused at plan time, nothing runs.
    _parquet(target.project.results(1, 1), rows)
    planned = target.project.run("plan")
    assert planned.code == 1 and "partition column dt holds an empty string" in planned.err, planned.err

    # A static partition __HIVE_DEFAULT_PARTITION__ is the partition of NULL: refused at plan time.
    (target.project.root / "specs" / "a.yaml").unlink()
    _parquet(target.project.results(2, 1), [{"id": 3, "name": "c"}])
    target.spec("b", "load", 2, partition={"dt": "__HIVE_DEFAULT_PARTITION__"})
    planned = target.project.run("plan")
    assert planned.code == 1 and "the partition of NULL" in planned.err, planned.err
    (target.project.root / "specs" / "b.yaml").unlink()

    # NULL and a value arrive as sent, read back one by one.
    _parquet(target.project.results(3, 1), [{"id": 4, "name": "d", "dt": None}, {"id": 5, "name": "", "dt": "y"}])
    target.spec("c", "load", 3)
    applied = target.project.run("apply")
    assert applied.code == 0, applied.err
    assert _read(target, "t", "id, name, dt") == [(4, "d", None), (5, "", "y")]


@pytest.mark.parametrize("value", ["a|b", "line\nbreak", "carriage\rreturn"])
def test_a_text_table_without_escape_refuses_its_delimiter_and_line_breaks(target: Target, value: str) -> None:
    _hive_only(target)
    db = f"`{target.database}`"
    target.execute(
        f"CREATE TABLE {db}.`t` (id BIGINT, name STRING) ROW FORMAT DELIMITED FIELDS TERMINATED BY '|' "
        "STORED AS TEXTFILE"
    )
    _parquet(target.project.results(1, 1), [{"id": 1, "name": "plain"}, {"id": 2, "name": value}])
    target.spec("a", "load", 1)
    refused = target.project.run("apply")
    assert refused.code == 1, refused.err
    assert "column name: 1 row(s) of the results hold" in refused.err, refused.err
    assert "Nothing was changed" in refused.err and len(refused.err.strip().splitlines()) == 1, refused.err
    assert _read(target, "t", "id") == []


def test_a_text_table_holds_what_it_can_as_sent_and_an_escaped_one_its_delimiter(target: Target) -> None:
    _hive_only(target)
    db = f"`{target.database}`"
    target.execute(
        f"CREATE TABLE {db}.`t` (id BIGINT, name STRING) ROW FORMAT DELIMITED FIELDS TERMINATED BY '|' "
        "STORED AS TEXTFILE"
    )
    target.execute(
        f"CREATE TABLE {db}.`e` (id BIGINT, name STRING) ROW FORMAT DELIMITED FIELDS TERMINATED BY '|' "
        "ESCAPED BY '\\\\' STORED AS TEXTFILE"
    )
    safe = [{"id": 1, "name": "plain"}, {"id": 2, "name": ""}, {"id": 3, "name": None}, {"id": 4, "name": "q'\"t,"}]
    _parquet(target.project.results(1, 1), safe)
    target.spec("a", "load", 1)
    applied = target.project.run("apply")
    assert applied.code == 0, applied.err
    assert _read(target, "t", "id, name") == [(r["id"], r["name"]) for r in safe]

    (target.project.root / "specs" / "a.yaml").unlink()
    escaped = [{"id": 5, "name": "a|b"}, {"id": 6, "name": None}]
    _parquet(target.project.results(2, 1), escaped)
    target.spec("b", "load", 2, table="e")
    applied = target.project.run("apply")
    assert applied.code == 0, applied.err
    assert _read(target, "e", "id, name") == [(r["id"], r["name"]) for r in escaped]


def _csv(target: Target, job: int, lines: list[str]) -> None:
    folder = target.tmp / "local-results" / str(job)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "part-00000.csv").write_text("id,name\n" + "".join(f"{line}\n" for line in lines), encoding="utf-8")
    (folder / "_SUCCESS").write_bytes(b"")
    target.engine.upload(folder, job)


def test_csv_null_is_an_empty_field_and_backslash_n_is_text(target: Target) -> None:
    if target.is_hive:
        pytest.skip("Redshift loads CSV")
    _csv(target, 1, ["1,\\N", '2,"\\N"', "3,", "4,plain", '5,"a, b"'])
    target.spec("a", "dropAndLoad", 1, fmt="csv")
    applied = target.project.run("apply")
    assert applied.code == 0, applied.err
    got = sorted(target.fetch(f"SELECT id, name FROM {target.engine.qualified('t')}"))
    assert got == [(1, "\\N"), (2, "\\N"), (3, None), (4, "plain"), (5, "a, b")]

    (target.project.root / "specs" / "a.yaml").unlink()
    _csv(target, 2, ["6,x", '7,""'])
    target.spec("b", "load", 2, fmt="csv")
    planned = target.project.run("plan")
    if target.kind == "postgres":
        # The publisher reads the CSV itself: a quoted "" is the empty string, and stays one.
        assert target.project.run("apply").code == 0
        got = sorted(target.fetch(f"SELECT id, name FROM {target.engine.qualified('t')} WHERE id > 5"))
        assert got == [(6, "x"), (7, "")]
        return
    # A quoted "" is an empty string Redshift's COPY would load as NULL: refused at plan time.
    assert planned.code == 1 and 'column name: the CSV sample holds an empty string (a quoted "")' in planned.err
