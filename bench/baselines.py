"""The loads load_speed.py compares `publisher apply` with, each run as its own process:

    python bench/baselines.py METHOD ARGS...

redshift-copy   TABLE S3_PREFIX HOST PORT S3_ENDPOINT IAM_ROLE truncate|append
    The hand-written minimal Redshift load through redshift_connector: list the result
    files, write a COPY manifest, then one transaction: [DELETE FROM t;] COPY t FROM
    manifest FORMAT AS PARQUET MANIFEST; COMMIT; delete the manifest.
hive-insert     TABLE FOLDER PORT overwrite|append COLUMNS
    The hand-written minimal Hive load through PyHive: an external table (COLUMNS, the
    result's schema as its author knows it) over the result folder, INSERT OVERWRITE|INTO
    ... SELECT * from it, drop it.
redshift-merge  TABLE S3_PREFIX HOST PORT S3_ENDPOINT IAM_ROLE KEY
    The hand-written minimal Redshift upsert (AWS's staging-table merge): a manifest, then one
    transaction: CREATE TEMP TABLE stage (LIKE t); COPY stage FROM manifest; DELETE FROM t
    USING stage WHERE keys match; INSERT INTO t SELECT * FROM stage; COMMIT.
hive-merge      TABLE FOLDER PORT COLUMNS KEY
    The hand-written minimal Hive (no ACID) upsert: an external table over the results, an
    empty twin LIKE the table filled with the table's rows whose key is not in the results
    (LEFT ANTI JOIN) UNION ALL the results, then the location swap (the table pointed at the
    twin's folder, the twin at the old one, the twin dropped with the old files): readers see
    the old rows or the new ones, never no table, as with the publisher.
pandas-postgres FOLDER ROWS URL SCHEMA.TABLE [multi]
    pandas read_parquet -> DataFrame.to_sql through SQLAlchemy (psycopg 3), into an
    existing table, chunks of 10,000 rows, one transaction; with ``multi``, method='multi'
    (one multi-row INSERT a chunk of 5,000 rows: PostgreSQL binds at most 65,535 parameters).
publisher-postgres FOLDER URL SCHEMA.TABLE
    The publisher's PostgreSQL load as its engine runs it (publisher/engines/postgres_copy.py):
    inspect the result, stream its batches into COPY FROM STDIN, commit. Stands for
    `publisher apply` until the PostgreSQL target exists (bench/README.md).
dlt-postgres    FOLDER ROWS URL PIPELINES_DIR FORMAT
    dlt's postgres destination, the result's Arrow tables as the source,
    loader_file_format FORMAT (insert_values is dlt's default for postgres; csv is COPY).
pandas-hive     FOLDER ROWS PORT SCHEMA.TABLE row|multi
    DataFrame.to_sql through PyHive's SQLAlchemy dialect (hive://): row by row
    (pandas' default) or method='multi' with 5,000 rows a statement.

Each imports only what its own method needs, as a user's script would. Secrets come from
the environment (PUBLISHER_BENCH_PASSWORD); ROWS reads the first ROWS rows of the result.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any


def _files(folder: str) -> list[Path]:
    return sorted(p for p in Path(folder).iterdir() if not p.name.startswith(("_", ".")))


def _arrow(folder: str, rows: int) -> Any:
    """The first ``rows`` rows of the result, as one Arrow table."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    tables, have = [], 0
    for path in _files(folder):
        if have >= rows:
            break
        table = pq.read_table(path)
        tables.append(table.slice(0, rows - have))
        have += tables[-1].num_rows
    return pa.concat_tables(tables)


def redshift_copy(table: str, prefix: str, host: str, port: str, endpoint: str, role: str, mode: str) -> None:
    import boto3
    import redshift_connector

    s3 = boto3.client("s3", endpoint_url=endpoint)
    bucket, manifest = _manifest(s3, prefix)
    conn = redshift_connector.connect(
        host=host,
        port=int(port),
        database="dev",
        user="publisher",
        password=os.environ["PUBLISHER_BENCH_PASSWORD"],
        ssl=True,
        sslmode="verify-ca",
    )
    cursor = conn.cursor()  # autocommit off: everything below is one transaction
    if mode == "truncate":
        cursor.execute(f"DELETE FROM {table}")  # TRUNCATE would commit at once on Redshift
    cursor.execute(f"COPY {table} FROM 's3://{bucket}/{manifest}' IAM_ROLE '{role}' FORMAT AS PARQUET MANIFEST")
    conn.commit()
    conn.close()
    s3.delete_object(Bucket=bucket, Key=manifest)


