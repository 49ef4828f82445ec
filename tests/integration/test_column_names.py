"""Column names as results carry them: capitals, reserved words, non-ASCII. Each reaches
its table with its values, for every format and target; values are read back, not counted.
(Hive's AvroSerDe and Redshift's JSON/Avro 'auto' match fields by exact name, and both
targets lower-case column names: without care, OrderId publishes as NULLs.)"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import HiveEngine, Project
from tests.fixtures.redshift import RedshiftEngine, RedshiftProject
from tests.integration.test_apply_hive import use

ROWS = [
    {"OrderId": 1, "Amount": 2.5, "select": "x", "Größe": "groß"},
    {"OrderId": 2, "Amount": None, "select": None, "Größe": None},
    {"OrderId": 3, "Amount": -7.25, "select": "it's", "Größe": "ü"},
]
# What each row reads back as, in the table's column order (orderid, amount, select, größe).
EXPECTED = [(1, 2.5, "x", "groß"), (2, None, None, None), (3, -7.25, "it's", "ü")]


def names_for(fmt: str) -> list[str]:
    # Avro names are ASCII letters, digits and underscores only.
    return ["OrderId", "Amount", "select"] + ([] if fmt == "avro" else ["Größe"])


def write_results(folder: Path, fmt: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    names = names_for(fmt)
    data = [{k: r[k] for k in names} for r in ROWS]
    if fmt == "pqt":
        import pyarrow as pa
        import pyarrow.parquet as pq

        schema = pa.schema([pa.field("OrderId", pa.int64(), False), ("Amount", pa.float64()), ("select", pa.string())])
        schema = schema.append(pa.field("Größe", pa.string()))
        pq.write_table(pa.Table.from_pylist(data, schema=schema), folder / "part-00000.parquet")
    elif fmt == "avro":
        import fastavro

        schema = {
            "type": "record",
            "name": "Row",
            "fields": [
                {"name": "OrderId", "type": "long"},
                {"name": "Amount", "type": ["null", "double"]},
                {"name": "select", "type": ["null", "string"]},
            ],
        }
        with open(folder / "part-00000.avro", "wb") as f:
            fastavro.writer(f, fastavro.parse_schema(schema), data)
    elif fmt == "csv":
        with open(folder / "part-00000.csv", "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(names)
            writer.writerows([[r[k] for k in names] for r in data])  # None: an empty field, CSV's NULL
    else:
        (folder / "part-00000.json").write_text("\n".join(json.dumps(r) for r in data) + "\n", encoding="utf-8")


def expected(fmt: str) -> list[tuple[Any, ...]]:
    width = len(names_for(fmt))
    return [row[:width] for row in EXPECTED]


@pytest.mark.hive
@pytest.mark.parametrize("fmt", ["pqt", "avro"])
def test_hive_publishes_the_values_of_mixed_case_reserved_and_non_ascii_columns(
    project: Project, hive: HiveEngine, fmt: str
) -> None:
    use(project, hive)
    write_results(project.results(10, 1), fmt)
    project.spec(
        "a",
        jobGroup=10,
        flowNodeId=1,
        connection={"id": 1},
        path=[hive.database],
        table="t",
        action="dropAndLoad",
        inputFormat=fmt,
    )
    result = project.run("apply")
    assert result.code == 0, result.err
    names = ", ".join(f"`{n.lower()}`" for n in names_for(fmt))
    rows = hive.target.fetch(f"SELECT {names} FROM {hive.fresh('t')} ORDER BY `orderid`")
    assert [tuple(r) for r in rows] == expected(fmt)


@pytest.mark.redshift
@pytest.mark.parametrize("fmt", ["csv", "json", "avro", "pqt"])
def test_redshift_publishes_the_values_of_mixed_case_reserved_and_non_ascii_columns(
    redshift_project: RedshiftProject, redshift: RedshiftEngine, tmp_path: Path, fmt: str
) -> None:
    rs = redshift
    write_results(tmp_path / "r", fmt)
    rs.upload(tmp_path / "r", 10)
    keys: dict[str, Any] = {"columnTypes": {"Amount": "DOUBLE PRECISION"}} if fmt in ("csv", "json") else {}
    redshift_project.spec(
        "a",
        jobGroup=10,
        flowNodeId=1,
        connection={"id": 1},
        path=["dev"],
        table=rs.table_name("t"),
        action="dropAndLoad",
        inputFormat=fmt,
        **keys,
    )
    result = redshift_project.run("apply")
    assert result.code == 0, result.err
    names = ", ".join(f'"{n.lower()}"' for n in names_for(fmt))
    rows = rs.fetch(f"SELECT {names} FROM {rs.qualified('t')} ORDER BY 1")
    assert [tuple(float(v) if isinstance(v, int | float) and i == 1 else v for i, v in enumerate(r)) for r in rows] == [
        tuple(float(v) if isinstance(v, int | float) and i == 1 else v for i, v in enumerate(r)) for r in expected(fmt)
    ]
