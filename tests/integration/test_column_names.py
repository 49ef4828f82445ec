"""Column names as results carry them: capitals, reserved words, non-ASCII. Each reaches
its table with its values, for every format and target (the ``target`` fixture); values are read
back, not counted.
(Hive's AvroSerDe and Redshift's JSON/Avro 'auto' match fields by exact name, and both
targets lower-case column names: without care, OrderId publishes as NULLs.)"""

from __future__ import annotations

import contextlib
import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from publisher.targets import TARGETS as DESCRIPTORS
from tests.fixtures.redshift import RedshiftEngine, RedshiftProject
from tests.integration.conftest import Target
from tests.integration.test_actions import target_formats

ROWS = [
    {"OrderId": 1, "Amount": 2.5, "select": "x", "Größe": "groß"},
    {"OrderId": 2, "Amount": None, "select": None, "Größe": None},
    {"OrderId": 3, "Amount": -7.25, "select": "it's", "Größe": "ü"},
]
# What each row reads back as, in the table's column order (orderid, amount, select, größe).
EXPECTED = [(1, 2.5, "x", "groß"), (2, None, None, None), (3, -7.25, "it's", "ü")]


FORMAT_CASES = target_formats()


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


@pytest.mark.parametrize(("target", "fmt"), FORMAT_CASES, indirect=["target"])
def test_the_values_of_mixed_case_reserved_and_non_ascii_columns_are_published(target: Target, fmt: str) -> None:
    """Every format the target reads; the table's names as the target's rule makes them (Hive and
    Redshift fold them to lower case, PostgreSQL keeps them as written)."""
    folder = target.project.results(10, 1) if target.is_hive else target.tmp / "r"
    write_results(folder, fmt)
    if not target.is_hive:
        target.engine.upload(folder, 10)
    keys: dict[str, Any] = {"columnTypes": {"Amount": "DOUBLE PRECISION"}} if fmt in ("csv", "json") else {}
    target.spec("a", "dropAndLoad", 10, fmt=fmt, **keys)
    result = target.project.run("apply")
    assert result.code == 0, result.err
    names = [n if DESCRIPTORS[target.type].name_case == "kept" else n.lower() for n in names_for(fmt)]  # type: ignore[index]
    assert [n for n, _ in target.columns("t")] == names
    quoted = ", ".join(target.quote(n) for n in names)
    rows = target.fetch(f"SELECT {quoted} FROM {target.relation('t')} ORDER BY 1")
    # Amount as a float on every engine (a DOUBLE read back as int where it is whole)
    assert [tuple(float(v) if i == 1 and v is not None else v for i, v in enumerate(r)) for r in rows] == expected(fmt)


# --- Redshift's identifier case (issue 25 item 4) -----------------------------------------------
# The stand-in folds quoted names as a cluster does (tests/standin/identifier_case.py), unless
# enable_case_sensitive_identifier is on. The publisher reads the setting once per connection,
# writes names in lower case under either value, and refuses at plan time what would collide or
# could not be reached.

CASE_SETTING = "enable_case_sensitive_identifier"


@contextlib.contextmanager
def case_sensitive_user(rs: RedshiftEngine) -> Iterator[None]:
    """The publisher's user with the setting on in its next sessions (ALTER USER ... SET), as a
    cluster administrator sets it; reset afterwards whatever happens."""
    rs.execute(f"ALTER USER publisher SET {CASE_SETTING} TO true")
    try:
        yield
    finally:
        rs.execute(f"ALTER USER publisher RESET {CASE_SETTING}")


def publish(project: RedshiftProject, rs: RedshiftEngine, action: str, job_group: int = 10) -> tuple[Any, Any]:
    """The plan's run, then the apply's."""
    project.spec(
        "a",
        jobGroup=job_group,
        flowNodeId=1,
        connection={"id": 1},
        path=["dev"],
        table=rs.table_name("t"),
        action=action,
        inputFormat="pqt",
    )
    return project.run("plan"), project.run("apply")


