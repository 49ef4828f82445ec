"""The Redshift stand-in itself, through the real redshift_connector: each Redshift
behaviour the publisher relies on, proven here so that a wrong stand-in cannot make a
wrong publisher pass.

Needs the stand-in running (bash .ci/services/redshift_standin.sh start) and:
    PUBLISHER_TEST_REDSHIFT=127.0.0.1:5439  PUBLISHER_TEST_REDSHIFT_PASSWORD=...
    PUBLISHER_TEST_S3=http://127.0.0.1:9000
    PUBLISHER_TEST_REDSHIFT_CA=.../redshift/tls/ca.crt   (optional: the TLS test; by default
                                                          $PUBLISHER_CI_STATE/redshift/tls/ca.crt)
"""

from __future__ import annotations

import bz2
import contextlib
import datetime as dt
import decimal
import gzip
import io
import json
import os
import threading
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import fastavro
import psycopg
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import redshift_connector
from redshift_connector.error import ProgrammingError

from publisher.engines.redshift import SLICES_SQL

pytestmark = pytest.mark.redshift

ROLE = "IAM_ROLE 'arn:aws:iam::123456789012:role/publisher-test'"
UTC = dt.UTC
LOAD_FAILED = "Load into table '{}' failed.  Check 'stl_load_errors' system table for details."


# --- fixtures --------------------------------------------------------------------------------


def _endpoint() -> tuple[str, int, str, str]:
    address = os.environ.get("PUBLISHER_TEST_REDSHIFT")
    password = os.environ.get("PUBLISHER_TEST_REDSHIFT_PASSWORD")
    s3 = os.environ.get("PUBLISHER_TEST_S3")
    if not (address and password and s3):
        pytest.skip(
            "Redshift stand-in not configured: set PUBLISHER_TEST_REDSHIFT (host:port), "
            "PUBLISHER_TEST_REDSHIFT_PASSWORD and PUBLISHER_TEST_S3 "
            "(bash .ci/services/redshift_standin.sh start)"
        )
    host, _, port = address.rpartition(":")
    return host, int(port), password, s3


@pytest.fixture(scope="session")
def endpoint() -> tuple[str, int, str, str]:
    return _endpoint()


@pytest.fixture(scope="session")
def s3(endpoint: tuple[str, int, str, str]) -> Any:
    # moto accepts any key; the stand-in's COPY reads with its own client.
    return boto3.client(
        "s3", endpoint_url=endpoint[3], region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test"
    )


@pytest.fixture
def bucket(s3: Any) -> str:
    name = f"standin-{uuid.uuid4().hex[:16]}"
    s3.create_bucket(Bucket=name)
    return name


@pytest.fixture
def connect(endpoint: tuple[str, int, str, str]) -> Iterator[Callable[..., Any]]:
    opened: list[Any] = []

    def _connect(**kwargs: Any) -> Any:
        host, port, password, _ = endpoint
        kwargs.setdefault("ssl", False)
        conn = redshift_connector.connect(
            host=host, port=port, database="dev", user="publisher", password=password, **kwargs
        )
        opened.append(conn)
        return conn

    yield _connect
    for conn in opened:
        # A test may have broken its connection on purpose.
        with contextlib.suppress(Exception):
            conn.close()


@pytest.fixture
def conn(connect: Callable[..., Any]) -> Any:
    return connect()


@pytest.fixture
def table() -> str:
    return f"t_{uuid.uuid4().hex[:12]}"


def run(conn: Any, sql: str, params: Any = None) -> list[list[Any]]:
    cursor = conn.cursor()
    cursor.execute(sql, params)
    return [list(row) for row in cursor.fetchall()] if cursor.description else []


def server_error(excinfo: pytest.ExceptionInfo[Exception]) -> dict[str, str]:
    """The server's error fields (redshift_connector puts them in args[0])."""
    fields = excinfo.value.args[0]
    assert isinstance(fields, dict), fields
    return fields


def put(s3: Any, bucket: str, key: str, body: bytes) -> None:
    s3.put_object(Bucket=bucket, Key=key, Body=body)