def _manifest(s3: Any, prefix: str) -> tuple[str, str]:
    """A COPY manifest of the result files under ``prefix``: (bucket, its key). The key as
    written (never parsed as a URL), the manifest outside the results prefix, as the publisher's."""
    import json
    import uuid

    from publisher.model.s3uri import S3Uri

    where = S3Uri.parse(prefix)
    bucket, key = where.bucket, where.key
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=key)["Contents"]
    entries = [
        {"url": f"s3://{bucket}/{o['Key']}", "mandatory": True, "meta": {"content_length": o["Size"]}}
        for o in listed
        if not o["Key"].rsplit("/", 1)[-1].startswith(("_", "."))
    ]
    manifest = f"_bench/manifests/hand_manifest_{uuid.uuid4().hex}.json"
    s3.put_object(Bucket=bucket, Key=manifest, Body=json.dumps({"entries": entries}).encode())
    return bucket, manifest


def redshift_merge(table: str, prefix: str, host: str, port: str, endpoint: str, role: str, key: str) -> None:
    import boto3
    import redshift_connector

    s3 = boto3.client("s3", endpoint_url=endpoint)
    bucket, manifest = _manifest(s3, prefix)
    conn = redshift_connector.connect(
        host=host,
        port=int(port),
        database="dev",
        user="publisher",
        password=os.environ["PUBLISHER_BENCH_PASSWORD"],
        ssl=True,
        sslmode="verify-ca",
    )
    cursor = conn.cursor()  # autocommit off: everything below is one transaction
    cursor.execute(f"CREATE TEMP TABLE merge_stage (LIKE {table})")
    cursor.execute(f"COPY merge_stage FROM 's3://{bucket}/{manifest}' IAM_ROLE '{role}' FORMAT AS PARQUET MANIFEST")
    cursor.execute(f"DELETE FROM {table} USING merge_stage s WHERE {table}.{key} = s.{key}")
    cursor.execute(f"INSERT INTO {table} SELECT * FROM merge_stage")
    conn.commit()
    conn.close()
    s3.delete_object(Bucket=bucket, Key=manifest)


def hive_merge(table: str, folder: str, port: str, columns: str, key: str) -> None:
    import uuid

    from pyhive import hive

    tag = uuid.uuid4().hex[:8]
    # The twin is named as the publisher names its own (<table>__new_<stamp>): the table is left
    # in that folder, which the publisher takes for the table's own when it merges next (it
    # refuses a table stored in any other folder: files there may not be the table's).
    stamp = time.strftime("%Y%m%d%H%M%S", time.gmtime())
    stage, twin = f"{table}__hand_{tag}", f"{table}__new_{stamp}"
    conn = hive.connect(host="127.0.0.1", port=int(port), auth="NONE", username="publisher")
    cursor = conn.cursor()

    def location(name: str) -> str:
        cursor.execute(f"DESCRIBE FORMATTED {name}")
        return next(str(r[1]).strip() for r in cursor.fetchall() if str(r[0]).strip() == "Location")

    cursor.execute(f"CREATE EXTERNAL TABLE {stage} ({columns}) STORED AS PARQUET LOCATION 'file://{folder}'")
    cursor.execute(f"CREATE TABLE {twin} LIKE {table}")
    cursor.execute(
        f"INSERT INTO TABLE {twin} SELECT t.* FROM {table} t LEFT ANTI JOIN {stage} s ON t.{key} = s.{key}"
        f" UNION ALL SELECT * FROM {stage}"
    )
    old, new = location(table), location(twin)
    cursor.execute(f"ALTER TABLE {table} SET LOCATION '{new}'")
    cursor.execute(f"ALTER TABLE {twin} SET LOCATION '{old}'")
    cursor.execute(f"DROP TABLE {twin}")  # managed: the old files go with it
    cursor.execute(f"DROP TABLE {stage}")  # external: the results stay
    conn.close()