@pytest.mark.redshift
@pytest.mark.parametrize("setting", ["off", "on"])
def test_redshift_publishes_capitals_in_lower_case_under_either_setting(
    redshift_project: RedshiftProject, redshift: RedshiftEngine, tmp_path: Path, setting: str
) -> None:
    """The plan says how the table holds each name; the table holds exactly that, and the values
    are read back (and were counted after the load) under the folded names."""
    rs = redshift
    write_results(tmp_path / "r", "pqt")
    rs.upload(tmp_path / "r", 10)
    with case_sensitive_user(rs) if setting == "on" else contextlib.nullcontext():
        plan, result = publish(redshift_project, rs, "dropAndLoad")
    assert result.code == 0, result.err
    assert "OrderId as orderid, Amount as amount, Größe as größe" in plan.out
    assert f"(this connection has {CASE_SETTING} {setting})" in plan.out
    assert [n for n, _ in rs.columns("t")] == ["orderid", "amount", "select", "größe"]
    rows = rs.fetch(f'SELECT "orderid", "größe" FROM {rs.qualified("t")} ORDER BY 1')
    assert [tuple(r) for r in rows] == [(1, "groß"), (2, None), (3, "ü")]


@pytest.mark.redshift
@pytest.mark.parametrize("setting", ["off", "on"])
def test_redshift_refuses_results_whose_names_collide_once_folded(
    redshift_project: RedshiftProject, redshift: RedshiftEngine, tmp_path: Path, setting: str
) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rs = redshift
    folder = tmp_path / "r"
    folder.mkdir()
    pq.write_table(pa.table({"Id": [1, 2], "id": [3, 4]}), folder / "part-00000.parquet")
    rs.upload(folder, 10)
    with case_sensitive_user(rs) if setting == "on" else contextlib.nullcontext():
        plan, result = publish(redshift_project, rs, "dropAndLoad")
    assert plan.code == result.code == 1
    # Refused when the results are inspected (model/names.py), before any connection matters.
    assert "columns 'Id' and 'id' differ only in case; rename the columns where the job writes them" in result.err
    assert "t" not in rs.tables()  # nothing ran


@pytest.mark.redshift
@pytest.mark.parametrize("setting", ["off", "on"])
def test_redshift_refuses_loading_into_columns_stored_with_capitals(
    redshift_project: RedshiftProject, redshift: RedshiftEngine, tmp_path: Path, setting: str
) -> None:
    """A table made where the setting was on keeps "OrderId": the publisher's orderid would not
    find it at apply (with the setting off nothing can name it), so the plan refuses the load."""
    rs = redshift
    rs.execute(f"SET {CASE_SETTING} TO true")
    rs.execute(f'CREATE TABLE {rs.qualified("t")} ("OrderId" BIGINT, amount DOUBLE PRECISION, "select" VARCHAR(10))')
    rs.execute(f"RESET {CASE_SETTING}")
    assert [n for n, _ in rs.columns("t")][0] == "OrderId"
    folder = tmp_path / "p"
    folder.mkdir()
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"OrderId": [1], "Amount": [2.5], "select": ["x"]}), folder / "part-00000.parquet")
    rs.upload(folder, 10)
    with case_sensitive_user(rs) if setting == "on" else contextlib.nullcontext():
        plan, result = publish(redshift_project, rs, "load")
    assert plan.code == result.code == 1
    assert "has column(s) OrderId stored with capitals" in result.err
    assert ("no session can name them" in result.err) == (setting == "off")
    assert rs.count("t") == 0


@pytest.mark.redshift
@pytest.mark.parametrize("setting", ["off", "on"])
def test_redshift_refuses_publishing_into_a_table_stored_with_capitals(
    redshift_project: RedshiftProject, redshift: RedshiftEngine, tmp_path: Path, setting: str
) -> None:
    """A table made as "T" where the setting was on: the spec's t (the publisher's "t") is not it,
    so every action that names the table is refused at plan time rather than fail at apply."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rs = redshift
    rs.execute(f"SET {CASE_SETTING} TO true")
    rs.execute(f'CREATE TABLE "{rs.schema}"."T" (orderid BIGINT)')
    rs.execute(f"RESET {CASE_SETTING}")
    folder = tmp_path / "r"
    folder.mkdir()
    pq.write_table(pa.table({"orderid": [1]}), folder / "part-00000.parquet")
    rs.upload(folder, 10)
    with case_sensitive_user(rs) if setting == "on" else contextlib.nullcontext():
        plan, result = publish(redshift_project, rs, "dropAndLoad")
    assert plan.code == result.code == 1
    assert 'is stored with capitals, as "T"' in result.err
    assert ("no session can name it" in result.err) == (setting == "off")
    assert "t" not in rs.tables()
