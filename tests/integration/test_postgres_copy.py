"""publisher/engines/postgres_copy.py against a real PostgreSQL: every value as written, each format,
local and S3 results, bounded batches, and the caller's transaction.

Uses the PostgreSQL behind the Redshift stand-in (``bash .ci/services/redshift_standin.sh start``):
127.0.0.1:$PUBLISHER_PG_PORT (default 15432), user publisher, password $PUBLISHER_TEST_REDSHIFT_PASSWORD,
in a database of its own (``copytest``: the stand-in's ``dev`` refuses PostgreSQL-only types such as
bytea, as Redshift does), made through the superuser's socket in $PUBLISHER_CI_STATE/redshift/pgsocket;
each test in a schema of its own.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import threading
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from publisher.engines.postgres_copy import copy_results, result_batches
from publisher.results import inspect_results

pytestmark = pytest.mark.redshift

psycopg = pytest.importorskip("psycopg")


DATABASE = "copytest"


@pytest.fixture(scope="module")
def pg_port() -> int:
    """The stand-in's PostgreSQL port, with the database ``copytest`` (owned by publisher) made."""
    if not os.environ.get("PUBLISHER_TEST_REDSHIFT_PASSWORD"):
        if os.environ.get("PUBLISHER_REQUIRE_SERVICES") == "1":
            pytest.fail("PUBLISHER_TEST_REDSHIFT_PASSWORD is not set (PUBLISHER_REQUIRE_SERVICES=1)")
        pytest.skip("no PostgreSQL: start .ci/services/redshift_standin.sh and source its env.sh")
    port = int(os.environ.get("PUBLISHER_PG_PORT", "15432"))
    socket = Path(os.environ.get("PUBLISHER_CI_STATE", "/tmp/publisher-ci")) / "redshift" / "pgsocket"
    with psycopg.connect(host=str(socket), port=port, dbname="postgres", user="postgres", autocommit=True) as admin:
        if not admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE]).fetchone():
            admin.execute(f"CREATE DATABASE {DATABASE} OWNER publisher")
    return port


@pytest.fixture
def pg(pg_port: int) -> Iterator[Any]:
    """A psycopg connection (autocommit off) whose search_path is a fresh schema."""
    password = os.environ["PUBLISHER_TEST_REDSHIFT_PASSWORD"]
    conn = psycopg.connect(host="127.0.0.1", port=pg_port, dbname=DATABASE, user="publisher", password=password)
    schema = f"copytest_{secrets.token_hex(4)}"
    conn.execute(f"CREATE SCHEMA {schema}")
    conn.execute(f"SET search_path TO {schema}")
    conn.commit()
    try:
        yield conn
    finally:
        conn.rollback()
        conn.execute(f"DROP SCHEMA {schema} CASCADE")
        conn.commit()
        conn.close()


def load(conn: Any, folder: Path | str, fmt: str, pg_columns: dict[str, str], s3: Any = None) -> list[tuple[Any, ...]]:
    """Create table t with ``pg_columns``, COPY the result at ``folder`` into it, commit, return its rows."""
    names = list(pg_columns)
    conn.execute("CREATE TABLE t (" + ", ".join(f'"{n}" {t}' for n, t in pg_columns.items()) + ")")
    results = inspect_results(str(folder), fmt, s3)  # type: ignore[arg-type]
    written = copy_results(
        conn, "t", [f'"{n}"' for n in names], list(pg_columns.values()), result_batches(results, s3, batch_rows=3)
    )
    conn.commit()
    rows = conn.execute("SELECT " + ", ".join(f'"{n}"' for n in names) + " FROM t ORDER BY 1").fetchall()
    assert written == len(rows)
    return list(rows)


UTC = dt.UTC
STRINGS = [
    "plain",
    "",
    None,
    'quote " comma , newline \n cr \r',
    "back\\slash \\N \\.",
    "\\.",
    "ünïcødé ✓ 日本",
    "NULL",
]


