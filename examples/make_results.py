"""Writes the example project's job results (small Parquet and Avro files), deterministically.

Run from the repository root: python examples/make_results.py
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import fastavro
import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parent / "results"
EPOCH = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)


def orders(first: int, count: int) -> pa.Table:
    ids = list(range(first, first + count))
    return pa.table(
        {
            "order_id": pa.array(ids, pa.int64()),
            "customer_id": pa.array([i % 7 + 1 for i in ids], pa.int32()),
            "amount": pa.array([Decimal(i * 137 % 10000) / 100 for i in ids], pa.decimal128(10, 2)),
            "ordered_at": pa.array([EPOCH + dt.timedelta(minutes=11 * i) for i in ids], pa.timestamp("us", tz="UTC")),
            "ship_date": pa.array([(EPOCH + dt.timedelta(days=i % 5)).date() for i in ids], pa.date32()),
            "status": pa.array([("new", "paid", "shipped")[i % 3] for i in ids], pa.string()),
            "tags": pa.array([["web"] if i % 2 else ["store", "promo"] for i in ids], pa.list_(pa.string())),
        }
    )


def write_parquet(folder: Path, table: pa.Table, parts: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    size = -(-table.num_rows // parts)
    for i in range(parts):
        pq.write_table(table.slice(i * size, size), folder / f"part-{i:05d}.parquet")
    (folder / "_SUCCESS").write_bytes(b"")


CUSTOMER_SCHEMA = {
    "type": "record",
    "name": "customer",
    "fields": [
        {"name": "customer_id", "type": "int"},
        {"name": "name", "type": "string"},
        {"name": "email", "type": ["null", "string"], "default": None},
        {"name": "signed_up", "type": {"type": "int", "logicalType": "date"}},
        {"name": "last_seen", "type": ["null", {"type": "long", "logicalType": "timestamp-micros"}], "default": None},
        {"name": "credit", "type": {"type": "bytes", "logicalType": "decimal", "precision": 12, "scale": 2}},
    ],
}


def customers(version: int) -> list[dict[str, object]]:
    names = ["Ada", "Grace", "Edsger", "Barbara", "Donald", "Frances", "Ken"]
    return [
        {
            "customer_id": i + 1,
            "name": f"{name} v{version}",
            "email": None if i == 3 else f"{name.lower()}@example.com",
            "signed_up": (EPOCH + dt.timedelta(days=i)).date(),
            "last_seen": EPOCH + dt.timedelta(hours=i * version),
            "credit": Decimal(100 * (i + 1) * version) / 4,
        }
        for i, name in enumerate(names)
    ]


def write_avro(folder: Path, records: list[dict[str, object]]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "part-00000.avro", "wb") as f:
        fastavro.writer(f, fastavro.parse_schema(CUSTOMER_SCHEMA), records, sync_interval=256)
    (folder / "_SUCCESS").write_bytes(b"")


def main() -> None:
    write_parquet(ROOT / "31" / "27", orders(1, 120), parts=3)  # orders, first job
    write_parquet(ROOT / "32" / "27", orders(121, 40), parts=1)  # orders, the next job's rows
    write_avro(ROOT / "40" / "5", customers(1))  # customers
    write_avro(ROOT / "41" / "5", customers(2))  # customers, refreshed
    print(f"example results written under {ROOT}")


if __name__ == "__main__":
    main()
