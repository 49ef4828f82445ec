"""Result files: listing, schema and row counts from metadata, errors that name the file."""

from __future__ import annotations

import datetime as dt
import io
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import fastavro
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from publisher.model.errors import InvalidInput
from publisher.results import Column, Results, avro, inspect_results, parquet, stores

# --- Writing result files ---------------------------------------------------------


def write_parquet(path: Path, table: pa.Table, **kwargs: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path, **kwargs)
    return path


def parquet_table(n: int, start: int = 0) -> pa.Table:
    schema = pa.schema(
        [
            pa.field("id", pa.int64(), nullable=False),
            pa.field("name", pa.string()),
            pa.field("amount", pa.decimal128(12, 2)),
            pa.field("at", pa.timestamp("us", tz="UTC")),
            pa.field("tags", pa.list_(pa.string())),
            pa.field("address", pa.struct([("city", pa.string()), ("zip", pa.int32())])),
        ]
    )
    ids = list(range(start, start + n))
    return pa.table(
        {
            "id": ids,
            "name": [f"n{i}" for i in ids],
            "amount": [Decimal(i) / 100 for i in ids],
            "at": [dt.datetime(2024, 1, 1, tzinfo=dt.UTC)] * n,
            "tags": [["a", "b"]] * n,
            "address": [{"city": "Paris", "zip": 75001}] * n,
        },
        schema=schema,
    )


AVRO_SCHEMA: dict[str, Any] = {
    "type": "record",
    "name": "Row",
    "namespace": "example",
    "fields": [
        {"name": "id", "type": "long"},
        {"name": "label", "type": ["null", "string"]},
        {"name": "day", "type": {"type": "int", "logicalType": "date"}},
        {"name": "at", "type": {"type": "long", "logicalType": "timestamp-millis"}},
        {"name": "local", "type": ["null", {"type": "long", "logicalType": "local-timestamp-micros"}]},
        {"name": "price", "type": {"type": "bytes", "logicalType": "decimal", "precision": 10, "scale": 2}},
        {
            "name": "fixed_price",
            "type": {
                "type": "fixed",
                "name": "Money",
                "size": 8,
                "logicalType": "decimal",
                "precision": 18,
                "scale": 4,
            },
        },
        {"name": "color", "type": {"type": "enum", "name": "Color", "symbols": ["RED", "GREEN"]}},
        {"name": "digest", "type": {"type": "fixed", "name": "Digest", "size": 4}},
        {"name": "blob", "type": "bytes"},
        {"name": "ratio", "type": "float"},
        {"name": "ok", "type": "boolean"},
        {"name": "scores", "type": {"type": "array", "items": ["null", "int"]}},
        {"name": "attrs", "type": {"type": "map", "values": "double"}},
        {
            "name": "home",
            "type": {
                "type": "record",
                "name": "Address",
                "fields": [{"name": "city", "type": "string"}, {"name": "zip", "type": ["null", "int"]}],
            },
        },
        {"name": "work", "type": ["null", "Address"]},
    ],
}


def avro_records(n: int) -> list[dict[str, Any]]:
    return [
        {
            "id": i,
            "label": None if i % 2 else f"row {i}",
            "day": dt.date(2024, 1, 1),
            "at": dt.datetime(2024, 1, 1, 12, tzinfo=dt.UTC),
            "local": None,
            "price": Decimal("12.34"),
            "fixed_price": Decimal("1.2345"),
            "color": "RED",
            "digest": b"abcd",
            "blob": b"x" * 20,
            "ratio": 0.5,
            "ok": True,
            "scores": [1, None],
            "attrs": {"k": 1.0},
            "home": {"city": "Paris", "zip": None},
            "work": None,
        }
        for i in range(n)
    ]