def test_parquet_values_reach_the_table_as_written(pg: Any, tmp_path: Path) -> None:
    n = len(STRINGS)
    table = pa.table(
        {
            "id": pa.array(range(n), pa.int64()),
            "s": pa.array(STRINGS, pa.string()),
            "i32": pa.array([2**31 - 1, -(2**31), None, 0, 1, 2, 3, 4], pa.int32()),
            "d": pa.array(
                [Decimal("1.10"), Decimal("-12345678901234567890.0123456789"), None, Decimal("0.00")] * 2,
                pa.decimal128(38, 10),
            ),
            "f": pa.array([0.1, 1e300, float("inf"), float("-inf"), None, 5e-324, -0.0, 1 / 3], pa.float64()),
            "b": pa.array([True, False, None, True, False, True, False, True]),
            "day": pa.array([dt.date(1, 1, 1), dt.date(9999, 12, 31), None, dt.date(2024, 2, 29)] * 2),
            "tz": pa.array(
                [dt.datetime(2024, 3, 1, 12, 30, 45, 123456, tzinfo=UTC), None, dt.datetime(1970, 1, 1, tzinfo=UTC)]
                + [dt.datetime(2000, 1, 1, 0, 0, 0, 1, tzinfo=UTC)] * 5,
                pa.timestamp("us", tz="UTC"),
            ),
            "naive": pa.array(
                [dt.datetime(2024, 3, 1, 12, 30, 45, 123456), None] + [dt.datetime(1900, 1, 1, 23, 59, 59)] * 6,
                pa.timestamp("us"),
            ),
            "bin": pa.array([b"", b'\x00\xff\n,"\\', None, b"abc", b"\x01", b"", None, b"\xde\xad"], pa.binary()),
        }
    )
    (tmp_path / "r").mkdir()
    pq.write_table(table.slice(0, 5), tmp_path / "r" / "part-0.parquet", row_group_size=2)
    pq.write_table(table.slice(5), tmp_path / "r" / "part-1.parquet")
    types = {
        "id": "bigint",
        "s": "text",
        "i32": "integer",
        "d": "numeric(38,10)",
        "f": "double precision",
        "b": "boolean",
        "day": "date",
        "tz": "timestamptz",
        "naive": "timestamp",
        "bin": "bytea",
    }
    pg.execute("SET TIME ZONE 'America/New_York'")  # the session's zone must not shift instants
    rows = load(pg, tmp_path / "r", "pqt", types)
    expected = table.to_pylist()
    assert len(rows) == n
    for row, want in zip(rows, expected, strict=True):
        got = dict(zip(types, row, strict=True))
        for key in ("id", "s", "i32", "b", "day", "naive"):
            assert got[key] == want[key], key
        assert str(got["d"]) == str(want["d"])  # the value and its scale
        if want["f"] is None:
            assert got["f"] is None
        else:
            assert repr(got["f"]) == repr(want["f"])  # the same bits, -0.0 included
        assert got["tz"] == want["tz"]
        assert (None if got["bin"] is None else bytes(got["bin"])) == want["bin"]


def test_nested_values_go_as_jsonb_and_lists_as_arrays(pg: Any, tmp_path: Path) -> None:
    point = pa.struct([("x", pa.decimal128(5, 2)), ("label", pa.string()), ("at", pa.timestamp("us", tz="UTC"))])
    table = pa.table(
        {
            "id": pa.array([1, 2, 3]),
            "ints": pa.array([[1, None, 3], [], None], pa.list_(pa.int64())),
            "words": pa.array([['a "b"', "c,d", None], ["{}", "\\"], None], pa.list_(pa.string())),
            "point": pa.array(
                [
                    {"x": Decimal("1.10"), "label": 'q"', "at": dt.datetime(2024, 1, 1, tzinfo=UTC)},
                    None,
                    {"x": None, "label": "ü", "at": None},
                ],
                point,
            ),
            "tags": pa.array([[("k", 1), ("j", None)], None, []], pa.map_(pa.string(), pa.int64())),
            "points": pa.array([[{"x": Decimal("2.00"), "label": None, "at": None}], [], None], pa.list_(point)),
        }
    )
    (tmp_path / "r").mkdir()
    pq.write_table(table, tmp_path / "r" / "part-0.parquet")
    types = {
        "id": "bigint",
        "ints": "bigint[]",
        "words": "text[]",
        "point": "jsonb",
        "tags": "jsonb",
        "points": "jsonb",
    }
    rows = load(pg, tmp_path / "r", "pqt", types)
    assert rows[0][1:3] == ([1, None, 3], ['a "b"', "c,d", None])
    assert rows[1][1:3] == ([], ["{}", "\\"])
    assert rows[2][1:3] == (None, None)
    # The decimal keeps its digits inside the jsonb (1.10, not 1.1).
    texts = pg.execute("SELECT point::text, tags::text, points::text FROM t ORDER BY id").fetchall()
    assert texts[0] == (
        '{"x": 1.10, "at": "2024-01-01T00:00:00+00:00", "label": "q\\""}',
        '{"j": null, "k": 1}',
        '[{"x": 2.00, "at": null, "label": null}]',
    )
    assert texts[1] == (None, None, "[]")
    assert texts[2] == ('{"x": null, "at": null, "label": "ü"}', "{}", None)


