"""Job results for tests: the same rows written as Parquet, Avro, CSV or newline-delimited
JSON, several part files.

CSV: RFC 4180 (comma, double quotes), a header row, NULL as an unquoted empty field (Spark's
convention; the publisher's COPY says NULL AS ''), an empty string as a quoted ``""``,
timestamps and dates as ISO 8601 text, decimals as plain text, lists as
JSON text. JSON: one object per line, decimals as JSON numbers with their exact digits,
timestamps and dates as ISO 8601 strings, lists as JSON arrays, NULL as null.
"""

from __future__ import annotations

import datetime as dt
import json
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


TRICKY = (
    "comma, \"double\" and 'single' quotes",
    "a line\nbreak, and a\r\nCRLF",
    "",
    "ünïcødé €",
    "  padded  ",
)
"""Strings that break naive CSV handling (``rows(..., tricky=True)``)."""


def name_for(i: int, tricky: bool = False) -> str | None:
    if i % 5 == 0:
        return None
    if tricky and i % 5 == 1:
        return f"{i}: {TRICKY[(i // 5) % len(TRICKY)]}"
    return f"name {i}, with 'quotes'"


COLUMNS = ("id", "name", "amount", "at", "day", "tags")


def rows(first: int, count: int, tricky: bool = False) -> list[dict[str, Any]]:
    """Rows ``first..first+count``; ``tricky`` adds strings with quotes, newlines and commas."""
    return [
        {
            "id": i,
            "name": name_for(i, tricky),
            "amount": Decimal(i * 37 % 100000) / 100,
            "at": EPOCH + dt.timedelta(seconds=i * 61, microseconds=i),
            "day": (EPOCH + dt.timedelta(days=i % 30)).date(),
            "tags": ["a", f"t{i % 3}"],
        }
        for i in range(first, first + count)
    ]


def write(
    folder: Path, fmt: str, first: int, count: int, parts: int = 2, *, tricky: bool = False
) -> list[dict[str, Any]]:
    """Writes rows ``first..first+count`` into ``parts`` files (plus _SUCCESS); returns them."""
    folder.mkdir(parents=True, exist_ok=True)
    data = rows(first, count, tricky)
    size = -(-count // parts)
    for i in range(parts):
        chunk = data[i * size : (i + 1) * size]
        if fmt == "csv":
            write_csv(folder / f"part-{i:05d}.csv", chunk)
        elif fmt == "json":
            write_json(folder / f"part-{i:05d}.json", chunk)
        elif fmt == "pqt":
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


CSV_NULL = ""
"""How CSV results write NULL: an unquoted empty field, as Spark does (docs/types.md, "NULL in CSV")."""


def _text(value: Any) -> Any:
    """A value as CSV/JSON results write it (None stays None)."""
    if isinstance(value, dt.datetime):
        return value.isoformat()  # 2026-01-01T00:01:01.000001+00:00: microseconds and zone
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, list | tuple):
        return json.dumps(list(value), ensure_ascii=False)
    return value


def write_csv(path: Path, data: list[dict[str, Any]], columns: list[str] | None = None) -> None:
    """One CSV file: a header row, then ``data``; NULL as an unquoted empty field, '' as ``""``.

    Values with a comma, a quote or a line break are quoted (RFC 4180); line breaks
    inside values stay as they are.
    """
    names = columns or (list(data[0]) if data else list(COLUMNS))
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write(",".join(names) + "\n")
        for row in data:
            f.write(",".join(_csv_field(_text(row[n])) for n in names) + "\n")


def _csv_field(value: Any) -> str:
    if value is None:
        return CSV_NULL
    text = str(value)
    if text == "" or any(c in text for c in ',"\r\n') or text != text.strip():
        return '"' + text.replace('"', '""') + '"'
    return text


def write_json(path: Path, data: list[dict[str, Any]]) -> None:
    """One newline-delimited JSON file: an object per row; decimals as exact JSON numbers."""
    with open(path, "w", encoding="utf-8", newline="") as f:
        for row in data:
            fields = []
            for name, value in row.items():
                if isinstance(value, Decimal):
                    rendered = str(value)  # a JSON number with exactly these digits
                elif isinstance(value, list | tuple):
                    rendered = json.dumps(list(value), ensure_ascii=False)
                else:
                    rendered = json.dumps(_text(value), ensure_ascii=False)
                fields.append(f"{json.dumps(name)}: {rendered}")
            f.write("{" + ", ".join(fields) + "}\n")


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