def parquet_bytes(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


def avro_bytes(schema: dict[str, Any], records: list[dict[str, Any]]) -> bytes:
    sink = io.BytesIO()
    fastavro.writer(sink, fastavro.parse_schema(schema), records)
    return sink.getvalue()


def manifest(*entries: tuple[str, int | None, bool]) -> bytes:
    items = []
    for url, length, mandatory in entries:
        item: dict[str, Any] = {"url": url, "mandatory": mandatory}
        if length is not None:
            item["meta"] = {"content_length": length}
        items.append(item)
    return json.dumps({"entries": items}).encode()


def load_errors(conn: Any) -> list[list[Any]]:
    # The publisher's query after a failed COPY and a ROLLBACK.
    return run(
        conn,
        "SELECT filename, line_number, colname, raw_field_value, err_reason FROM stl_load_errors "
        "WHERE query = pg_last_copy_id() ORDER BY line_number LIMIT 10",
    )


# Values that break naive CSV handling.
TRICKY = ["plain", "comma, inside", 'quote " inside', "new\nline", "", None, "ünïcødé €"]


# --- 1. connecting ------------------------------------------------------------------------------


def test_connect_with_driver_defaults_over_tls(
    endpoint: tuple[str, int, str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """redshift_connector's defaults (ssl=True, verify the certificate) work once the
    client trusts the stand-in's CA, as it trusts Redshift's."""
    state = os.environ.get("PUBLISHER_CI_STATE", "/tmp/publisher-ci")
    ca = os.environ.get("PUBLISHER_TEST_REDSHIFT_CA") or os.path.join(state, "redshift", "tls", "ca.crt")
    if not os.path.exists(ca):
        pytest.skip(f"the stand-in's CA certificate {ca} does not exist: set PUBLISHER_TEST_REDSHIFT_CA")
    monkeypatch.setenv("SSL_CERT_FILE", ca)
    host, port, password, _ = endpoint
    conn = redshift_connector.connect(host=host, port=port, database="dev", user="publisher", password=password)
    try:
        assert run(conn, "SELECT 1") == [[1]]
        assert (b"server_version", b"8.0.2") in conn.parameter_statuses
        assert type(conn._usock).__name__ == "SSLSocket"
    finally:
        conn.close()


def test_connect_and_run_ddl_dml_transactions(conn: Any, table: str) -> None:
    assert (b"server_version", b"8.0.2") in conn.parameter_statuses
    run(conn, f"CREATE TABLE {table} (id INTEGER, name VARCHAR(20), amount DECIMAL(10,2))")
    conn.commit()
    cursor = conn.cursor()
    cursor.execute(f"INSERT INTO {table} VALUES (%s, %s, %s)", (1, "one", decimal.Decimal("1.10")))
    cursor.execute(f"INSERT INTO {table} VALUES (%s, %s, %s)", (2, None, None))
    conn.commit()
    run(conn, f"INSERT INTO {table} VALUES (3, 'three', 3)")
    conn.rollback()
    assert run(conn, f"SELECT id, name, amount FROM {table} ORDER BY id") == [
        [1, "one", decimal.Decimal("1.10")],
        [2, None, None],
    ]
    cursor = conn.cursor()
    cursor.execute(f"SELECT id, name FROM {table} ORDER BY id")
    frame = cursor.fetch_dataframe()
    assert list(frame.columns) == ["id", "name"] and frame["id"].tolist() == [1, 2]
    assert run(conn, "SELECT count(*) FROM information_schema.columns WHERE table_name = %s", (table,)) == [[3]]


def test_insert_and_delete_report_their_row_counts_to_the_driver(conn: Any, table: str) -> None:
    """The publisher's Redshift merge checks rows by these counts (CommandComplete's, as
    redshift_connector's rowcount): an INSERT ... SELECT's and a DELETE ... USING's."""
    run(conn, f"CREATE TABLE {table} (id INTEGER, v VARCHAR(10))")
    run(conn, f"CREATE TABLE {table}_s (id INTEGER, v VARCHAR(10))")
    cursor = conn.cursor()
    cursor.execute(f"INSERT INTO {table} VALUES (1, 'a'), (2, 'b'), (3, 'c')")
    assert cursor.rowcount == 3
    cursor.execute(f"INSERT INTO {table}_s SELECT id, 'new' FROM {table} WHERE id >= 2")
    assert cursor.rowcount == 2
    cursor.execute(f"DELETE FROM {table} USING {table}_s r WHERE {table}.id = r.id")
    assert cursor.rowcount == 2
    cursor.execute(f"DROP TABLE {table}_s")
    assert cursor.rowcount == -1  # no count: the publisher's Target.execute answers None
    conn.rollback()


def test_simple_query_protocol_with_copy_inside(
    endpoint: tuple[str, int, str, str], s3: Any, bucket: str, table: str
) -> None:
    """A multi-statement simple query (psycopg's client-side cursor) is handled too,
    statement by statement, with the proxy's COPY in the middle."""
    host, port, password, _ = endpoint
    put(s3, bucket, "in/a.csv", b"1,a\n2,b\n")
    with psycopg.connect(
        host=host,
        port=port,
        dbname="dev",
        user="publisher",
        password=password,
        sslmode="disable",
        cursor_factory=psycopg.ClientCursor,
        autocommit=True,
    ) as pg:
        pg.execute(f"CREATE TABLE {table} (id INT, name VARCHAR(5))")
        pg.execute(
            f"BEGIN; COPY {table} FROM 's3://{bucket}/in/' {ROLE} CSV; ROLLBACK; "
            f"COPY {table} FROM 's3://{bucket}/in/' {ROLE} CSV"
        )
        assert pg.execute(f"SELECT id, name FROM {table} ORDER BY id").fetchall() == [(1, "a"), (2, "b")]
        with pytest.raises(psycopg.Error, match="Missing credentials"):
            pg.execute(f"SELECT 1; COPY {table} FROM 's3://{bucket}/in/' CSV; SELECT 2")


def test_extended_protocol_pipeline_keeps_answers_in_order(
    endpoint: tuple[str, int, str, str], s3: Any, bucket: str, table: str
) -> None:
    """Several statements before one Sync (psycopg's pipeline mode), the proxy's COPY
    among them: answers in order, and after an error the rest of the batch is skipped
    as PostgreSQL skips it."""
    host, port, password, _ = endpoint
    put(s3, bucket, "in/a.csv", b"1\n2\n")
    with psycopg.connect(
        host=host, port=port, dbname="dev", user="publisher", password=password, sslmode="disable", autocommit=True
    ) as pg:
        pg.execute(f"CREATE TABLE {table} (id INT)")
        with pg.pipeline():
            pg.execute(f"INSERT INTO {table} VALUES (%s)", (10,))
            pg.execute(f"COPY {table} FROM 's3://{bucket}/in/' {ROLE} CSV")
            counted = pg.execute(f"SELECT count(*) FROM {table}")
        assert counted.fetchone() == (3,)
        with pytest.raises(psycopg.errors.DivisionByZero), pg.pipeline():
            pg.execute("SELECT 1 / 0")
            pg.execute(f"COPY {table} FROM 's3://{bucket}/in/' {ROLE} CSV")  # skipped
        assert pg.execute(f"SELECT count(*) FROM {table}").fetchone() == (3,)


def test_cancel_request_reaches_postgres(endpoint: tuple[str, int, str, str]) -> None:
    host, port, password, _ = endpoint
    with psycopg.connect(
        host=host, port=port, dbname="dev", user="publisher", password=password, sslmode="disable"
    ) as pg:
        timer = threading.Timer(0.5, pg.cancel)
        timer.start()
        with pytest.raises(psycopg.errors.QueryCanceled):
            pg.execute("SELECT pg_sleep(20)")
        timer.join()


# --- 2. COPY: which files -------------------------------------------------------------------------


def test_prefix_loads_every_key_that_starts_with_it(conn: Any, s3: Any, bucket: str, table: str) -> None:
    put(s3, bucket, "data/part", b"1\n")
    put(s3, bucket, "data/part-extra.csv", b"2\n")
    put(s3, bucket, "data/partition/x.csv", b"3\n")
    put(s3, bucket, "data/other.csv", b"4\n")
    put(s3, bucket, "datapart.csv", b"5\n")
    run(conn, f"CREATE TABLE {table} (id INTEGER)")
    run(conn, f"COPY {table} FROM 's3://{bucket}/data/part' {ROLE} FORMAT AS CSV")
    conn.commit()
    assert run(conn, f"SELECT id FROM {table} ORDER BY id") == [[1], [2], [3]]


def test_prefix_that_matches_nothing_is_an_error(conn: Any, bucket: str, table: str) -> None:
    run(conn, f"CREATE TABLE {table} (id INTEGER)")
    with pytest.raises(ProgrammingError) as excinfo:
        run(conn, f"COPY {table} FROM 's3://{bucket}/nothing/here' {ROLE} FORMAT AS CSV")
    assert "The specified S3 prefix 'nothing/here' does not exist" in server_error(excinfo)["M"]


def test_manifest_loads_exactly_the_listed_files(conn: Any, s3: Any, bucket: str, table: str) -> None:
    bodies = {"r/part-0.csv": b"1\n", "r/part-1.csv": b"2\n", "r/part-2.csv": b"3\n", "r/_SUCCESS": b""}
    for key, body in bodies.items():
        put(s3, bucket, key, body)
    put(
        s3,
        bucket,
        "manifests/m.json",
        manifest(
            (f"s3://{bucket}/r/part-0.csv", 2, True),
            (f"s3://{bucket}/r/part-2.csv", 2, True),
            (f"s3://{bucket}/r/gone.csv", None, False),
        ),
    )  # optional and missing: skipped
    run(conn, f"CREATE TABLE {table} (id INTEGER)")
    run(conn, f"COPY {table} FROM 's3://{bucket}/manifests/m.json' {ROLE} FORMAT AS CSV MANIFEST")
    conn.commit()
    assert run(conn, f"SELECT id FROM {table} ORDER BY id") == [[1], [3]]


def test_manifest_missing_mandatory_file_is_an_error(conn: Any, s3: Any, bucket: str, table: str) -> None:
    put(s3, bucket, "r/part-0.csv", b"1\n")
    put(
        s3, bucket, "m.json", manifest((f"s3://{bucket}/r/part-0.csv", 2, True), (f"s3://{bucket}/r/gone.csv", 2, True))
    )
    run(conn, f"CREATE TABLE {table} (id INTEGER)")
    conn.commit()
    with pytest.raises(ProgrammingError) as excinfo:
        run(conn, f"COPY {table} FROM 's3://{bucket}/m.json' {ROLE} CSV MANIFEST")
    assert f"'s3://{bucket}/r/gone.csv' is mandatory" in server_error(excinfo)["M"]
    conn.rollback()
    assert run(conn, f"SELECT count(*) FROM {table}") == [[0]]


def test_parquet_manifest_needs_content_length(conn: Any, s3: Any, bucket: str, table: str) -> None:
    body = parquet_bytes(pa.table({"id": pa.array([1], pa.int32())}))
    put(s3, bucket, "p/part-0.parquet", body)
    put(s3, bucket, "m1.json", manifest((f"s3://{bucket}/p/part-0.parquet", None, True)))
    put(s3, bucket, "m2.json", manifest((f"s3://{bucket}/p/part-0.parquet", len(body), True)))
    run(conn, f"CREATE TABLE {table} (id INTEGER)")
    conn.commit()
    with pytest.raises(ProgrammingError) as excinfo:
        run(conn, f"COPY {table} FROM 's3://{bucket}/m1.json' {ROLE} FORMAT AS PARQUET MANIFEST")
    assert "content_length" in server_error(excinfo)["M"]
    conn.rollback()
    run(conn, f"COPY {table} FROM 's3://{bucket}/m2.json' {ROLE} FORMAT AS PARQUET MANIFEST")
    assert run(conn, f"SELECT id FROM {table}") == [[1]]


# --- 2. COPY: credentials and options ---------------------------------------------------------------


@pytest.mark.parametrize(
    "credentials",
    [
        "IAM_ROLE 'arn:aws:iam::123456789012:role/a'",
        "IAM_ROLE 'arn:aws:iam::123456789012:role/a,arn:aws:iam::210987654321:role/b'",
        "IAM_ROLE default",
        "ACCESS_KEY_ID 'AKIAEXAMPLE' SECRET_ACCESS_KEY 'secret'",
        "ACCESS_KEY_ID 'AKIAEXAMPLE' SECRET_ACCESS_KEY 'secret' SESSION_TOKEN 'token'",
        "CREDENTIALS 'aws_access_key_id=AKIAEXAMPLE;aws_secret_access_key=secret'",
        "CREDENTIALS 'aws_iam_role=arn:aws:iam::123456789012:role/a'",
    ],
)
def test_credentials_accepted(conn: Any, s3: Any, bucket: str, table: str, credentials: str) -> None:
    put(s3, bucket, "a.csv", b"1\n")
    run(conn, f"CREATE TABLE {table} (id INTEGER)")
    run(conn, f"COPY {table} FROM 's3://{bucket}/a.csv' {credentials} CSV")
    assert run(conn, f"SELECT id FROM {table}") == [[1]]


@pytest.mark.parametrize(
    ("credentials", "message"),
    [
        ("", "Missing credentials"),
        ("IAM_ROLE 'arn:aws:iam::123:role/short-account'", "Invalid IAM role ARN"),
        ("IAM_ROLE 'publisher'", "Invalid IAM role ARN"),
        ("ACCESS_KEY_ID 'AKIAEXAMPLE'", "SECRET_ACCESS_KEY is required"),
        ("CREDENTIALS 'aws_access_key_id=AKIAEXAMPLE'", "aws_secret_access_key"),
        ("IAM_ROLE default ACCESS_KEY_ID 'a' SECRET_ACCESS_KEY 'b'", "Conflicting credentials"),
    ],
)
def test_bad_credentials_refused(conn: Any, s3: Any, bucket: str, table: str, credentials: str, message: str) -> None:
    put(s3, bucket, "a.csv", b"1\n")
    run(conn, f"CREATE TABLE {table} (id INTEGER)")
    with pytest.raises(ProgrammingError) as excinfo:
        run(conn, f"COPY {table} FROM 's3://{bucket}/a.csv' {credentials} CSV")
    assert message in server_error(excinfo)["M"]


@pytest.mark.parametrize("option", ["REGION 'us-east-1'", "COMPUPDATE OFF", "IGNOREHEADER 1", "TIMEFORMAT 'auto'"])
def test_parquet_refuses_text_options(conn: Any, s3: Any, bucket: str, table: str, option: str) -> None:
    put(s3, bucket, "p.parquet", parquet_bytes(pa.table({"id": pa.array([1], pa.int32())})))
    run(conn, f"CREATE TABLE {table} (id INTEGER)")
    with pytest.raises(ProgrammingError) as excinfo:
        run(conn, f"COPY {table} FROM 's3://{bucket}/p.parquet' {ROLE} FORMAT AS PARQUET {option}")
    assert "COPY from this file format only accepts" in server_error(excinfo)["M"]


def test_region_accepted_with_csv_json_avro(conn: Any, s3: Any, bucket: str, table: str) -> None:
    put(s3, bucket, "a.csv", b"1\n")
    put(s3, bucket, "a.json", b'{"id": 2}\n')
    put(
        s3,
        bucket,
        "a.avro",
        avro_bytes({"type": "record", "name": "r", "fields": [{"name": "id", "type": "int"}]}, [{"id": 3}]),
    )
    run(conn, f"CREATE TABLE {table} (id INTEGER)")
    run(conn, f"COPY {table} FROM 's3://{bucket}/a.csv' {ROLE} CSV REGION 'eu-west-1'")
    run(conn, f"COPY {table} FROM 's3://{bucket}/a.json' {ROLE} FORMAT AS JSON 'auto' REGION AS 'eu-west-1'")
    run(
        conn,
        f"COPY {table} FROM 's3://{bucket}/a.avro' {ROLE} FORMAT AVRO 'auto' REGION 'eu-west-1' "
        "STATUPDATE OFF COMPUPDATE OFF",
    )
    assert run(conn, f"SELECT id FROM {table} ORDER BY id") == [[1], [2], [3]]


@pytest.mark.parametrize(
    ("statement", "message"),
    [
        ("COPY {t} FROM 's3://{b}/a.csv' {r} CSV MAXERROR 10", "MAXERROR is not implemented"),
        ("COPY {t} FROM 's3://{b}/a.csv' {r} CSV TRUNCATECOLUMNS", "TRUNCATECOLUMNS is not implemented"),
        ("COPY {t} FROM 's3://{b}/a.csv' {r} CSV ACCEPTINVCHARS", "ACCEPTINVCHARS is not implemented"),
        ("COPY {t} FROM 's3://{b}/a.csv' {r} CSV WHATEVER", 'syntax error at or near "WHATEVER"'),
        ("COPY {t} FROM 's3://{b}/a.csv' {r}", "COPY without FORMAT"),
        ("COPY {t} FROM 's3://{b}/a.csv' {r} JSON 's3://{b}/paths.json'", "not implemented"),
        ("COPY {t} FROM 's3://{b}/a.csv' {r} PARQUET", 'syntax error at or near "PARQUET"'),
        ("COPY {t} FROM STDIN", "COPY FROM STDIN is not supported"),
        ("COPY {t} TO 's3://{b}/out'", "COPY TO is not supported"),
        ("COPY {t} FROM 's3://{b}/a.csv' {r} CSV DELIMITER ',' DELIMITER '|'", "redundant"),
        ("COPY {t} FROM 's3://{b}/a.csv' {r} FORMAT AS JSON 'auto' IGNOREHEADER 1", "only valid with CSV"),
    ],
)
def test_unsupported_or_invalid_copy_refused(
    conn: Any, s3: Any, bucket: str, table: str, statement: str, message: str
) -> None:
    put(s3, bucket, "a.csv", b"1\n")
    run(conn, f"CREATE TABLE {table} (id INTEGER)")
    with pytest.raises(ProgrammingError) as excinfo:
        run(conn, statement.format(t=table, b=bucket, r=ROLE))
    assert message in server_error(excinfo)["M"]


# --- 2. COPY: formats -----------------------------------------------------------------------------


def test_csv_by_position_with_redshift_null_rules(conn: Any, s3: Any, bucket: str, table: str) -> None:
    body = (
        "id|name|amount|day|note\n"
        '1|"comma, inside"|1.50|2024-02-29|"quote "" inside"\n'
        '2|"new\nline"||2024-01-01|\n'  # empty number -> NULL, empty VARCHAR -> ''
        "3|\\N|\\N|\\N|\\N\n"  # Redshift's default NULL AS '\N'
        "4|ünïcødé €|  |2024-12-31|   \n"  # blank number -> NULL, blank VARCHAR kept
    )
    put(s3, bucket, "c/a.csv", body.encode())
    run(conn, f"CREATE TABLE {table} (id INTEGER, name VARCHAR(30), amount DECIMAL(10,2), day DATE, note VARCHAR(20))")
    run(
        conn,
        f"COPY {table} FROM 's3://{bucket}/c/' {ROLE} FORMAT AS CSV DELIMITER '|' IGNOREHEADER 1 "
        "TIMEFORMAT 'auto' DATEFORMAT 'auto'",
    )
    assert run(conn, f"SELECT id, name, amount, day, note FROM {table} ORDER BY id") == [
        [1, "comma, inside", decimal.Decimal("1.50"), dt.date(2024, 2, 29), 'quote " inside'],
        [2, "new\nline", None, dt.date(2024, 1, 1), ""],
        [3, None, None, None, None],
        [4, "ünïcødé €", None, dt.date(2024, 12, 31), "   "],
    ]


def test_csv_emptyasnull_blanksasnull_null_as_quote(conn: Any, s3: Any, bucket: str, table: str) -> None:
    put(s3, bucket, "a.csv", b"1,,'x, y'\n2,  ,NULL\n3,'it''s',z\n")
    run(conn, f"CREATE TABLE {table} (id INTEGER, a VARCHAR(10), b VARCHAR(10))")
    run(
        conn,
        f"COPY {table} FROM 's3://{bucket}/a.csv' {ROLE} CSV QUOTE AS '''' NULL AS 'NULL' EMPTYASNULL BLANKSASNULL",
    )
    assert run(conn, f"SELECT id, a, b FROM {table} ORDER BY id") == [
        [1, None, "x, y"],
        [2, None, None],
        [3, "it's", "z"],
    ]


def test_csv_gzip_and_bzip2(conn: Any, s3: Any, bucket: str, table: str) -> None:
    put(s3, bucket, "gz/a.csv.gz", gzip.compress(b"1\n2\n"))
    put(s3, bucket, "bz/a.csv.bz2", bz2.compress(b"3\n"))
    run(conn, f"CREATE TABLE {table} (id INTEGER)")
    run(conn, f"COPY {table} FROM 's3://{bucket}/gz/' {ROLE} CSV GZIP")
    run(conn, f"COPY {table} FROM 's3://{bucket}/bz/' {ROLE} CSV BZIP2")
    assert run(conn, f"SELECT id FROM {table} ORDER BY id") == [[1], [2], [3]]


def test_csv_wrong_field_count_fails(conn: Any, s3: Any, bucket: str, table: str) -> None:
    put(s3, bucket, "a.csv", b"1,a\n2\n")
    run(conn, f"CREATE TABLE {table} (id INTEGER, name VARCHAR(5))")
    conn.commit()
    with pytest.raises(ProgrammingError) as excinfo:
        run(conn, f"COPY {table} FROM 's3://{bucket}/a.csv' {ROLE} CSV")
    assert server_error(excinfo)["M"] == LOAD_FAILED.format(table)
    conn.rollback()
    assert [[f.strip() if isinstance(f, str) else f for f in row] for row in load_errors(conn)] == [
        [f"s3://{bucket}/a.csv", 2, "", "", "Delimiter not found"]
    ]


def test_json_auto_matches_field_names(conn: Any, s3: Any, bucket: str, table: str) -> None:
    lines = [
        {
            "id": 1,
            "name": 'comma, "quoted"\nnewline',
            "amount": "AMOUNT",
            "extra": "ignored",
            "payload": {"k": [1, 2, {"x": None}]},
            "ok": True,
        },
        {"id": 2, "Name": "upper-case key: not a match with 'auto'", "ts": "2024-01-01 10:00:00"},
        {"ts": "2024-02-29T23:59:59.123456", "id": 3, "name": None, "payload": "just a string"},
    ]
    body = "\n".join(json.dumps(line) for line in lines) + '\n{"id": 4,\n "name": "spans lines"}\n'
    # A number a float cannot hold: DECIMAL must get its exact text.
    body = body.replace('"AMOUNT"', "12345678901234.5678")
    put(s3, bucket, "j/a.json", body.encode())
    run(
        conn,
        f"CREATE TABLE {table} (id BIGINT, name VARCHAR(100), amount DECIMAL(20,4), payload SUPER, "
        "ok BOOLEAN, ts TIMESTAMP)",
    )
    run(conn, f"COPY {table} FROM 's3://{bucket}/j/' {ROLE} FORMAT AS JSON 'auto'")
    rows = run(conn, f"SELECT id, name, amount, payload, ok, ts FROM {table} ORDER BY id")
    assert rows[0][:3] == [1, 'comma, "quoted"\nnewline', decimal.Decimal("12345678901234.5678")]
    assert json.loads(rows[0][3]) == {"k": [1, 2, {"x": None}]} and rows[0][4] is True
    assert rows[1][1] is None and rows[1][5] == dt.datetime(2024, 1, 1, 10, 0)
    assert rows[2][1] is None and json.loads(rows[2][3]) == "just a string"
    assert rows[2][5] == dt.datetime(2024, 2, 29, 23, 59, 59, 123456)
    assert rows[3][:2] == [4, "spans lines"]


def test_json_auto_ignorecase(conn: Any, s3: Any, bucket: str, table: str) -> None:
    put(s3, bucket, "a.json", b'{"ID": 1, "Name": "x"}\n')
    run(conn, f"CREATE TABLE {table} (id INTEGER, name VARCHAR(5))")
    run(conn, f"COPY {table} FROM 's3://{bucket}/a.json' {ROLE} JSON 'auto'")
    run(conn, f"COPY {table} FROM 's3://{bucket}/a.json' {ROLE} FORMAT AS JSON 'auto ignorecase'")
    assert run(conn, f"SELECT id, name FROM {table} ORDER BY id NULLS FIRST") == [[None, None], [1, "x"]]


AVRO_SCHEMA = {
    "type": "record",
    "name": "row",
    "fields": [
        {"name": "note", "type": ["null", "string"]},  # not in table order: matched by name
        {"name": "id", "type": "long"},
        {"name": "day", "type": ["null", {"type": "int", "logicalType": "date"}]},
        {"name": "ts_ms", "type": ["null", {"type": "long", "logicalType": "timestamp-millis"}]},
        {"name": "ts_us", "type": ["null", {"type": "long", "logicalType": "timestamp-micros"}]},
        {"name": "amount", "type": ["null", {"type": "bytes", "logicalType": "decimal", "precision": 38, "scale": 10}]},
        {"name": "ratio", "type": ["null", "double"]},
        {"name": "unused", "type": "string"},
    ],
}


def test_avro_auto_matches_names_and_keeps_logical_types(conn: Any, s3: Any, bucket: str, table: str) -> None:
    big = decimal.Decimal("1234567890123456789012345678.0123456789")
    records = [
        {
            "note": text,
            "id": i,
            "day": dt.date(2024, 2, 29),
            "ts_ms": dt.datetime(2024, 1, 1, 1, 2, 3, 456000, tzinfo=UTC),
            "ts_us": dt.datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
            "amount": big if i == 0 else decimal.Decimal("-0.0000000001"),
            "ratio": 1 / 3,
            "unused": "x",
        }
        for i, text in enumerate(TRICKY)
    ]
    records.append(
        {
            "note": None,
            "id": 99,
            "day": None,
            "ts_ms": None,
            "ts_us": None,
            "amount": None,
            "ratio": None,
            "unused": "y",
        }
    )
    put(s3, bucket, "a/part-0.avro", avro_bytes(AVRO_SCHEMA, records))
    run(
        conn,
        f"CREATE TABLE {table} (id BIGINT, note VARCHAR(40), day DATE, ts_ms TIMESTAMP, ts_us TIMESTAMPTZ, "
        "amount DECIMAL(38,10), ratio DOUBLE PRECISION, missing INTEGER)",
    )
    run(conn, f"COPY {table} FROM 's3://{bucket}/a/' {ROLE} FORMAT AS AVRO 'auto'")
    rows = run(conn, f"SELECT id, note, day, ts_ms, ts_us, amount, ratio, missing FROM {table} ORDER BY id")
    assert [row[1] for row in rows[: len(TRICKY)]] == TRICKY
    assert rows[0][2:] == [
        dt.date(2024, 2, 29),
        dt.datetime(2024, 1, 1, 1, 2, 3, 456000),
        dt.datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
        big,
        1 / 3,
        None,
    ]
    assert rows[1][5] == decimal.Decimal("-0.0000000001")
    assert rows[-1] == [99, None, None, None, None, None, None, None]


def _parquet_sample() -> pa.Table:
    # Column names unlike the table's, on purpose: Parquet is loaded by position.
    return pa.table(
        {
            "c_one": pa.array(range(len(TRICKY)), pa.int64()),
            "c_two": pa.array(TRICKY, pa.string()),
            "c_three": pa.array([dt.datetime(2024, 1, 1, 1, 2, 3, 456789)] * len(TRICKY), pa.timestamp("us")),
            "c_four": pa.array(
                [dt.datetime(2024, 6, 1, 12, 0, 0, 1, tzinfo=UTC)] * len(TRICKY), pa.timestamp("us", tz="Europe/Paris")
            ),
            "c_five": pa.array([dt.date(2024, 2, 29), None] + [dt.date(1970, 1, 1)] * (len(TRICKY) - 2)),
            "c_six": pa.array(
                [decimal.Decimal("12345678901234567890.123456789012345678")] * len(TRICKY), pa.decimal128(38, 18)
            ),
            "c_seven": pa.array([0.1, 1e300, None, -0.0, 2.5, 1 / 3, 7.0], pa.float64()),
            "c_eight": pa.array([True, False, None, True, True, False, True]),
            "c_nine": pa.array(
                [{"a": [1, 2]}, None, {"a": []}, None, None, None, None], pa.struct([("a", pa.list_(pa.int32()))])
            ),
        }
    )


def test_parquet_by_position_without_loss(conn: Any, s3: Any, bucket: str, table: str) -> None:
    put(s3, bucket, "p/part-0.parquet", parquet_bytes(_parquet_sample()))
    run(
        conn,
        f"CREATE TABLE {table} (id BIGINT, name VARCHAR(40), created TIMESTAMP, seen TIMESTAMPTZ, day DATE, "
        "amount DECIMAL(38,18), score DOUBLE PRECISION, flag BOOLEAN, doc SUPER)",
    )
    run(conn, f"COPY {table} FROM 's3://{bucket}/p/' {ROLE} FORMAT AS PARQUET")
    rows = run(conn, f"SELECT id, name, created, seen, day, amount, score, flag, doc FROM {table} ORDER BY id")
    assert [row[1] for row in rows] == TRICKY
    assert rows[0][2:8] == [
        dt.datetime(2024, 1, 1, 1, 2, 3, 456789),
        dt.datetime(2024, 6, 1, 12, 0, 0, 1, tzinfo=UTC),
        dt.date(2024, 2, 29),
        decimal.Decimal("12345678901234567890.123456789012345678"),
        0.1,
        True,
    ]
    assert [row[6] for row in rows] == [0.1, 1e300, None, -0.0, 2.5, 1 / 3, 7.0]
    assert rows[1][4] is None and rows[2][7] is None
    assert json.loads(rows[0][8]) == {"a": [1, 2]} and rows[1][8] is None


def test_parquet_column_list_is_by_position_too(conn: Any, s3: Any, bucket: str, table: str) -> None:
    data = pa.table({"name": pa.array(["x"]), "id": pa.array([7], pa.int32())})
    put(s3, bucket, "p.parquet", parquet_bytes(data))
    run(conn, f"CREATE TABLE {table} (id INTEGER, name VARCHAR(5), other INTEGER DEFAULT 5)")
    run(conn, f"COPY {table} (name, id) FROM 's3://{bucket}/p.parquet' {ROLE} FORMAT AS PARQUET")
    assert run(conn, f"SELECT id, name, other FROM {table}") == [[7, "x", 5]]


def test_parquet_column_count_mismatch_is_an_error(conn: Any, s3: Any, bucket: str, table: str) -> None:
    put(s3, bucket, "p.parquet", parquet_bytes(pa.table({"id": pa.array([1], pa.int32())})))
    run(conn, f"CREATE TABLE {table} (id INTEGER, name VARCHAR(5))")
    with pytest.raises(ProgrammingError) as excinfo:
        run(conn, f"COPY {table} FROM 's3://{bucket}/p.parquet' {ROLE} FORMAT AS PARQUET")
    assert "Mismatched column count" in server_error(excinfo)["M"]


@pytest.mark.parametrize(
    ("arrow_type", "value", "column"),
    [
        (pa.int64(), 1, "INTEGER"),  # would be narrowed
        (pa.string(), "1", "INTEGER"),  # a string is no number for Redshift's Parquet reader
        (pa.float64(), 1.5, "REAL"),
        (pa.int32(), 1, "VARCHAR(10)"),
        (pa.timestamp("us"), dt.datetime(2024, 1, 1), "DATE"),
    ],
)
def test_parquet_incompatible_type_is_an_error(
    conn: Any, s3: Any, bucket: str, table: str, arrow_type: pa.DataType, value: Any, column: str
) -> None:
    put(s3, bucket, "p.parquet", parquet_bytes(pa.table({"c": pa.array([value], arrow_type)})))
    run(conn, f"CREATE TABLE {table} (c {column})")
    with pytest.raises(ProgrammingError) as excinfo:
        run(conn, f"COPY {table} FROM 's3://{bucket}/p.parquet' {ROLE} FORMAT AS PARQUET")
    assert "incompatible Parquet schema for column 'c'" in server_error(excinfo)["M"]


def test_json_and_avro_by_name_parquet_by_position(conn: Any, s3: Any, bucket: str, table: str) -> None:
    """The same two columns, written in the opposite order to the table's."""
    put(s3, bucket, "x.json", b'{"b": "bee", "a": 1}\n')
    put(
        s3,
        bucket,
        "x.avro",
        avro_bytes(
            {"type": "record", "name": "r", "fields": [{"name": "b", "type": "string"}, {"name": "a", "type": "int"}]},
            [{"b": "bee", "a": 2}],
        ),
    )
    put(s3, bucket, "x.parquet", parquet_bytes(pa.table({"b": pa.array([3], pa.int32()), "a": pa.array(["bee"])})))
    run(conn, f"CREATE TABLE {table} (a INTEGER, b VARCHAR(5))")
    run(conn, f"COPY {table} FROM 's3://{bucket}/x.json' {ROLE} JSON 'auto'")
    run(conn, f"COPY {table} FROM 's3://{bucket}/x.avro' {ROLE} FORMAT AS AVRO 'auto'")
    run(conn, f"COPY {table} FROM 's3://{bucket}/x.parquet' {ROLE} FORMAT AS PARQUET")
    assert run(conn, f"SELECT a, b FROM {table} ORDER BY a") == [[1, "bee"], [2, "bee"], [3, "bee"]]


# --- 2. COPY is transactional ------------------------------------------------------------------------


def test_copy_in_rolled_back_transaction_leaves_nothing(conn: Any, s3: Any, bucket: str, table: str) -> None:
    put(s3, bucket, "a.csv", b"1\n2\n")
    run(conn, f"CREATE TABLE {table} (id INTEGER)")
    conn.commit()
    run(conn, f"COPY {table} FROM 's3://{bucket}/a.csv' {ROLE} CSV")
    assert run(conn, f"SELECT count(*) FROM {table}") == [[2]]  # visible inside the transaction
    conn.rollback()
    assert run(conn, f"SELECT count(*) FROM {table}") == [[0]]
    # The same statement again (the driver reuses its prepared statement): now committed.
    run(conn, f"COPY {table} FROM 's3://{bucket}/a.csv' {ROLE} CSV")
    conn.commit()
    assert run(conn, f"SELECT count(*) FROM {table}") == [[2]]


def test_copy_sees_table_created_in_same_transaction(
    conn: Any, connect: Callable[..., Any], s3: Any, bucket: str, table: str
) -> None:
    put(s3, bucket, "a.csv", b"1\n")
    run(conn, f"CREATE TABLE {table} (id INTEGER)")
    run(conn, f"COPY {table} FROM 's3://{bucket}/a.csv' {ROLE} CSV")
    other = connect()
    assert run(other, "SELECT count(*) FROM pg_class WHERE relname = %s", (table,)) == [[0]]
    conn.commit()
    assert run(other, f"SELECT id FROM {table}") == [[1]]


# --- 3. TRUNCATE commits -------------------------------------------------------------------------------


def test_truncate_commits_the_open_transaction(conn: Any, table: str) -> None:
    run(conn, f"CREATE TABLE {table} (id INTEGER)")
    run(conn, f"CREATE TABLE {table}_other (id INTEGER)")
    run(conn, f"INSERT INTO {table}_other VALUES (1), (2)")
    conn.commit()
    run(conn, f"INSERT INTO {table} VALUES (10)")  # uncommitted, in a transaction block
    run(conn, f"TRUNCATE {table}_other")
    run(conn, "ROLLBACK")
    # The INSERT was committed by TRUNCATE, and the TRUNCATE itself cannot be rolled back.
    assert run(conn, f"SELECT id FROM {table}") == [[10]]
    assert run(conn, f"SELECT count(*) FROM {table}_other") == [[0]]


# --- 4. ALTER TABLE APPEND -------------------------------------------------------------------------------


def test_alter_table_append_refused_inside_transaction(conn: Any, table: str) -> None:
    run(conn, f"CREATE TABLE {table} (id INTEGER)")
    run(conn, f"CREATE TABLE {table}_src (id INTEGER)")
    run(conn, f"INSERT INTO {table}_src VALUES (1)")
    conn.commit()
    with pytest.raises(ProgrammingError) as excinfo:
        run(conn, f"ALTER TABLE {table} APPEND FROM {table}_src")  # autocommit=False: in a block
    assert server_error(excinfo)["M"] == "ALTER TABLE APPEND cannot run inside a transaction block"
    conn.rollback()
    assert run(conn, f"SELECT count(*) FROM {table}_src") == [[1]]


def test_alter_table_append_moves_rows_outside_transaction(connect: Callable[..., Any], table: str) -> None:
    conn = connect()
    conn.autocommit = True
    run(conn, f"CREATE TABLE {table} (id INTEGER, name VARCHAR(5), extra INTEGER DEFAULT 9)")
    run(conn, f"CREATE TABLE {table}_src (id INTEGER, name VARCHAR(5))")
    run(conn, f"CREATE TABLE {table}_wide (name VARCHAR(5), id INTEGER, extra INTEGER, more INTEGER)")
    run(conn, f"INSERT INTO {table}_src VALUES (1, 'a'), (2, 'b')")
    run(conn, f"INSERT INTO {table}_wide VALUES ('c', 3, 30, 300)")
    with pytest.raises(ProgrammingError) as excinfo:
        run(conn, f"ALTER TABLE {table} APPEND FROM {table}_src")  # target has a column more
    assert "attributes don't match" in server_error(excinfo)["M"]
    run(conn, f"ALTER TABLE {table} APPEND FROM {table}_src FILLTARGET")
    run(conn, f"ALTER TABLE {table} APPEND FROM {table}_wide IGNOREEXTRA")
    assert run(conn, f"SELECT id, name, extra FROM {table} ORDER BY id") == [[1, "a", 9], [2, "b", 9], [3, "c", 30]]
    assert run(conn, f"SELECT count(*) FROM {table}_src") == [[0]]
    assert run(conn, f"SELECT count(*) FROM {table}_wide") == [[0]]


# --- 5. load errors --------------------------------------------------------------------------------------


def test_failed_copy_is_reported_in_stl_load_errors(conn: Any, s3: Any, bucket: str, table: str) -> None:
    put(s3, bucket, "r/part-0.csv", b"id,amount,name\n1,1.5,a\n2,2.5,b\n")
    put(s3, bucket, "r/part-1.csv", b'id,amount,name\n3,"multi\nline",c\n4,4.5,d\n5,not-a-number,e\n')
    run(conn, f"CREATE TABLE {table} (id INTEGER, amount DECIMAL(10,2), name VARCHAR(5))")
    conn.commit()
    with pytest.raises(ProgrammingError) as excinfo:
        run(conn, f"COPY {table} FROM 's3://{bucket}/r/' {ROLE} FORMAT AS CSV IGNOREHEADER 1")
    error = server_error(excinfo)
    assert error["M"] == LOAD_FAILED.format(table) and error["C"] == "XX000"
    # The transaction is aborted, as on Redshift, until the client rolls back.
    with pytest.raises(ProgrammingError) as excinfo:
        run(conn, "SELECT 1")
    assert server_error(excinfo)["C"] == "25P02"
    conn.rollback()
    rows = load_errors(conn)
    assert len(rows) == 1
    filename, line, colname, value, reason = rows[0]
    # CHAR(n) columns come back blank-padded, as on Redshift.
    assert filename.rstrip() == f"s3://{bucket}/r/part-1.csv" and len(filename) == 256
    assert (line, colname.rstrip(), value.rstrip()) == (2, "amount", "multi\nline")
    assert "numeric" in reason
    session, query = run(conn, "SELECT session, query FROM stl_load_errors WHERE query = pg_last_copy_id()")[0]
    assert session == run(conn, "SELECT pg_backend_pid()")[0][0]
    assert query == run(conn, "SELECT pg_last_copy_id()")[0][0]
    assert run(conn, f"SELECT count(*) FROM {table}") == [[0]]


def test_failed_copy_names_the_line_after_multiline_records(conn: Any, s3: Any, bucket: str, table: str) -> None:
    put(s3, bucket, "a.csv", b'1,"x\ny"\n2,"ok"\nthree,"z"\n')
    run(conn, f"CREATE TABLE {table} (id INTEGER, name VARCHAR(5))")
    conn.commit()
    with pytest.raises(ProgrammingError):
        run(conn, f"COPY {table} FROM 's3://{bucket}/a.csv' {ROLE} CSV")
    conn.rollback()
    assert [(r[1], r[2].rstrip(), r[3].rstrip()) for r in load_errors(conn)] == [(4, "id", "three")]


def test_varchar_length_counts_bytes_as_redshift(conn: Any, s3: Any, bucket: str, table: str) -> None:
    # 'ééé' is 3 characters (fits PostgreSQL's VARCHAR(4)) but 6 bytes (not Redshift's).
    put(s3, bucket, "p.parquet", parquet_bytes(pa.table({"s": pa.array(["ok", "ééé"])})))
    put(s3, bucket, "a.json", '{"s": "ok"}\n{"s": "ééé"}\n'.encode())
    run(conn, f"CREATE TABLE {table} (s VARCHAR(4))")
    conn.commit()
    for source, fmt, line in (("p.parquet", "FORMAT AS PARQUET", 2), ("a.json", "JSON 'auto'", 2)):
        with pytest.raises(ProgrammingError) as excinfo:
            run(conn, f"COPY {table} FROM 's3://{bucket}/{source}' {ROLE} {fmt}")
        assert server_error(excinfo)["M"] == LOAD_FAILED.format(table)
        conn.rollback()
        assert [(r[0].rstrip(), r[1], r[2].rstrip(), r[3].rstrip(), r[4].rstrip()) for r in load_errors(conn)] == [
            (f"s3://{bucket}/{source}", line, "s", "ééé", "String length exceeds DDL length")
        ]


def test_pg_last_copy_count_and_id(conn: Any, connect: Callable[..., Any], s3: Any, bucket: str, table: str) -> None:
    assert run(conn, "SELECT pg_last_copy_id(), pg_last_copy_count()") == [[-1, 0]]
    put(s3, bucket, "good.csv", b"1\n2\n3\n")
    put(s3, bucket, "bad.csv", b"1\nx\n")
    run(conn, f"CREATE TABLE {table} (id INTEGER)")
    conn.commit()
    run(conn, f"COPY {table} FROM 's3://{bucket}/good.csv' {ROLE} CSV")
    first_id, count = run(conn, "SELECT pg_last_copy_id(), pg_last_copy_count()")[0]
    assert first_id > 0 and count == 3
    conn.rollback()  # the bookkeeping is not transactional, as on Redshift
    assert run(conn, "SELECT pg_last_copy_id(), pg_last_copy_count()") == [[first_id, 3]]
    with pytest.raises(ProgrammingError):
        run(conn, f"COPY {table} FROM 's3://{bucket}/bad.csv' {ROLE} CSV")
    conn.rollback()
    second_id, count = run(conn, "SELECT pg_last_copy_id(), pg_last_copy_count()")[0]
    assert second_id > first_id and count == 0
    # A syntax error does not begin a COPY: the last COPY id stays.
    with pytest.raises(ProgrammingError):
        run(conn, f"COPY {table} FROM 's3://{bucket}/good.csv' CSV")
    conn.rollback()
    assert run(conn, "SELECT pg_last_copy_id()") == [[second_id]]
    # Another session has its own.
    assert run(connect(), "SELECT pg_last_copy_id(), pg_last_copy_count()") == [[-1, 0]]


# --- 6. types, LOCK, catalogs ------------------------------------------------------------------------------


def test_redshift_types_accepted_and_others_refused(conn: Any, table: str) -> None:
    run(
        conn,
        f"CREATE TABLE {table} (a SUPER, b VARCHAR(65535), c TIMESTAMPTZ, d TIMESTAMP, e DATE, "
        "f DECIMAL(38,10), g DOUBLE PRECISION, h REAL, i BOOLEAN, j SMALLINT, k INTEGER, l BIGINT, "
        "m CHAR(10), n TEXT, o VARCHAR, p NUMERIC)",
    )
    conn.commit()
    types = run(
        conn,
        "SELECT column_name, data_type, character_maximum_length, numeric_precision, numeric_scale "
        "FROM information_schema.columns WHERE table_name = %s ORDER BY ordinal_position",
        (table,),
    )
    assert types[1] == ["b", "character varying", 65535, None, None]
    assert types[5] == ["f", "numeric", None, 38, 10]
    # As on Redshift: TEXT and VARCHAR are VARCHAR(256), NUMERIC is NUMERIC(18,0).
    assert types[13][2] == 256 and types[14][2] == 256 and types[15][3:] == [18, 0]
    assert run(
        conn,
        "SELECT format_type(atttypid, atttypmod) FROM pg_catalog.pg_attribute "
        "WHERE attrelid = %s::regclass AND attname = 'a'",
        (table,),
    ) == [["super"]]
    run(conn, f"INSERT INTO {table} (a) VALUES (%s)", ('{"x": 1}',))
    run(conn, f"LOCK {table}")
    conn.commit()
    for bad, message in (
        ("JSONB", "unsupported type"),
        ("VARCHAR(65536)", "cannot exceed 65535"),
        ("DECIMAL(39,2)", "must be between 1 and 38"),
        ("INTEGER[]", "unsupported type"),
        ("UUID", "unsupported type"),
    ):
        with pytest.raises(ProgrammingError) as excinfo:
            run(conn, f"CREATE TABLE {table}_bad (x {bad})")
        assert message in server_error(excinfo)["M"]
        conn.rollback()


def test_parquet_load_error_names_the_record(conn: Any, s3: Any, bucket: str, table: str) -> None:
    """Values with newlines before the bad record must not shift the reported line."""
    names = ["a\nb", "c\r\nd", "e", "f\n\ng", None, "h"]
    put(
        s3,
        bucket,
        "p/part-0.parquet",
        parquet_bytes(pa.table({"id": pa.array([1, 2], pa.int32()), "name": pa.array(["x\ny", "z"])})),
    )
    put(
        s3,
        bucket,
        "p/part-1.parquet",
        parquet_bytes(pa.table({"id": pa.array(range(6), pa.int32()), "name": pa.array(names)})),
    )
    run(conn, f"CREATE TABLE {table} (id INTEGER, name VARCHAR(5) NOT NULL)")
    conn.commit()
    with pytest.raises(ProgrammingError) as excinfo:
        run(conn, f"COPY {table} FROM 's3://{bucket}/p/' {ROLE} FORMAT AS PARQUET")
    assert server_error(excinfo)["M"] == LOAD_FAILED.format(table)
    conn.rollback()
    assert [(r[0].rstrip(), r[1], r[2].rstrip()) for r in load_errors(conn)] == [
        (f"s3://{bucket}/p/part-1.parquet", 5, "name")
    ]


# --- 7. sessions reading a table that another session swaps ---------------------------------------


def test_a_reading_session_keeps_its_table_while_another_renames_and_drops_it(
    connect: Callable[..., Any], table: str
) -> None:
    """A session in a transaction that has read a table keeps reading it: ALTER TABLE RENAME and
    DROP TABLE of it (which need the table to themselves) wait for that transaction to end,
    they do not fail it. Redshift documents the same locks (AccessShareLock for reads,
    AccessExclusiveLock for RENAME and DROP); dropAndLoad relies on the waiting."""
    admin = connect()
    admin.autocommit = True
    run(admin, f"CREATE TABLE {table} (id INTEGER)")
    run(admin, f"INSERT INTO {table} VALUES (1), (2)")
    reader = connect()  # autocommit off: a transaction from the first statement
    assert run(reader, f"SELECT id FROM {table} ORDER BY id") == [[1], [2]]
    swapper = connect()
    swapped: list[object] = []

    def swap() -> None:
        try:
            run(swapper, f"ALTER TABLE {table} RENAME TO {table}_old")
            run(swapper, f"CREATE TABLE {table} (id INTEGER)")
            run(swapper, f"INSERT INTO {table} VALUES (3)")
            swapper.commit()
            run(swapper, f"DROP TABLE {table}_old")
            swapper.commit()
            swapped.append("done")
        except Exception as exc:  # reported by the assertion below
            swapped.append(exc)

    worker = threading.Thread(target=swap)
    worker.start()
    worker.join(1.0)
    assert worker.is_alive() and not swapped, f"the RENAME did not wait for the reader: {swapped}"
    assert run(admin, "SELECT COUNT(*) FROM pg_locks WHERE NOT granted") == [[1]]
    assert run(reader, f"SELECT id FROM {table} ORDER BY id") == [[1], [2]], "the reader keeps its rows"
    reader.commit()
    worker.join(10.0)
    assert swapped == ["done"]
    assert run(reader, f"SELECT id FROM {table}") == [[3]]
    reader.commit()


# --- 8. serializable isolation violations (error 1023), on demand ---------------------------------


def test_serializable_violation_on_demand_fails_the_next_commits_as_redshift_does(
    connect: Callable[..., Any], table: str
) -> None:
    """After a test asks for 2 violations on a table, the next 2 COMMITs of transactions that
    wrote it fail as Redshift's do (XX000, "1023", "Serializable isolation violation on table
    - <id>, ...") and roll back; the third commits. Transactions on other tables commit."""
    admin = connect()
    admin.autocommit = True
    run(admin, f"CREATE TABLE {table} (id INTEGER)")
    run(admin, f"CREATE TABLE {table}_other (id INTEGER)")
    (schema,) = run(admin, "SELECT current_schema()")[0]
    oid = run(admin, f"SELECT '{table}'::regclass::oid::integer")[0][0]
    marker = "redshift_standin.serializable_violations"
    run(admin, f"INSERT INTO {marker} VALUES (%s, %s, 2)", (schema, table))
    try:
        writer = connect()
        for attempt in (1, 2):
            run(writer, f"INSERT INTO {table} VALUES ({attempt})")
            run(writer, f"INSERT INTO {table}_other VALUES ({attempt})")
            with pytest.raises(ProgrammingError) as excinfo:
                writer.commit()
            fields = server_error(excinfo)
            assert (fields["C"], fields["M"]) == ("XX000", "1023")
            assert fields["D"].startswith(f"Serializable isolation violation on table - {oid}, ")
            assert run(admin, f"SELECT COUNT(*) FROM {table}") == [[0]], "rolled back"
            assert run(admin, f"SELECT COUNT(*) FROM {table}_other") == [[0]], "all of it rolled back"
        run(writer, f"INSERT INTO {table}_other VALUES (9)")
        writer.commit()  # another table: not asked for
        run(writer, f"INSERT INTO {table} VALUES (3)")
        writer.commit()
        assert run(admin, f"SELECT id FROM {table}") == [[3]]
        assert run(admin, f"SELECT remaining FROM {marker} WHERE table_name = %s", (table,)) == [[0]]
    finally:
        run(admin, f"DELETE FROM {marker} WHERE table_name = %s", (table,))


# --- 9. grants and owners -------------------------------------------------------------------------


def test_grants_are_read_from_relacl_and_follow_a_renamed_table(conn: Any, table: str) -> None:
    """What the publisher reads and writes of grants: GRANT ... TO user / GROUP g / PUBLIC,
    relacl as text through array_to_string, pg_get_userbyid, pg_group, pg_user.usesuper; a
    table keeps its grants when renamed (they belong to the table, not its name), as on
    Redshift. Differences: PostgreSQL writes a group without Redshift's `group ` prefix (the
    publisher looks the name up in pg_group), and its letters beyond r, a, w, d, x differ."""
    conn.autocommit = True
    run(conn, f"CREATE TABLE {table} (id INTEGER)")
    run(conn, f"GRANT SELECT ON {table} TO standin_alice")
    run(conn, f"GRANT SELECT, UPDATE ON {table} TO GROUP standin_readers")
    run(conn, f"GRANT SELECT ON {table} TO PUBLIC")
    run(conn, f"ALTER TABLE {table} RENAME TO {table}_renamed")
    rows = run(
        conn,
        "SELECT pg_get_userbyid(c.relowner), array_to_string(c.relacl, ',') FROM pg_catalog.pg_class c "
        "WHERE c.relname = %s",
        (f"{table}_renamed",),
    )
    assert rows == [
        ["publisher", "publisher=arwdDxt/publisher,standin_alice=r/publisher,standin_readers=rw/publisher,=r/publisher"]
    ]
    groups = {r[0] for r in run(conn, "SELECT groname FROM pg_catalog.pg_group")}
    assert "standin_readers" in groups and "standin_alice" not in groups
    assert run(conn, "SELECT usesuper FROM pg_catalog.pg_user WHERE usename = current_user") == [[False]]


# --- 10. distribution and sort keys --------------------------------------------------------------

KEYS_SQL = (
    "SELECT c.reldiststyle, a.attname, a.attisdistkey, a.attsortkeyord FROM pg_class_info c "
    "LEFT JOIN pg_attribute_info a ON a.attrelid = c.reloid AND a.attnum > 0 AND NOT a.attisdropped "
    "AND (a.attisdistkey OR a.attsortkeyord > 0) WHERE c.relname = %s ORDER BY a.attsortkeyord, a.attname"
)


def test_create_table_keeps_dist_and_sort_keys_in_the_catalog_across_a_rename(conn: Any, table: str) -> None:
    """CREATE TABLE ... DISTSTYLE KEY DISTKEY (c) SORTKEY (a, b) runs (PostgreSQL never sees
    the keys), and pg_class_info / pg_attribute_info report them as Redshift's do, also after
    ALTER TABLE RENAME; a rolled back CREATE leaves no keys; a table without keys is AUTO (10)."""
    conn.autocommit = True
    run(conn, f'CREATE TABLE {table} (a INTEGER, "B" INTEGER, c INTEGER) DISTSTYLE KEY DISTKEY (c) SORTKEY (a, "B")')
    run(conn, f"ALTER TABLE {table} RENAME TO {table}_r")
    # "B" is b: quoted names fold as on Redshift (enable_case_sensitive_identifier is off).
    assert run(conn, KEYS_SQL, (f"{table}_r",)) == [[1, "c", True, 0], [1, "a", False, 1], [1, "b", False, 2]]
    run(conn, f"CREATE TABLE {table}_all (a INTEGER) DISTSTYLE ALL COMPOUND SORTKEY (a)")
    assert run(conn, KEYS_SQL, (f"{table}_all",)) == [[8, "a", False, 1]]
    run(conn, f"CREATE TABLE {table}_plain (a INTEGER)")
    assert run(conn, KEYS_SQL, (f"{table}_plain",)) == [[10, None, None, None]]
    conn.autocommit = False
    run(conn, f"CREATE TABLE {table}_gone (a INTEGER) DISTSTYLE EVEN")
    conn.rollback()
    assert run(conn, "SELECT COUNT(*) FROM pg_class_info WHERE relname = %s", (f"{table}_gone",)) == [[0]]


@pytest.mark.parametrize(
    ("attributes", "message"),
    [
        ("DISTSTYLE EVEN DISTKEY (a)", "DISTKEY goes with DISTSTYLE KEY, not EVEN"),
        ("DISTSTYLE KEY", "DISTSTYLE KEY needs a DISTKEY column"),
        ("SORTKEY (nope)", 'column "nope" does not exist'),
        ("INTERLEAVED SORTKEY (a)", "the stand-in does not implement INTERLEAVED SORTKEY"),
    ],
)
def test_create_table_keys_refused(conn: Any, table: str, attributes: str, message: str) -> None:
    with pytest.raises(ProgrammingError) as excinfo:
        run(conn, f"CREATE TABLE {table} (a INTEGER) {attributes}")
    assert server_error(excinfo)["M"] == message
    conn.rollback()
    assert run(conn, "SELECT COUNT(*) FROM pg_class WHERE relname = %s", (table,)) == [[0]]


def test_create_table_as_with_keys_is_refused_not_mangled(conn: Any, table: str) -> None:
    with pytest.raises(ProgrammingError) as excinfo:
        run(conn, f"CREATE TABLE {table} DISTKEY (a) AS SELECT 1 AS a")
    assert server_error(excinfo)["M"].startswith("the stand-in implements keys only on CREATE TABLE name (columns)")


# --- 11. views bound to a table ------------------------------------------------------------------


def test_a_view_bound_to_a_table_blocks_its_drop_and_follows_its_rename(conn: Any, table: str) -> None:
    """As on Redshift: DROP TABLE fails while a (schema-bound) view depends on the table, and
    the catalog names the view (pg_depend, pg_rewrite: the publisher's DEPENDENT_VIEWS_SQL);
    a renamed table keeps its views (they are bound to it, not to its name)."""
    from publisher.engines.redshift import DEPENDENT_VIEWS_SQL

    conn.autocommit = True
    run(conn, f"CREATE TABLE {table} (id INTEGER)")
    run(conn, f"CREATE VIEW {table}_v AS SELECT id FROM {table}")
    (schema,) = run(conn, "SELECT current_schema()")[0]
    assert [table, schema, f"{table}_v"] in run(conn, DEPENDENT_VIEWS_SQL, (schema,))
    with pytest.raises(ProgrammingError) as excinfo:
        run(conn, f"DROP TABLE {table}")
    assert server_error(excinfo)["M"] == f"cannot drop table {table} because other objects depend on it"
    run(conn, f"ALTER TABLE {table} RENAME TO {table}_r")
    assert [f"{table}_r", schema, f"{table}_v"] in run(conn, DEPENDENT_VIEWS_SQL, (schema,))
    run(conn, f"DROP VIEW {table}_v")
    run(conn, f"DROP TABLE {table}_r")


# --- 12. column encodings, identity columns, comments, defaults, keys ----------------------------


def test_column_encodings_identity_and_definition_read_as_redshifts_catalog_shows_them(conn: Any, table: str) -> None:
    """CREATE TABLE with ENCODE per column and IDENTITY (seed, step) runs; the publisher's
    catalog queries read, as on Redshift: format_encoding(attencodingtype) from
    pg_attribute_info (the ENCODE given, else Redshift's assignment by type: RAW for a sort key
    column and BOOLEAN, AZ64 for numbers and dates, LZO for text), also after a rename; the
    identity column's default as "identity"(..., 'seed,step'); NOT NULL, a plain default,
    comments, keys, and a foreign key of another table to it (which blocks its DROP)."""
    from publisher.engines.redshift import (
        COLUMN_FACTS_SQL,
        CONSTRAINTS_SQL,
        ENCODINGS_SQL,
        IDENTITY_DEFAULT,
        REFERENCED_BY_SQL,
    )

    conn.autocommit = True
    run(
        conn,
        f"CREATE TABLE {table} (id BIGINT IDENTITY(5, 2), name VARCHAR(20) DEFAULT 'x' ENCODE zstd NOT NULL, "
        f"n INTEGER, flag BOOLEAN, day DATE, PRIMARY KEY (id), UNIQUE (name, n)) SORTKEY (n)",
    )
    run(conn, f"COMMENT ON TABLE {table} IS 'the table''s'")
    run(conn, f"COMMENT ON COLUMN {table}.name IS 'a name'")
    run(conn, f"ALTER TABLE {table} RENAME TO {table}_r")
    run(conn, f"CREATE TABLE {table}_ref (k BIGINT REFERENCES {table}_r (id))")
    (schema,) = run(conn, "SELECT current_schema()")[0]
    encodings = {r[1]: r[2] for r in run(conn, ENCODINGS_SQL, (schema,)) if r[0] == f"{table}_r"}
    assert encodings == {"id": "az64", "name": "zstd", "n": "none", "flag": "none", "day": "az64"}
    facts = [r for r in run(conn, COLUMN_FACTS_SQL, (schema, schema)) if r[0] == f"{table}_r"]
    assert [r[2:] for r in facts[:3]] == [
        [None, False, None, "the table's"],
        ["id", True, facts[1][4], None],
        ["name", True, "'x'::character varying", "a name"],
    ]
    identity = IDENTITY_DEFAULT.match(facts[1][4])
    assert identity is not None and identity.groups() == ("5", "2"), facts[1][4]
    keys = {(r[1], r[2], r[5]) for r in run(conn, CONSTRAINTS_SQL, (schema,)) if r[0] == f"{table}_r"}
    assert {(k, c) for _, k, c in keys} == {("p", "id"), ("u", "name"), ("u", "n")}
    assert [f"{table}_r", schema, f"{table}_ref"] in [r[:3] for r in run(conn, REFERENCED_BY_SQL, (schema,))]
    run(conn, f"INSERT INTO {table}_r (name) VALUES ('a')")
    run(conn, f"INSERT INTO {table}_r (name) VALUES ('b')")
    ids = [r[0] for r in run(conn, f"SELECT id FROM {table}_r ORDER BY id")]
    assert ids[1] > ids[0]  # generated, increasing (the stand-in's values are not 5, 7, ...)
    with pytest.raises(ProgrammingError) as excinfo:
        run(conn, f"DROP TABLE {table}_r")
    assert "because other objects depend on it" in server_error(excinfo)["M"]


@pytest.mark.parametrize(
    ("column", "message"),
    [
        ("a VARCHAR(10) ENCODE az64", 'invalid encoding type specified for column "a"'),
        ("a INTEGER ENCODE text255", 'invalid encoding type specified for column "a"'),
        ("a INTEGER ENCODE snappy", 'invalid encoding type specified for column "a" (snappy)'),
        ("a INTEGER IDENTITY(1)", "the stand-in implements IDENTITY (seed, step) with two integers only"),
    ],
)
def test_column_encodings_redshift_refuses_are_refused(conn: Any, table: str, column: str, message: str) -> None:
    with pytest.raises(ProgrammingError) as excinfo:
        run(conn, f"CREATE TABLE {table} ({column})")
    assert server_error(excinfo)["M"] == message
    conn.rollback()
    assert run(conn, "SELECT COUNT(*) FROM pg_class WHERE relname = %s", (table,)) == [[0]]


def test_stv_slices_shows_a_regular_user_the_configured_slices(conn: Any) -> None:
    """The publisher counts the cluster's slices (SLICES_SQL) as a user that is no superuser:
    STV_SLICES has Redshift's columns, a row per slice, as many as the start script was given
    (PUBLISHER_REDSHIFT_SLICES, written to env.sh as PUBLISHER_TEST_REDSHIFT_SLICES), and is read-only."""
    slices = int(os.environ.get("PUBLISHER_TEST_REDSHIFT_SLICES", "4"))  # the start script's default
    assert run(conn, "SELECT usesuper FROM pg_catalog.pg_user WHERE usename = current_user") == [[False]]
    assert run(conn, SLICES_SQL) == [[slices]]
    cursor = conn.cursor()
    cursor.execute("SELECT * FROM stv_slices ORDER BY slice")
    assert [d[0] for d in cursor.description] == ["node", "slice", "localslice", "type"]
    assert [row[1] for row in cursor.fetchall()] == list(range(slices))
    with pytest.raises(ProgrammingError):
        run(conn, "DELETE FROM stv_slices")


# --- 13. late-binding views (CREATE VIEW ... WITH NO SCHEMA BINDING) ------------------------------
# AWS, Amazon Redshift Database Developer Guide, "CREATE VIEW": WITH NO SCHEMA BINDING and Usage
# notes, "Late-binding views"; "PG_GET_LATE_BINDING_VIEW_COLS".

LATE_BINDING_COLS_SQL = (
    "SELECT * FROM pg_get_late_binding_view_cols() cols(view_schema name, view_name name, col_name name, "
    "col_type varchar, col_num int) WHERE view_name = %s ORDER BY col_num"
)


def test_a_late_binding_view_keeps_its_sql_and_depends_on_nothing(conn: Any, table: str) -> None:
    """AWS, "CREATE VIEW", WITH NO SCHEMA BINDING: "there is no dependency between the view and
    the objects it references": no pg_depend row names the table (the publisher's
    DEPENDENT_VIEWS_SQL and bound_views() find none); the view keeps its SQL (pg_views.definition,
    with WITH NO SCHEMA BINDING, as Redshift's shows it); PG_GET_LATE_BINDING_VIEW_COLS lists its
    columns (schema, view, column, type, number), alone as a record or with a column list."""
    from publisher.dialects import dialect_for
    from publisher.engines.redshift import DEPENDENT_VIEWS_SQL
    from publisher.model.relation import Relation

    conn.autocommit = True
    (schema,) = run(conn, "SELECT current_schema()")[0]
    run(conn, f"CREATE TABLE {table} (id INTEGER, name VARCHAR(10))")
    run(conn, f"INSERT INTO {table} VALUES (1, 'a'), (2, 'b')")
    run(conn, f"CREATE VIEW {table}_v AS SELECT id, name FROM {schema}.{table} WHERE id > 0 WITH NO SCHEMA BINDING")
    assert run(conn, f"SELECT id, name FROM {table}_v ORDER BY id") == [[1, "a"], [2, "b"]]
    assert [r for r in run(conn, DEPENDENT_VIEWS_SQL, (schema,)) if r[0] == table] == []
    bound = dialect_for("redshift").bound_views(Relation("dev", schema, table))
    assert run(conn, bound) == [[0]]
    (definition,) = run(conn, "SELECT definition FROM pg_views WHERE viewname = %s", (f"{table}_v",))[0]
    assert f"SELECT id, name FROM {schema}.{table} WHERE id > 0 WITH NO SCHEMA BINDING" in definition
    assert run(conn, LATE_BINDING_COLS_SQL, (f"{table}_v",)) == [
        [schema, f"{table}_v", "id", "integer", 1],
        [schema, f"{table}_v", "name", "character varying(10)", 2],
    ]
    records = [r[0] for r in run(conn, "SELECT pg_get_late_binding_view_cols()")]
    assert f'({schema},{table}_v,name,"character varying(10)",2)' in records
    run(conn, f"CREATE VIEW {table}_bound AS SELECT id FROM {table}")
    assert run(conn, LATE_BINDING_COLS_SQL, (f"{table}_bound",)) == [], "a bound view is not late-binding"
    run(conn, f"CREATE VIEW {table}_named (k) AS (SELECT id FROM {schema}.{table}) WITH NO SCHEMA BINDING")
    assert run(conn, f"SELECT k FROM {table}_named ORDER BY k") == [[1], [2]]


def test_a_late_binding_view_outlives_its_table_and_reads_the_one_named_so_at_each_query(conn: Any, table: str) -> None:
    """AWS, "CREATE VIEW", Usage notes: "you can alter or drop the underlying objects without
    dropping and recreating the view"; "If you drop underlying objects, queries to the
    late-binding view will fail". RENAME and DROP of the table run; the view fails while no
    table has the name, and reads the table that has it afterwards."""
    conn.autocommit = True
    (schema,) = run(conn, "SELECT current_schema()")[0]
    run(conn, f"CREATE TABLE {table} (id INTEGER)")
    run(conn, f"INSERT INTO {table} VALUES (1)")
    run(conn, f"CREATE VIEW {table}_v AS SELECT id FROM {schema}.{table} WITH NO SCHEMA BINDING")
    run(conn, f"ALTER TABLE {table} RENAME TO {table}_old")
    with pytest.raises(ProgrammingError) as excinfo:
        run(conn, f"SELECT id FROM {table}_v")
    assert server_error(excinfo)["C"] == "42P01"
    assert f'relation "{schema}.{table}" does not exist' in server_error(excinfo)["M"]
    run(conn, f"CREATE TABLE {table} (id INTEGER)")
    run(conn, f"INSERT INTO {table} VALUES (7), (8)")
    assert run(conn, f"SELECT id FROM {table}_v ORDER BY id") == [[7], [8]]
    run(conn, f"DROP TABLE {table}_old")
    run(conn, f"DROP TABLE {table}")
    with pytest.raises(ProgrammingError):
        run(conn, f"SELECT id FROM {table}_v")
    run(conn, f"CREATE TABLE {table} (id INTEGER)")
    assert run(conn, f"SELECT COUNT(*) FROM {table}_v") == [[0]]


def test_a_late_binding_view_names_only_schema_qualified_relations(conn: Any, table: str) -> None:
    """AWS, "CREATE VIEW", WITH NO SCHEMA BINDING: "tables and views referenced in the SELECT
    statement must be qualified with a schema name" (its example of an error: FROM event)."""
    run(conn, f"CREATE TABLE {table} (id INTEGER)")
    conn.commit()
    with pytest.raises(ProgrammingError) as excinfo:
        run(conn, f"CREATE VIEW {table}_v AS SELECT id FROM {table} WITH NO SCHEMA BINDING")
    assert "must be qualified with a schema name" in server_error(excinfo)["M"]
    conn.rollback()
    assert run(conn, "SELECT COUNT(*) FROM pg_class WHERE relname = %s", (f"{table}_v",)) == [[0]]


def test_a_reader_of_a_late_binding_view_waits_for_a_swap_and_reads_the_new_table(
    connect: Callable[..., Any], table: str
) -> None:
    """A table swapped in one transaction (renamed aside, a new one made and filled under its
    name, COMMIT): a query of a late-binding view on it, made meanwhile, waits for the COMMIT
    and answers with the new table's rows, without an error. Redshift runs the swap as one
    transaction that readers see whole (AWS, "Managing concurrent write operations": serializable
    isolation); the locks are those of test 7."""
    admin = connect()
    admin.autocommit = True
    (schema,) = run(admin, "SELECT current_schema()")[0]
    run(admin, f"CREATE TABLE {table} (id INTEGER)")
    run(admin, f"INSERT INTO {table} VALUES (1), (2)")
    run(admin, f"CREATE VIEW {table}_v AS SELECT id FROM {schema}.{table} WITH NO SCHEMA BINDING")
    swapper = connect()
    run(swapper, f"ALTER TABLE {table} RENAME TO {table}_old")
    run(swapper, f"CREATE TABLE {table} (id INTEGER)")
    run(swapper, f"INSERT INTO {table} VALUES (3), (4), (5)")
    reader = connect()
    reader.autocommit = True
    seen: list[object] = []

    def read() -> None:
        try:
            seen.append(run(reader, f"SELECT id FROM {table}_v ORDER BY id"))
        except Exception as exc:  # reported by the assertion below
            seen.append(exc)

    worker = threading.Thread(target=read)
    worker.start()
    worker.join(1.0)
    assert worker.is_alive() and not seen, f"the reader did not wait for the swap: {seen}"
    swapper.commit()
    worker.join(10.0)
    assert seen == [[[3], [4], [5]]]


# --- 14. roles: GRANT ... TO ROLE, svv_relation_privileges, svv_roles, svv_user_grants ------------
# PostgreSQL roles stand in for Redshift's roles (bootstrap.sql: standin_analysts, of which the
# publisher's user is a member, and standin_auditors, of which it is not).

RELATION_PRIVILEGES_SQL = (
    "SELECT privilege_type, identity_name, identity_type, admin_option FROM svv_relation_privileges "
    "WHERE namespace_name = current_schema() AND relation_name = %s ORDER BY identity_name, privilege_type"
)


def column_types(conn: Any, view: str) -> list[tuple[str, str]]:
    rows = run(
        conn,
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = %s ORDER BY ordinal_position",
        (view,),
    )
    return [(r[0], r[1]) for r in rows]


def test_system_views_of_roles_have_the_columns_aws_documents(conn: Any) -> None:
    """AWS, "SVV_RELATION_PRIVILEGES", "SVV_ROLES" and "SVV_USER_GRANTS": their columns, in
    order, with their types (text, integer, boolean); svv_roles lists every role, svv_user_grants
    a regular user's own roles only."""
    assert column_types(conn, "svv_relation_privileges") == [
        ("namespace_name", "text"),
        ("relation_name", "text"),
        ("privilege_type", "text"),
        ("identity_id", "integer"),
        ("identity_name", "text"),
        ("identity_type", "text"),
        ("admin_option", "boolean"),
    ]
    assert column_types(conn, "svv_roles") == [
        ("role_id", "integer"),
        ("role_name", "text"),
        ("role_owner", "text"),
        ("external_id", "text"),
    ]
    assert column_types(conn, "svv_user_grants") == [
        ("user_id", "integer"),
        ("user_name", "text"),
        ("role_id", "integer"),
        ("role_name", "text"),
        ("admin_option", "boolean"),
    ]
    roles = run(conn, "SELECT role_name FROM svv_roles WHERE role_name LIKE 'standin_%%' ORDER BY 1")
    assert roles == [["standin_analysts"], ["standin_auditors"]]
    assert run(conn, "SELECT user_name, role_name, admin_option FROM svv_user_grants") == [
        ["publisher", "standin_analysts", False]
    ]


def test_grants_to_roles_show_in_svv_relation_privileges_as_aws_documents(conn: Any, table: str) -> None:
    """GRANT ... TO ROLE r and REVOKE ... FROM ROLE r run (AWS, "GRANT", "REVOKE"); AWS,
    "SVV_RELATION_PRIVILEGES": one row per privilege and identity, identity_type user, role,
    group or public, admin_option false for roles; "Regular users can only see identities to
    which they have access": the publisher's user sees its role and PUBLIC, not the role it is
    no member of, another user or a group. The owner's own privileges are no row."""
    conn.autocommit = True
    run(conn, f"CREATE TABLE {table} (id INTEGER)")
    run(conn, f"GRANT SELECT, UPDATE ON {table} TO ROLE standin_analysts")
    run(conn, f"GRANT SELECT ON TABLE {table} TO ROLE standin_auditors, standin_alice")
    run(conn, f"GRANT SELECT ON {table} TO GROUP standin_readers")
    run(conn, f"GRANT SELECT ON {table} TO PUBLIC")
    assert run(conn, RELATION_PRIVILEGES_SQL, (table,)) == [
        ["SELECT", "public", "public", False],
        ["SELECT", "standin_analysts", "role", False],
        ["UPDATE", "standin_analysts", "role", False],
    ]
    run(conn, f"REVOKE UPDATE ON {table} FROM ROLE standin_analysts")
    assert run(conn, RELATION_PRIVILEGES_SQL, (table,)) == [
        ["SELECT", "public", "public", False],
        ["SELECT", "standin_analysts", "role", False],
    ]
    (acl,) = run(conn, "SELECT array_to_string(relacl, ',') FROM pg_class WHERE relname = %s", (table,))[0]
    assert "standin_auditors=r/publisher" in acl and "standin_alice=r/publisher" in acl  # PostgreSQL's own record


# --- identifier case (AWS: r_enable_case_sensitive_identifier.html) ---------------------------


def _columns_of(conn: Any, table_like: str) -> list[tuple[str, str]]:
    """(table, column) names as the catalog holds them, for tables whose name starts so."""
    rows = run(
        conn,
        "SELECT c.relname, a.attname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_attribute a"
        " ON a.attrelid = c.oid AND a.attnum > 0 WHERE lower(c.relname) LIKE %s ORDER BY 1, 2",
        (table_like.lower() + "%",),
    )
    return [(str(r[0]), str(r[1])) for r in rows]


def test_quoted_identifiers_fold_to_lower_case_by_default(conn: Any, table: str) -> None:
    """As AWS's example: "MixedCasedTable2" is mixedcasedtable2, so the unquoted CREATE of the same
    name finds it there; result columns come back folded too."""
    conn.autocommit = True
    assert run(conn, "SHOW enable_case_sensitive_identifier") == [["off"]]
    run(conn, f'CREATE TABLE "{table}_Mixed" ("MixedCol" INT, "Größe" INT)')
    with pytest.raises(ProgrammingError) as excinfo:
        run(conn, f"CREATE TABLE {table}_Mixed (MixedCol INT)")
    assert server_error(excinfo)["C"] == "42P07"  # already exists: one table, folded
    run(conn, f'INSERT INTO "{table}_MIXED" ("MIXEDCOL") VALUES (7)')
    cursor = conn.cursor()
    cursor.execute(f'SELECT "MixedCol" AS "ShownAs", \'"Quoted" In A String\' FROM "{table}_mixed"')
    assert [d[0] for d in cursor.description][0] == "shownas"
    assert cursor.fetchall() == ([7, '"Quoted" In A String'],) or [list(r) for r in cursor.fetchall()] == []
    # ASCII letters fold, others are kept (Größe keeps its ß, loses its G).
    assert _columns_of(conn, f"{table}_mixed") == [(f"{table}_mixed", "größe"), (f"{table}_mixed", "mixedcol")]


def test_case_sensitive_session_keeps_quoted_case(conn: Any, table: str) -> None:
    """SET enable_case_sensitive_identifier TO true: quoted names keep their case, unquoted ones
    still fold (a second table), and RESET folds again."""
    conn.autocommit = True
    run(conn, "SET enable_case_sensitive_identifier TO true")
    assert run(conn, "SHOW enable_case_sensitive_identifier") == [["on"]]
    run(conn, f'CREATE TABLE "{table}_Mixed" ("MixedCol" INT)')
    run(conn, f"CREATE TABLE {table}_Mixed (MixedCol INT)")  # unquoted: another table, mixed
    run(conn, f'INSERT INTO "{table}_Mixed" ("MixedCol") VALUES (1)')
    cursor = conn.cursor()
    cursor.execute(f'SELECT "MixedCol" FROM "{table}_Mixed"')
    assert cursor.description[0][0] == "MixedCol"
    with pytest.raises(ProgrammingError) as excinfo:
        run(conn, f'SELECT "mixedcol" FROM "{table}_Mixed"')
    assert server_error(excinfo)["C"] == "42703"
    assert _columns_of(conn, f"{table}_mixed") == [(f"{table}_Mixed", "MixedCol"), (f"{table}_mixed", "mixedcol")]
    run(conn, "RESET enable_case_sensitive_identifier")
    assert run(conn, "SHOW enable_case_sensitive_identifier") == [["off"]]
    assert run(conn, f'SELECT count(*) FROM "{table}_Mixed"') == [[0]]  # now mixed, the unquoted one's


def test_case_setting_follows_transactions_users_and_refuses_non_booleans(
    connect: Callable[..., Any], table: str
) -> None:
    """A SET rolled back is undone, SET LOCAL ends with its transaction, ALTER USER ... SET applies
    to the user's next sessions; a value other than a Boolean is refused, as a setting's is."""
    conn = connect()
    conn.autocommit = False
    run(conn, "SET enable_case_sensitive_identifier = 'on'")
    conn.rollback()
    assert run(conn, "SHOW enable_case_sensitive_identifier") == [["off"]]
    run(conn, "SET LOCAL enable_case_sensitive_identifier TO true")
    run(conn, f'CREATE TABLE "{table}_Local" (x INT)')
    conn.commit()
    assert run(conn, "SHOW enable_case_sensitive_identifier") == [["off"]]
    assert _columns_of(conn, f"{table}_local") == [(f"{table}_Local", "x")]
    with pytest.raises(ProgrammingError) as excinfo:
        run(conn, "SET enable_case_sensitive_identifier TO maybe")
    assert server_error(excinfo)["C"] == "22023"
    assert "requires a Boolean value" in server_error(excinfo)["M"]
    conn.rollback()
    conn.autocommit = True
    run(conn, "ALTER USER publisher SET enable_case_sensitive_identifier TO true")
    try:
        later = connect()
        assert run(later, "SHOW enable_case_sensitive_identifier") == [["on"]]
        later.autocommit = True
        run(later, f'CREATE TABLE "{table}_User" (x INT)')
        assert _columns_of(later, f"{table}_user") == [(f"{table}_User", "x")]
    finally:
        run(conn, "ALTER USER publisher RESET enable_case_sensitive_identifier")
    assert run(connect(), "SHOW enable_case_sensitive_identifier") == [["off"]]


def test_case_setting_in_a_simple_query_of_several_statements(endpoint: tuple[str, int, str, str], table: str) -> None:
    """Each statement folds under the setting the statements before it left."""
    host, port, password, _ = endpoint
    with psycopg.connect(
        host=host,
        port=port,
        dbname="dev",
        user="publisher",
        password=password,
        sslmode="disable",
        cursor_factory=psycopg.ClientCursor,
        autocommit=True,
    ) as pg:
        pg.execute(
            f'CREATE TABLE "{table}_A" (x INT); SET enable_case_sensitive_identifier TO true; '
            f'CREATE TABLE "{table}_B" (x INT); RESET enable_case_sensitive_identifier; '
            f'CREATE TABLE "{table}_C" (x INT)'
        )
        names = pg.execute("SELECT relname FROM pg_class WHERE lower(relname) LIKE %s ORDER BY 1", (table + "%",))
        assert [r[0] for r in names.fetchall()] == [f"{table}_B", f"{table}_a", f"{table}_c"]