def test_csv_values_are_parsed_by_postgresql_from_the_text_as_written(pg: Any, tmp_path: Path) -> None:
    (tmp_path / "r").mkdir()
    (tmp_path / "r" / "part-0.csv").write_text(
        "id,code,amount,note,at\n"
        '1,01234,1.10,"a, ""quoted"" note",2024-03-01 12:30:45.123456\n'
        '2,00000,-0.50,"",2024-03-01T00:00:00\n'
        "3,,,,\n"
        '4,12,12345678901234567890.12,"multi\nline",\n',
        encoding="utf-8",
    )
    types = {"id": "bigint", "code": "text", "amount": "numeric(30,2)", "note": "text", "at": "timestamp"}
    rows = load(pg, tmp_path / "r", "csv", types)
    assert rows == [
        (1, "01234", Decimal("1.10"), 'a, "quoted" note', dt.datetime(2024, 3, 1, 12, 30, 45, 123456)),
        (2, "00000", Decimal("-0.50"), "", dt.datetime(2024, 3, 1)),
        (3, None, None, None, None),
        (4, "12", Decimal("12345678901234567890.12"), "multi\nline", None),
    ]


def test_json_lines(pg: Any, tmp_path: Path) -> None:
    (tmp_path / "r").mkdir()
    lines = [
        {"id": 1, "name": 'a "b" \\ c', "amount": 1.25, "ok": True},
        {"id": 2, "name": None, "amount": None, "ok": False},
        {"id": 3, "name": "", "amount": -3.5},
    ]
    (tmp_path / "r" / "part-0.json").write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
    rows = load(
        pg, tmp_path / "r", "json", {"id": "bigint", "name": "text", "amount": "numeric(10,2)", "ok": "boolean"}
    )
    assert rows == [
        (1, 'a "b" \\ c', Decimal("1.25"), True),
        (2, None, None, False),
        (3, "", Decimal("-3.50"), None),
    ]


def test_avro(pg: Any, tmp_path: Path) -> None:
    import fastavro

    schema = {
        "type": "record",
        "name": "r",
        "fields": [
            {"name": "id", "type": "long"},
            {"name": "name", "type": ["null", "string"]},
            {"name": "amount", "type": {"type": "bytes", "logicalType": "decimal", "precision": 12, "scale": 3}},
            {"name": "at", "type": {"type": "long", "logicalType": "timestamp-micros"}},
            {"name": "local", "type": {"type": "long", "logicalType": "local-timestamp-micros"}},
            {"name": "tags", "type": {"type": "map", "values": "long"}},
            {"name": "nums", "type": {"type": "array", "items": "int"}},
        ],
    }
    records = [
        {
            "id": i,
            "name": None if i == 2 else f'n{i},"',
            "amount": Decimal("12.340") * i,
            "at": dt.datetime(2024, 1, 1, 0, 0, 0, 7, tzinfo=UTC) + dt.timedelta(days=i),
            "local": dt.datetime(2024, 1, 1, 1, 2, 3, 456789),
            "tags": {"a": i},
            "nums": [i, i + 1],
        }
        for i in range(1, 8)
    ]
    (tmp_path / "r").mkdir()
    with open(tmp_path / "r" / "part-0.avro", "wb") as fh:
        fastavro.writer(fh, fastavro.parse_schema(schema), records, sync_interval=100)
    types = {
        "id": "bigint",
        "name": "text",
        "amount": "numeric(12,3)",
        "at": "timestamptz",
        "local": "timestamp",
        "tags": "jsonb",
        "nums": "integer[]",
    }
    rows = load(pg, tmp_path / "r", "avro", types)
    assert [r[:5] + (r[6],) for r in rows] == [
        (r["id"], r["name"], r["amount"], r["at"], r["local"], r["nums"]) for r in records
    ]
    assert [r[5] for r in rows] == [{"a": i} for i in range(1, 8)]


