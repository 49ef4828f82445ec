"""Throughput of the stand-in: COPY of a Parquet file (N rows x 6 columns) from the S3
server into the proxy, with the real redshift_connector. Not a test; run by hand:

    source /tmp/publisher-ci/redshift/env.sh
    python -m tests.standin.bench_copy --rows 1000000
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import os
import time
import uuid

import boto3
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import redshift_connector


def make_table(rows: int) -> pa.Table:
    rng = np.random.default_rng(7)
    start = np.datetime64("2024-01-01T00:00:00", "us")
    return pa.table(
        {
            "id": pa.array(np.arange(rows, dtype=np.int64)),
            "name": pa.array([f"name-{i % 1000}" for i in range(rows)]),
            "amount": pa.array(rng.integers(0, 10_000_000, rows), pa.int64())
            .cast(pa.decimal128(21, 2))
            .cast(pa.decimal128(12, 2), safe=False),
            "score": pa.array(rng.random(rows)),
            "created": pa.array(start + rng.integers(0, 10**12, rows).astype("timedelta64[us]"), pa.timestamp("us")),
            "day": pa.array(np.datetime64("2024-01-01") + rng.integers(0, 365, rows).astype("timedelta64[D]")),
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    host, _, port = os.environ["PUBLISHER_TEST_REDSHIFT"].rpartition(":")
    s3 = boto3.client(
        "s3",
        endpoint_url=os.environ["PUBLISHER_TEST_S3"],
        region_name="us-east-1",
        aws_access_key_id="bench",
        aws_secret_access_key="bench",
    )
    bucket = f"bench-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    buffer = io.BytesIO()
    pq.write_table(make_table(args.rows), buffer)
    s3.put_object(Bucket=bucket, Key="bench/part-0.parquet", Body=buffer.getvalue())
    conn = redshift_connector.connect(
        host=host,
        port=int(port),
        database="dev",
        user="publisher",
        password=os.environ["PUBLISHER_TEST_REDSHIFT_PASSWORD"],
        ssl=False,
    )
    cursor = conn.cursor()
    table = f"bench_{uuid.uuid4().hex[:8]}"
    cursor.execute(
        f"CREATE TABLE {table} (id BIGINT, name VARCHAR(64), amount DECIMAL(12,2), "
        "score DOUBLE PRECISION, created TIMESTAMP, day DATE)"
    )
    conn.commit()
    started = time.perf_counter()
    cursor.execute(
        f"COPY {table} FROM 's3://{bucket}/bench/' IAM_ROLE 'arn:aws:iam::123456789012:role/bench' FORMAT AS PARQUET"
    )
    conn.commit()
    elapsed = time.perf_counter() - started
    cursor.execute(f"SELECT count(*) FROM {table}")
    (count,) = cursor.fetchone() or (0,)
    cursor.execute(f"DROP TABLE {table}")
    conn.commit()
    conn.close()
    print(
        f"{count} rows in {elapsed:.2f} s: {count / elapsed:,.0f} rows/s "
        f"(Parquet {buffer.tell() / 1e6:.1f} MB, {dt.datetime.now(dt.UTC):%Y-%m-%d})"
    )


if __name__ == "__main__":
    main()
