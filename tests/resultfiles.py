"""Job results for tests: the same rows written as Parquet or Avro, several part files."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

EPOCH = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)

AVRO_SCHEMA = {
    "type": "record",
    "name": "row",
    "fields": [
        {"name": "id", "type": "long"},
        {"name": "name", "type": ["null", "string"], "default": None},
        {"name": "amount", "type": {"type": "bytes", "logicalType": "decimal", "precision": 10, "scale": 2}},
        {"name": "at", "type": {"type": "long", "logicalType": "timestamp-micros"}},
        {"name": "day", "type": {"type": "int", "logicalType": "date"}},
        {"name": "tags", "type": {"type": "array", "items": "string"}},
    ],
}


def rows(first: int, count: int) -> list[dict[str, Any]]:
    return [
        {
            "id": i,
            "name": None if i % 5 == 0 else f"name {i}, with 'quotes'",
            "amount": Decimal(i * 37 % 100000) / 100,
            "at": EPOCH + dt.timedelta(seconds=i * 61, microseconds=i),
            "day": (EPOCH + dt.timedelta(days=i % 30)).date(),
            "tags": ["a", f"t{i % 3}"],
        }
        for i in range(first, first + count)
    ]


def write(folder: Path, fmt: str, first: int, count: int, parts: int = 2) -> list[dict[str, Any]]:
    """Writes rows ``first..first+count`` into ``parts`` files (plus _SUCCESS); returns them."""
    folder.mkdir(parents=True, exist_ok=True)
    data = rows(first, count)
    size = -(-count // parts)
    for i in range(parts):
        chunk = data[i * size : (i + 1) * size]
        if fmt == "pqt":
            import pyarrow as pa
            import pyarrow.parquet as pq

            table = pa.Table.from_pylist(
                chunk,
                schema=pa.schema(
                    [
                        pa.field("id", pa.int64(), nullable=False),
                        ("name", pa.string()),
                        ("amount", pa.decimal128(10, 2)),
                        ("at", pa.timestamp("us", tz="UTC")),
                        ("day", pa.date32()),
                        ("tags", pa.list_(pa.string())),
                    ]
                ),
            )
            pq.write_table(table, folder / f"part-{i:05d}.parquet")
        else:
            import fastavro

            with open(folder / f"part-{i:05d}.avro", "wb") as f:
                fastavro.writer(f, fastavro.parse_schema(AVRO_SCHEMA), chunk)
    (folder / "_SUCCESS").write_bytes(b"")
    return data


def normalized(row: tuple[Any, ...] | dict[str, Any]) -> tuple[Any, ...]:
    """A row as comparable values: timestamps as UTC instants, lists as tuples."""
    values = list(row.values()) if isinstance(row, dict) else list(row)
    out = []
    for v in values:
        if isinstance(v, dt.datetime):
            v = v.replace(tzinfo=dt.UTC) if v.tzinfo is None else v.astimezone(dt.UTC)
        if isinstance(v, list):
            v = tuple(v)
        out.append(v)
    return tuple(out)