def test_batches_are_bounded_and_nothing_is_committed(pg: Any, tmp_path: Path) -> None:
    (tmp_path / "r").mkdir()
    pq.write_table(pa.table({"x": pa.array(range(10_000))}), tmp_path / "r" / "p.parquet", row_group_size=4_000)
    results = inspect_results(str(tmp_path / "r"), "pqt")
    sizes = [b.num_rows for b in result_batches(results, batch_rows=1_000)]
    assert max(sizes) <= 1_000 and sum(sizes) == 10_000
    pg.execute("CREATE TABLE t (x bigint)")
    pg.commit()
    assert copy_results(pg, "t", ['"x"'], ["bigint"], result_batches(results)) == 10_000
    assert pg.execute("SELECT count(*), sum(x) FROM t").fetchone() == (10_000, sum(range(10_000)))
    pg.rollback()  # the caller's transaction decides: nothing was committed
    assert pg.execute("SELECT count(*) FROM t").fetchone() == (0,)


def test_parquet_on_s3(pg: Any, tmp_path: Path) -> None:
    endpoint = os.environ.get("PUBLISHER_TEST_S3")
    if not endpoint:
        pytest.skip("no S3 server (PUBLISHER_TEST_S3)")
    import boto3

    s3 = boto3.client(
        "s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="k", aws_secret_access_key="s"
    )
    bucket = f"copytest-{secrets.token_hex(4)}"
    s3.create_bucket(Bucket=bucket)
    table = pa.table({"id": pa.array(range(20_000)), "s": pa.array([f"v{i}" for i in range(20_000)])})
    path = tmp_path / "p.parquet"
    pq.write_table(table, path, row_group_size=5_000)
    s3.upload_file(str(path), bucket, "res/part-0.parquet")
    s3.put_object(Bucket=bucket, Key="res/_SUCCESS", Body=b"")
    try:
        pg.execute("CREATE TABLE t (id bigint, s text)")
        results = inspect_results(f"s3://{bucket}/res/", "pqt", s3)
        assert copy_results(pg, "t", ['"id"', '"s"'], ["bigint", "text"], result_batches(results, s3)) == 20_000
        assert pg.execute("SELECT count(*), sum(id), max(s) FROM t").fetchone() == (20_000, sum(range(20_000)), "v9999")
    finally:
        for obj in s3.list_objects_v2(Bucket=bucket).get("Contents", []):
            s3.delete_object(Bucket=bucket, Key=obj["Key"])
        s3.delete_bucket(Bucket=bucket)


def test_an_error_on_either_side_of_the_stream_is_raised_and_stops_the_other(pg: Any, tmp_path: Path) -> None:
    pg.execute("CREATE TABLE t (x bigint)")
    pg.commit()

    def wrong_width() -> Iterator[pa.RecordBatch]:
        yield pa.record_batch({"x": pa.array([1, 2])})
        yield pa.record_batch({"x": pa.array([3]), "y": pa.array([4])})

    with pytest.raises(ValueError, match="a batch of 2 columns for 1 table columns"):
        copy_results(pg, "t", ['"x"'], ["bigint"], wrong_width())
    pg.rollback()

    # The server refuses a value: its error is raised (libpq reports it when the COPY ends), the
    # reading thread is joined, and the transaction holds nothing.
    def refused() -> Iterator[pa.RecordBatch]:
        for i in range(50):
            yield pa.record_batch({"x": pa.array(["not a number" if i == 3 else str(i)] * 1_000)})

    with pytest.raises(psycopg.errors.InvalidTextRepresentation, match="not a number"):
        copy_results(pg, "t", ['"x"'], ["bigint"], refused())
    pg.rollback()
    assert pg.execute("SELECT count(*) FROM t").fetchone() == (0,)
    assert not [t for t in threading.enumerate() if t.name == "copy-encoder"]