def write_avro(path: Path, schema: dict[str, Any], records: list[dict[str, Any]], **kwargs: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as fh:
        fastavro.writer(fh, fastavro.parse_schema(schema), records, **kwargs)
    return path


def avro_blocks(path: Path) -> int:
    with path.open("rb") as fh:
        return sum(1 for _ in fastavro.block_reader(fh))


def columns(results: Results) -> dict[str, tuple[pa.DataType, bool]]:
    return {c.name: (c.type, c.nullable) for c in results.columns}


def error(location: str | Path, fmt: Any, **kwargs: Any) -> str:
    with pytest.raises(InvalidInput) as exc:
        inspect_results(str(location), fmt, **kwargs)
    return exc.value.message


# --- Parquet ------------------------------------------------------------------------


@pytest.fixture
def parquet_result(tmp_path: Path) -> Path:
    folder = tmp_path / "results" / "31" / "27"
    for i, n in enumerate((5, 7, 11)):
        write_parquet(folder / f"part-{i:05d}.parquet", parquet_table(n, start=i * 100))
    (folder / "_SUCCESS").write_bytes(b"")
    (folder / ".part-00000.parquet.crc").write_bytes(b"\x00garbage")
    write_parquet(folder / "nested" / "part-9.parquet", parquet_table(1000))  # a subfolder: ignored
    return folder


def test_parquet_schema_rows_and_files_from_footers(parquet_result: Path) -> None:
    res = inspect_results(str(parquet_result), "pqt")
    assert res.location == str(parquet_result) + "/"
    assert res.format == "pqt" and not res.is_s3
    assert [Path(f.uri).name for f in res.files] == ["part-00000.parquet", "part-00001.parquet", "part-00002.parquet"]
    assert [f.rows for f in res.files] == [5, 7, 11]
    assert res.rows == 23
    first = res.files[0]
    assert first.size == os.path.getsize(first.uri)
    assert first.version == str(os.stat(first.uri).st_mtime_ns)
    assert columns(res) == {
        "id": (pa.int64(), False),
        "name": (pa.string(), True),
        "amount": (pa.decimal128(12, 2), True),
        "at": (pa.timestamp("us", tz="UTC"), True),
        "tags": (pa.list_(pa.string()), True),
        "address": (pa.struct([("city", pa.string()), ("zip", pa.int32())]), True),
    }
    assert [c.name for c in res.columns] == ["id", "name", "amount", "at", "tags", "address"]


def test_relative_location_is_resolved_against_cwd(parquet_result: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(parquet_result.parent)
    res = inspect_results("27", "pqt")
    assert res.location == str(parquet_result) + "/"
    assert all(Path(f.uri).is_absolute() for f in res.files)


def test_parquet_version_changes_when_a_file_is_rewritten(parquet_result: Path) -> None:
    before = inspect_results(str(parquet_result), "pqt").files[0]
    os.utime(before.uri, ns=(1, int(before.version) + 1_000_000))
    after = inspect_results(str(parquet_result), "pqt").files[0]
    assert after.version != before.version


def test_parquet_files_with_different_nullability_merge(tmp_path: Path) -> None:
    required = pa.schema([pa.field("id", pa.int64(), nullable=False)])
    write_parquet(tmp_path / "r" / "a.parquet", pa.table({"id": [1]}, schema=required))
    write_parquet(tmp_path / "r" / "b.parquet", pa.table({"id": [2, 3]}))
    res = inspect_results(str(tmp_path / "r"), "pqt")
    assert res.columns == (Column("id", pa.int64(), True, null_count=0),)  # footer statistics: no NULLs
    assert res.rows == 3


def test_parquet_with_a_large_footer_is_read_in_two_ranges(tmp_path: Path) -> None:
    # Many row groups and columns make a footer bigger than the first tail read.
    table = pa.table({f"c{i}": list(range(200)) for i in range(60)})
    path = write_parquet(tmp_path / "r" / "wide.parquet", table, row_group_size=10)
    assert pq.read_metadata(path).serialized_size > parquet.PARQUET_TAIL
    res = inspect_results(str(tmp_path / "r"), "pqt")
    assert res.rows == 200 and len(res.columns) == 60


def test_parquet_schema_mismatch_names_the_file_and_the_difference(tmp_path: Path) -> None:
    folder = tmp_path / "r"
    write_parquet(folder / "a.parquet", pa.table({"id": [1], "name": ["x"], "v": [1.0]}))
    write_parquet(folder / "b.parquet", pa.table({"id": ["1"], "v": [1.0], "extra": [True]}))
    message = error(folder, "pqt")
    assert message.startswith(f"{folder / 'b.parquet'} does not match {folder / 'a.parquet'}:")
    assert "column 'name' is missing" in message
    assert "extra column 'extra'" in message
    assert "column 'id' is string instead of int64" in message


def test_parquet_column_order_mismatch_is_an_error(tmp_path: Path) -> None:
    folder = tmp_path / "r"
    write_parquet(folder / "a.parquet", pa.table({"x": [1], "y": [2]}))
    write_parquet(folder / "b.parquet", pa.table({"y": [2], "x": [1]}))
    assert "another order: y, x" in error(folder, "pqt")


def test_corrupt_parquet_names_the_file(tmp_path: Path) -> None:
    folder = tmp_path / "r"
    good = write_parquet(folder / "a.parquet", parquet_table(3))
    data = good.read_bytes()
    (folder / "b.parquet").write_bytes(data[: len(data) // 2])  # truncated: footer gone
    message = error(folder, "pqt")
    assert str(folder / "b.parquet") in message
    assert "not a readable Parquet file (inputFormat pqt)" in message


def test_parquet_with_a_garbled_footer_names_the_file(tmp_path: Path) -> None:
    folder = tmp_path / "r"
    data = bytearray(write_parquet(folder / "a.parquet", parquet_table(3)).read_bytes())
    length = int.from_bytes(data[-8:-4], "little")
    data[-8 - length : -8] = b"\xff" * length
    (folder / "a.parquet").write_bytes(bytes(data))
    message = error(folder, "pqt")
    assert str(folder / "a.parquet") in message and "unreadable footer" in message


def test_csv_given_as_parquet_says_what_it_looks_like(tmp_path: Path) -> None:
    folder = tmp_path / "r"
    folder.mkdir()
    (folder / "part-0.csv").write_text("a,b\n1,2\n" * 10)
    message = error(folder, "pqt")
    assert message == (
        f"{folder / 'part-0.csv'} is not a readable Parquet file (inputFormat pqt): "
        "no Parquet footer (magic bytes PAR1 at the end); it looks like text"
    )


def test_tiny_file_given_as_parquet(tmp_path: Path) -> None:
    folder = tmp_path / "r"
    folder.mkdir()
    (folder / "empty.parquet").write_bytes(b"")
    assert "only 0 bytes" in error(folder, "pqt")


def test_parquet_footer_only_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Count the bytes read from disk: a big file costs the same as a small one.
    folder = tmp_path / "r"
    big = pa.table({"blob": [os.urandom(1024) for _ in range(4096)]})  # ~4 MB of incompressible data
    write_parquet(folder / "big.parquet", big, compression="none")
    read: list[int] = []
    original = stores._LocalStore.read_range

    def counting(self: Any, f: Any, start: int, end: int) -> bytes:
        data = original(self, f, start, end)
        read.append(len(data))
        return data

    monkeypatch.setattr(stores._LocalStore, "read_range", counting)
    res = inspect_results(str(folder), "pqt")
    assert res.rows == 4096
    assert sum(read) <= parquet.PARQUET_TAIL < res.files[0].size // 50


# --- Avro ---------------------------------------------------------------------------


def test_avro_schema_from_header_with_logical_and_nested_types(tmp_path: Path) -> None:
    folder = tmp_path / "r"
    write_avro(folder / "part-0.avro", AVRO_SCHEMA, avro_records(3))
    res = inspect_results(str(folder), "avro")
    address = pa.struct([pa.field("city", pa.string(), False), pa.field("zip", pa.int32(), True)])
    assert columns(res) == {
        "id": (pa.int64(), False),
        "label": (pa.string(), True),
        "day": (pa.date32(), False),
        "at": (pa.timestamp("ms", tz="UTC"), False),
        "local": (pa.timestamp("us"), True),
        "price": (pa.decimal128(10, 2), False),
        "fixed_price": (pa.decimal128(18, 4), False),
        "color": (pa.string(), False),
        "digest": (pa.binary(), False),
        "blob": (pa.binary(), False),
        "ratio": (pa.float32(), False),
        "ok": (pa.bool_(), False),
        "scores": (pa.list_(pa.field("item", pa.int32(), True)), False),
        "attrs": (pa.map_(pa.string(), pa.field("value", pa.float64(), False)), False),
        "home": (address, False),
        "work": (address, True),
    }
    assert res.rows == 3


@pytest.mark.parametrize("codec", ["null", "deflate"])
def test_avro_rows_are_the_sum_of_block_counts(tmp_path: Path, codec: str) -> None:
    folder = tmp_path / "r"
    a = write_avro(folder / "a.avro", AVRO_SCHEMA, avro_records(500), codec=codec, sync_interval=2000)
    b = write_avro(folder / "b.avro", AVRO_SCHEMA, avro_records(37), codec=codec, sync_interval=2000)
    write_avro(folder / "c.avro", AVRO_SCHEMA, [])  # a file with no block at all
    assert avro_blocks(a) > 5 and avro_blocks(b) > 1
    res = inspect_results(str(folder), "avro")
    assert [f.rows for f in res.files] == [500, 37, 0]
    assert res.rows == 537


def test_avro_block_data_is_skipped_not_decoded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "r"
    write_avro(folder / "a.avro", AVRO_SCHEMA, avro_records(200), sync_interval=1000)

    def no_decoding(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("records were decoded")

    monkeypatch.setattr(fastavro, "reader", no_decoding)
    monkeypatch.setattr(fastavro, "block_reader", no_decoding)
    assert inspect_results(str(folder), "avro").rows == 200


def test_avro_schema_mismatch_names_the_file(tmp_path: Path) -> None:
    folder = tmp_path / "r"
    write_avro(folder / "a.avro", AVRO_SCHEMA, avro_records(1))
    other = {**AVRO_SCHEMA, "fields": [f for f in AVRO_SCHEMA["fields"] if f["name"] != "ok"]}
    write_avro(folder / "b.avro", other, avro_records(1))
    message = error(folder, "avro")
    assert message.startswith(f"{folder / 'b.avro'} does not match {folder / 'a.avro'}:")
    assert "column 'ok' is missing" in message


def test_truncated_avro_names_the_file(tmp_path: Path) -> None:
    folder = tmp_path / "r"
    data = write_avro(folder / "a.avro", AVRO_SCHEMA, avro_records(100), sync_interval=1000).read_bytes()
    (folder / "a.avro").write_bytes(data[:-100])
    message = error(folder, "avro")
    assert message.startswith(f"{folder / 'a.avro'} is not a readable Avro file (inputFormat avro):")


def test_avro_with_a_broken_sync_marker_names_the_file(tmp_path: Path) -> None:
    folder = tmp_path / "r"
    data = bytearray(write_avro(folder / "a.avro", AVRO_SCHEMA, avro_records(100), sync_interval=1000).read_bytes())
    data[-1] ^= 0xFF
    (folder / "a.avro").write_bytes(bytes(data))
    assert "sync marker mismatch" in error(folder, "avro")


def test_parquet_given_as_avro(tmp_path: Path) -> None:
    folder = tmp_path / "r"
    write_parquet(folder / "a.parquet", parquet_table(2))
    message = error(folder, "avro")
    assert str(folder / "a.parquet") in message
    assert "no Avro magic bytes" in message and "it looks like a Parquet file" in message


@pytest.mark.parametrize(
    ("field_type", "words"),
    [
        (["null", "int", "string"], "union of int, string"),
        ({"type": "array", "items": "Nope"}, "the header schema names the unknown type 'Nope'"),
    ],
)
def test_avro_types_no_table_can_hold(tmp_path: Path, field_type: Any, words: str) -> None:
    schema = {"type": "record", "name": "R", "fields": [{"name": "x", "type": field_type}]}
    folder = tmp_path / "r"
    folder.mkdir()
    # Written by hand: fastavro would refuse the second schema, but other writers do not.
    (folder / "a.avro").write_bytes(_avro_bytes(schema))
    message = error(folder, "avro")
    assert str(folder / "a.avro") in message and words in message


def test_avro_named_types_resolve_within_their_namespace(tmp_path: Path) -> None:
    schema = {
        "type": "record",
        "name": "R",
        "namespace": "a.b",
        "fields": [
            {"name": "m", "type": {"type": "fixed", "name": "M", "size": 8, "logicalType": "decimal", "precision": 9}},
            {"name": "again", "type": ["null", "M"]},
            {"name": "full", "type": "a.b.M"},
        ],
    }
    folder = tmp_path / "r"
    write_avro(folder / "a.avro", schema, [])
    assert columns(inspect_results(str(folder), "avro")) == {
        "m": (pa.decimal128(9, 0), False),
        "again": (pa.decimal128(9, 0), True),
        "full": (pa.decimal128(9, 0), False),
    }


def test_recursive_avro_type_is_refused(tmp_path: Path) -> None:
    schema = {
        "type": "record",
        "name": "Node",
        "fields": [{"name": "next", "type": ["null", "Node"]}],
    }
    folder = tmp_path / "r"
    folder.mkdir()
    (folder / "a.avro").write_bytes(_avro_bytes(schema))
    message = error(folder, "avro")
    assert str(folder / "a.avro") in message and "recursive Avro type Node" in message


def _avro_bytes(schema: dict[str, Any]) -> bytes:
    """An Avro container with this header schema and no blocks, written without validation."""
    import json

    def long(n: int) -> bytes:
        n = (n << 1) ^ (n >> 63)
        out = bytearray()
        while n > 0x7F:
            out.append((n & 0x7F) | 0x80)
            n >>= 7
        out.append(n)
        return bytes(out)

    def blob(b: bytes) -> bytes:
        return long(len(b)) + b

    meta = {b"avro.schema": json.dumps(schema).encode(), b"avro.codec": b"null"}
    body = long(len(meta)) + b"".join(blob(k) + blob(v) for k, v in meta.items()) + long(0)
    return b"Obj\x01" + body + b"S" * 16


# --- CSV and JSON -------------------------------------------------------------------


def test_csv_schema_from_a_sample_and_headers_of_every_file(tmp_path: Path) -> None:
    folder = tmp_path / "r"
    folder.mkdir()
    (folder / "part-0.csv").write_text('id,name,day,amount,flag\n1,"a, quoted\nnewline",2024-01-01,1.5,true\n')
    (folder / "part-1.csv").write_text("id,name,day,amount,flag\n2,b,2024-01-02,2.5,false\n")
    (folder / "_SUCCESS").write_text("")
    res = inspect_results(str(folder), "csv")
    assert columns(res) == {
        "id": (pa.int64(), True),
        "name": (pa.string(), True),
        "day": (pa.date32(), True),
        "amount": (pa.decimal128(2, 1), True),  # exact: a decimal, not a double
        "flag": (pa.bool_(), True),
    }
    assert res.rows is None and [f.rows for f in res.files] == [None, None]


def test_csv_sample_is_bounded_by_sample_rows(tmp_path: Path) -> None:
    folder = tmp_path / "r"
    folder.mkdir()
    (folder / "a.csv").write_text("x\n" + "1\n" * 10 + "oops\n")
    assert inspect_results(str(folder), "csv", sample_rows=10).columns[0].type == pa.int64()
    assert inspect_results(str(folder), "csv", sample_rows=11).columns[0].type == pa.string()


def test_csv_quoted_newlines_count_as_one_row_of_the_sample(tmp_path: Path) -> None:
    folder = tmp_path / "r"
    folder.mkdir()
    (folder / "a.csv").write_text('x,y\n1,"two\nlines ""quoted"""\n2,z\noops,w\n')
    res = inspect_results(str(folder), "csv", sample_rows=2)
    assert res.columns[0].type == pa.int64()


def test_csv_quoted_newlines_across_read_chunks(tmp_path: Path) -> None:
    folder = tmp_path / "r"
    folder.mkdir()
    long_value = "line\n" * 40_000  # 200 KB of quoted newlines: spans several reads
    (folder / "a.csv").write_text(f'x,y\n1,"{long_value}"\n2,b\noops,c\n')
    assert inspect_results(str(folder), "csv", sample_rows=2).columns[0].type == pa.int64()
    assert inspect_results(str(folder), "csv", sample_rows=3).columns[0].type == pa.string()


def test_csv_header_mismatch_names_the_file(tmp_path: Path) -> None:
    folder = tmp_path / "r"
    folder.mkdir()
    (folder / "a.csv").write_text("id,name\n1,a\n")
    (folder / "b.csv").write_text("id,nom\n2,b\n")
    message = error(folder, "csv")
    assert message.startswith(f"{folder / 'b.csv'} does not match {folder / 'a.csv'}:")
    assert "column 'name' is missing; extra column 'nom'" in message


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"", "the file is empty; a header row is required"),
        (b"id,,x\n1,2,3\n", "header column 2 has no name"),
        (b"id,id\n1,2\n", "header names id more than once"),
        (b"id,x\n1,2,3\n", "Expected 2 columns, got 3"),
        (b"id\n\xff\xfe\n", "not UTF-8 text"),
        (b"PAR1\x00\x01\n", "binary data; it looks like a Parquet file"),
    ],
)
def test_bad_csv_names_the_file(tmp_path: Path, content: bytes, words: str) -> None:
    folder = tmp_path / "r"
    folder.mkdir()
    (folder / "a.csv").write_bytes(content)
    message = error(folder, "csv")
    assert message.startswith(f"{folder / 'a.csv'} is not a readable CSV (comma-delimited, with a header row) file")
    assert words in message


def test_parquet_given_as_csv(tmp_path: Path) -> None:
    folder = tmp_path / "r"
    write_parquet(folder / "a.parquet", parquet_table(2))
    message = error(folder, "csv")
    assert str(folder / "a.parquet") in message and "it looks like a Parquet file" in message


def test_json_schema_from_a_sample(tmp_path: Path) -> None:
    folder = tmp_path / "r"
    folder.mkdir()
    (folder / "a.json").write_text('{"id": 1, "tags": ["x"], "pos": {"lat": 1.5}}\n{"id": 2, "name": "b"}\n')
    (folder / "b.json").write_text('{"id": 3}\n')
    res = inspect_results(str(folder), "json")
    assert columns(res) == {
        "id": (pa.int64(), True),
        "tags": (pa.list_(pa.string()), True),
        "pos": (pa.struct([("lat", pa.float64())]), True),
        "name": (pa.string(), True),
    }
    assert res.rows is None


def test_json_sample_is_bounded_by_sample_rows(tmp_path: Path) -> None:
    folder = tmp_path / "r"
    folder.mkdir()
    (folder / "a.json").write_text('{"x": 1}\n' * 5 + '{"x": "s"}\n')
    assert inspect_results(str(folder), "json", sample_rows=5).columns[0].type == pa.int64()


def test_non_json_file_names_the_file(tmp_path: Path) -> None:
    folder = tmp_path / "r"
    folder.mkdir()
    (folder / "a.json").write_text('{"x": 1}\n')
    (folder / "b.json").write_text("x,y\n1,2\n")
    message = error(folder, "json")
    assert message.startswith(f"{folder / 'b.json'} is not a readable newline-delimited JSON file (inputFormat json)")


def test_csv_given_as_json(tmp_path: Path) -> None:
    folder = tmp_path / "r"
    folder.mkdir()
    (folder / "a.json").write_text("x,y\n1,2\n")
    assert str(folder / "a.json") in error(folder, "json")


# --- Missing and empty results ------------------------------------------------------


def test_missing_location(tmp_path: Path) -> None:
    message = error(tmp_path / "results" / "31" / "27", "pqt", template="results/{jobGroup}/{flowNodeId}/")
    assert message == (
        f"results not found at {tmp_path / 'results' / '31' / '27'}/; is the job finished? "
        "(results template 'results/{jobGroup}/{flowNodeId}/')"
    )


def test_empty_location(tmp_path: Path) -> None:
    folder = tmp_path / "r"
    (folder / "sub").mkdir(parents=True)
    (folder / "_SUCCESS").write_text("")
    (folder / ".hidden").write_text("x")
    message = error(folder, "pqt")
    assert message.startswith(f"results at {folder}/ contain no data files")
    assert "expected Parquet files" in message


def test_location_that_is_a_file(tmp_path: Path) -> None:
    f = write_parquet(tmp_path / "a.parquet", parquet_table(1))
    assert error(f, "pqt") == f"results location {f} is a file; expected a folder"


def test_s3_location_needs_a_client() -> None:
    assert "need an S3 connection" in error("s3://bucket/prefix/", "pqt")


def test_importing_publisher_results_does_not_import_pyarrow() -> None:
    code = (
        "import sys, publisher.results, publisher.dialects.types; "
        "print(any(m.split('.')[0] in ('pyarrow', 'fastavro', 'boto3') for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# --- S3, against a real S3 API server (moto) ----------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    pytest.importorskip("moto")
    binary = shutil.which("moto_server") or str(Path(sys.executable).parent / "moto_server")
    if not Path(binary).exists():
        pytest.skip("moto_server is not installed")
    port = _free_port()
    proc = subprocess.Popen(
        [binary, "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("moto_server did not start")
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class CountingClient:
    """A boto3 S3 client that records GetObject calls and can shrink listing pages."""

    def __init__(self, client: Any, page_size: int | None = None) -> None:
        self.client = client
        self.page_size = page_size
        self.gets: list[dict[str, Any]] = []
        self.received = 0
        self.pages = 0

    def get_object(self, **kwargs: Any) -> Any:
        response = self.client.get_object(**kwargs)
        self.gets.append(kwargs)
        self.received += int(response["ContentLength"])
        return response

    def get_paginator(self, name: str) -> Any:
        paginator = self.client.get_paginator(name)
        outer = self

        class Paginator:
            def paginate(self, **kwargs: Any) -> Iterator[Any]:
                if outer.page_size:
                    kwargs["PaginationConfig"] = {"PageSize": outer.page_size}
                for page in paginator.paginate(**kwargs):
                    outer.pages += 1
                    yield page

        return Paginator()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)


@pytest.fixture
def s3(s3_endpoint: str, request: pytest.FixtureRequest) -> Any:
    boto3 = pytest.importorskip("boto3")
    client = boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    bucket = "results-" + request.node.name.lower().replace("_", "-")[:40].strip("-")
    client.create_bucket(Bucket=bucket)
    client.bucket = bucket
    return client


def put(s3: Any, key: str, data: bytes) -> None:
    s3.put_object(Bucket=s3.bucket, Key=key, Body=data)


def parquet_bytes(table: pa.Table, **kwargs: Any) -> bytes:
    buf = io.BytesIO()
    pq.write_table(table, buf, **kwargs)
    return buf.getvalue()


def avro_bytes(schema: dict[str, Any], records: list[dict[str, Any]], **kwargs: Any) -> bytes:
    buf = io.BytesIO()
    fastavro.writer(buf, fastavro.parse_schema(schema), records, **kwargs)
    return buf.getvalue()


def test_s3_parquet_lists_one_level_with_pagination(s3: Any) -> None:
    for i in range(5):
        put(s3, f"jobs/31/27/part-{i}.parquet", parquet_bytes(parquet_table(i + 1)))
    put(s3, "jobs/31/27/_SUCCESS", b"")
    put(s3, "jobs/31/27/.part-0.parquet.crc", b"x")
    put(s3, "jobs/31/27/sub/part-9.parquet", parquet_bytes(parquet_table(50)))
    put(s3, "jobs/31/270/part-0.parquet", parquet_bytes(parquet_table(70)))  # same key prefix, other folder
    client = CountingClient(s3, page_size=2)
    res = inspect_results(f"s3://{s3.bucket}/jobs/31/27", "pqt", client)
    assert res.location == f"s3://{s3.bucket}/jobs/31/27/" and res.is_s3
    assert [f.uri for f in res.files] == [f"s3://{s3.bucket}/jobs/31/27/part-{i}.parquet" for i in range(5)]
    assert res.rows == 15
    assert client.pages >= 3
    head = s3.head_object(Bucket=s3.bucket, Key="jobs/31/27/part-0.parquet")
    assert res.files[0].version == head["ETag"].strip('"')
    assert columns(res)["id"] == (pa.int64(), False)


def test_s3_parquet_reads_only_the_footer_with_ranged_gets(s3: Any) -> None:
    big = pa.table({"blob": [os.urandom(1024) for _ in range(4096)]})
    data = parquet_bytes(big, compression="none")
    put(s3, "big/part-0.parquet", data)
    client = CountingClient(s3)
    res = inspect_results(f"s3://{s3.bucket}/big/", "pqt", client)
    assert res.rows == 4096
    assert client.gets and all(g["Range"].startswith("bytes=") for g in client.gets)
    assert len(client.gets) == 1
    assert client.received <= parquet.PARQUET_TAIL < len(data) // 50


def test_s3_parquet_with_a_large_footer(s3: Any) -> None:
    table = pa.table({f"c{i}": list(range(200)) for i in range(60)})
    put(s3, "wide/a.parquet", parquet_bytes(table, row_group_size=10))
    client = CountingClient(s3)
    res = inspect_results(f"s3://{s3.bucket}/wide/", "pqt", client)
    assert res.rows == 200
    assert len(client.gets) == 2


def test_s3_avro_counts_blocks_with_few_requests(s3: Any) -> None:
    data = avro_bytes(AVRO_SCHEMA, avro_records(2000), sync_interval=1000)
    put(s3, "avro/a.avro", data)
    client = CountingClient(s3)
    res = inspect_results(f"s3://{s3.bucket}/avro/", "avro", client)
    assert res.rows == 2000
    assert columns(res)["at"] == (pa.timestamp("ms", tz="UTC"), False)
    assert len(client.gets) == 1 and all("Range" in g for g in client.gets)


def test_s3_avro_skips_big_blocks_without_downloading_them(s3: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(avro, "S3_CHUNK", 256 * 1024)
    schema = {"type": "record", "name": "R", "fields": [{"name": "b", "type": "bytes"}]}
    records = [{"b": os.urandom(10_000)} for _ in range(400)]  # ~4 MB in blocks of ~1 MB
    data = avro_bytes(schema, records, sync_interval=1_000_000)
    put(s3, "bigavro/a.avro", data)
    client = CountingClient(s3)
    res = inspect_results(f"s3://{s3.bucket}/bigavro/", "avro", client)
    assert res.rows == 400
    assert client.received < len(data) // 4
    assert len(client.gets) <= 10


def test_s3_csv_and_json(s3: Any) -> None:
    put(s3, "csv/a.csv", b"id,name\n1,a\n")
    put(s3, "csv/b.csv", b"id,name\n2,b\n")
    put(s3, "json/a.json", b'{"id": 1, "name": "a"}\n')
    res = inspect_results(f"s3://{s3.bucket}/csv/", "csv", s3)
    assert columns(res) == {"id": (pa.int64(), True), "name": (pa.string(), True)}
    res = inspect_results(f"s3://{s3.bucket}/json/", "json", s3)
    assert columns(res) == {"id": (pa.int64(), True), "name": (pa.string(), True)}


def test_s3_subfolders_are_named_in_the_warnings(s3: Any) -> None:
    put(s3, "nested/part-0.csv", b"id\n1\n")
    put(s3, "nested/dt=2024-01-02/part-0.csv", b"id\n2\n")
    put(s3, "nested/_temporary/0/part-0.csv", b"id\n3\n")
    res = inspect_results(f"s3://{s3.bucket}/nested/", "csv", s3)
    assert [f.uri for f in res.files] == [f"s3://{s3.bucket}/nested/part-0.csv"]
    assert res.warnings == (
        f"not read: 1 subfolder(s) of s3://{s3.bucket}/nested/, dt=2024-01-02/; only the files directly in the "
        "results folder are published (names starting with '_' or '.' are ignored)",
    )


def test_s3_schema_mismatch_names_the_object(s3: Any) -> None:
    put(s3, "mix/a.parquet", parquet_bytes(pa.table({"x": [1]})))
    put(s3, "mix/b.parquet", parquet_bytes(pa.table({"x": ["1"]})))
    message = error(f"s3://{s3.bucket}/mix/", "pqt", s3_client=s3)
    assert message.startswith(f"s3://{s3.bucket}/mix/b.parquet does not match s3://{s3.bucket}/mix/a.parquet")


def test_s3_wrong_format_names_the_object(s3: Any) -> None:
    put(s3, "wrong/a.parquet", b"id,name\n1,a\n")
    message = error(f"s3://{s3.bucket}/wrong/", "pqt", s3_client=s3)
    assert message.startswith(f"s3://{s3.bucket}/wrong/a.parquet is not a readable Parquet file")


def test_s3_missing_and_empty(s3: Any) -> None:
    assert error(f"s3://{s3.bucket}/nothing/here/", "pqt", s3_client=s3).startswith(
        f"results not found at s3://{s3.bucket}/nothing/here/; is the job finished?"
    )
    assert "bucket no-such-bucket-xyz does not exist" in error("s3://no-such-bucket-xyz/a/", "pqt", s3_client=s3)
    put(s3, "only/_SUCCESS", b"")
    assert error(f"s3://{s3.bucket}/only/", "pqt", s3_client=s3).startswith(
        f"results at s3://{s3.bucket}/only/ contain no data files"
    )


class OverlapClient(CountingClient):
    """Each GetObject held 20 ms, as a real S3's network would; records how many overlap."""

    def __init__(self, client: Any) -> None:
        super().__init__(client)
        self.lock = threading.Lock()
        self.running = self.most = 0

    def get_object(self, **kwargs: Any) -> Any:
        with self.lock:
            self.running += 1
            self.most = max(self.most, self.running)
        try:
            time.sleep(0.02)
            return super().get_object(**kwargs)
        finally:
            with self.lock:
                self.running -= 1


def test_s3_files_of_one_result_are_read_at_once_in_file_order(s3: Any) -> None:
    for i in range(40):
        put(s3, f"many/part-{i:02}.parquet", parquet_bytes(parquet_table(i + 1)))
    client = OverlapClient(s3)
    res = inspect_results(f"s3://{s3.bucket}/many/", "pqt", client)
    assert [f.uri.rsplit("/", 1)[1] for f in res.files] == [f"part-{i:02}.parquet" for i in range(40)]
    assert [f.rows for f in res.files] == list(range(1, 41)) and res.rows == sum(range(1, 41))
    assert 1 < client.most <= stores.S3_THREADS
    # Two broken files: the error names the first in file order, as a serial read would.
    put(s3, "many/part-12.parquet", b"not parquet")
    put(s3, "many/part-31.parquet", b"PAR1 nor this")
    with pytest.raises(InvalidInput, match=r"many/part-12\.parquet") as err:
        inspect_results(f"s3://{s3.bucket}/many/", "pqt", OverlapClient(s3))
    assert "part-31" not in str(err.value)