def hive_insert(table: str, folder: str, port: str, mode: str, columns: str) -> None:
    import uuid

    from pyhive import hive

    stage = f"{table}__hand_{uuid.uuid4().hex[:8]}"
    conn = hive.connect(host="127.0.0.1", port=int(port), auth="NONE", username="publisher")
    cursor = conn.cursor()
    cursor.execute(f"CREATE EXTERNAL TABLE {stage} ({columns}) STORED AS PARQUET LOCATION 'file://{folder}'")
    verb = "INSERT OVERWRITE TABLE" if mode == "overwrite" else "INSERT INTO TABLE"
    cursor.execute(f"{verb} {table} SELECT * FROM {stage}")
    cursor.execute(f"DROP TABLE {stage}")
    conn.close()


def pandas_postgres(folder: str, rows: str, url: str, qualified: str, method: str = "") -> None:
    import sqlalchemy as sa

    frame = _arrow(folder, int(rows)).to_pandas()
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    schema, _, name = qualified.partition(".")
    # Without dtype pandas sends the Decimal column as VARCHAR, which PostgreSQL refuses.
    frame.to_sql(
        name,
        engine,
        schema=schema,
        if_exists="append",
        index=False,
        # One multi-row INSERT binds rows x 11 parameters: PostgreSQL takes at most 65,535.
        chunksize=5_000 if method == "multi" else 10_000,
        dtype={"amount": sa.Numeric(12, 2)},
        method="multi" if method == "multi" else None,
    )


def publisher_postgres(folder: str, url: str, qualified: str) -> None:
    import psycopg
    from psycopg import sql

    from publisher.engines.postgres_copy import copy_results, result_batches
    from publisher.results import inspect_results

    results = inspect_results(folder, "pqt")
    schema, _, name = qualified.partition(".")
    with psycopg.connect(url) as conn:
        columns = conn.execute(
            "SELECT quote_ident(attname), format_type(atttypid, atttypmod) FROM pg_attribute"
            " WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
            [qualified],
        ).fetchall()
        table_sql = sql.Identifier(schema, name).as_string(conn)
        copy_results(conn, table_sql, [c for c, _ in columns], [t for _, t in columns], result_batches(results))
        conn.commit()


def dlt_postgres(folder: str, rows: str, url: str, pipelines_dir: str, file_format: str) -> None:
    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
    import logging

    import dlt
    import pyarrow.parquet as pq

    # dlt warns once per run that insert_values converts Arrow row by row: known, and measured.
    logging.getLogger("dlt").setLevel(logging.ERROR)
    limit = int(rows)

    def batches() -> Any:
        have = 0
        for path in _files(folder):
            if have >= limit:
                return
            table = pq.read_table(path).slice(0, limit - have)
            have += table.num_rows
            yield table

    pipeline = dlt.pipeline(
        pipeline_name=f"bench_{file_format}",
        destination=dlt.destinations.postgres(url),
        dataset_name="bench_dlt",
        pipelines_dir=pipelines_dir,
    )
    resource = dlt.resource(batches(), name=f"orders_{file_format}", write_disposition="append")
    pipeline.run(resource, loader_file_format=file_format)


def pandas_hive(folder: str, rows: str, port: str, qualified: str, method: str) -> None:
    import sqlalchemy as sa

    frame = _arrow(folder, int(rows)).to_pandas()
    # PyHive cannot render Decimal parameters; as text they load exactly into DECIMAL(12,2).
    frame["amount"] = frame["amount"].astype(str)
    engine = sa.create_engine(f"hive://publisher@127.0.0.1:{port}/default")

    @sa.event.listens_for(engine, "connect")
    def _legacy_casts(dbapi_connection: Any, record: Any) -> None:
        # PyHive sends timestamps, dates and decimals as string literals; Spark's ANSI store
        # assignment refuses STRING -> TIMESTAMP in INSERT ... VALUES, LEGACY casts them.
        cursor = dbapi_connection.cursor()
        cursor.execute("SET spark.sql.storeAssignmentPolicy=LEGACY")
        cursor.close()

    schema, _, name = qualified.partition(".")
    if method == "row":
        frame.to_sql(name, engine, schema=schema, if_exists="append", index=False)
    else:
        frame.to_sql(name, engine, schema=schema, if_exists="append", index=False, method="multi", chunksize=5_000)


METHODS = {
    "redshift-copy": redshift_copy,
    "hive-insert": hive_insert,
    "redshift-merge": redshift_merge,
    "hive-merge": hive_merge,
    "pandas-postgres": pandas_postgres,
    "dlt-postgres": dlt_postgres,
    "publisher-postgres": publisher_postgres,
    "pandas-hive": pandas_hive,
}


if __name__ == "__main__":
    METHODS[sys.argv[1]](*sys.argv[2:])
