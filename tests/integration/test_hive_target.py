"""The Hive targets against real engines: the embedded one and a HiveServer2.

Every engine test runs twice, ``[embedded]`` and ``[server]`` (tests/fixtures/hive.py).
Besides the Target protocol, a few tests pin the engine behaviour the publisher's plans
rely on (docs/hive-research.md): staging tables read results in place and leave them
untouched, Avro fields match by name, and a table's location can be switched atomically.
"""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import secrets
import threading
from pathlib import Path
from typing import Any

import fastavro
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from publisher.dialects import dialect_for
from publisher.engines.hive_embedded import SHARED_CONFS, EmbeddedHive
from publisher.engines.hive_errors import HiveError
from publisher.engines.hiveserver2 import HiveServer
from publisher.model.errors import PublishFailed
from publisher.model.relation import Relation
from publisher.model.target import ColumnState, HiveTable, Target
from tests.fixtures.hive import server_address
from tests.fixtures.hive4 import local_path

pytestmark = pytest.mark.hive

ALL_TYPES = (
    "`id` BIGINT, `qty` INT, `amount` DOUBLE, `name` STRING, `flag` BOOLEAN, `d` DATE,"
    " `ts` TIMESTAMP, `price` DECIMAL(10,2), `tags` ARRAY<STRING>,"
    " `attrs` STRUCT<`a`: INT, `b`: STRING>, `props` MAP<STRING, BIGINT>"
)
ALL_TYPES_STATE = (
    ColumnState("id", "bigint"),
    ColumnState("qty", "int"),
    ColumnState("amount", "double"),
    ColumnState("name", "string"),
    ColumnState("flag", "boolean"),
    ColumnState("d", "date"),
    ColumnState("ts", "timestamp"),
    ColumnState("price", "decimal(10,2)"),
    ColumnState("tags", "array<string>"),
    ColumnState("attrs", "struct<a:int,b:string>"),
    ColumnState("props", "map<string,bigint>"),
)
RESULT_COLUMNS = (
    "`id` BIGINT, `amount` DOUBLE, `name` STRING, `flag` BOOLEAN, `d` DATE, `ts` TIMESTAMP,"
    " `price` DECIMAL(10,2), `tags` ARRAY<STRING>, `attrs` STRUCT<`a`: INT, `b`: STRING>"
)


def rel(database: str, name: str) -> Relation:
    return Relation(database, None, name)


def one(target: Target, sql: str) -> Any:
    (row,) = target.fetch(sql)
    return row[0]


# --------------------------------------------------------------------- result folders


def result_rows(start: int, count: int) -> list[dict[str, Any]]:
    return [
        {
            "id": i,
            "amount": i * 1.5,
            "name": None if i % 7 == 0 else f"name{i}",
            "flag": i % 2 == 0,
            "d": dt.date(2026, 1, 1) + dt.timedelta(days=i % 300),
            "ts": dt.datetime(2026, 11, 28, 12, 30) + dt.timedelta(seconds=i, milliseconds=123),
            "price": decimal.Decimal(i) / 100,
            "tags": [f"t{i}", "x"] if i % 5 else [],
            "attrs": {"a": i % 10, "b": f"b{i}"},
        }
        for i in range(start, start + count)
    ]


def add_hadoop_markers(folder: Path) -> None:
    """What a job leaves beside its part files; an engine must not read them."""
    (folder / "_SUCCESS").write_bytes(b"")
    (folder / ".part-00000.crc").write_bytes(b"\x00not a data file")


def write_parquet_result(folder: Path, parts: int, per_part: int) -> int:
    folder.mkdir(parents=True)
    schema = pa.schema(
        [
            ("id", pa.int64()),
            ("amount", pa.float64()),
            ("name", pa.string()),
            ("flag", pa.bool_()),
            ("d", pa.date32()),
            ("ts", pa.timestamp("us")),  # pyarrow's default: INT64 micros
            ("price", pa.decimal128(10, 2)),
            ("tags", pa.list_(pa.string())),
            ("attrs", pa.struct([("a", pa.int32()), ("b", pa.string())])),
        ]
    )
    for part in range(parts):
        table = pa.Table.from_pylist(result_rows(part * per_part, per_part), schema=schema)
        pq.write_table(table, folder / f"part-{part:05d}.parquet")
    add_hadoop_markers(folder)
    return parts * per_part


AVRO_SCHEMA = {
    "type": "record",
    "name": "topLevelRecord",
    # Fields in another order than the table's columns: AvroSerDe matches by name.
    "fields": [
        {"name": "attrs", "type": {"type": "record", "name": "Attrs", "fields": [
            {"name": "a", "type": "int"}, {"name": "b", "type": ["null", "string"]}]}},
        {"name": "tags", "type": {"type": "array", "items": "string"}},
        {"name": "price", "type": {"type": "bytes", "logicalType": "decimal", "precision": 10, "scale": 2}},
        {"name": "ts", "type": {"type": "long", "logicalType": "timestamp-millis"}},
        {"name": "d", "type": {"type": "int", "logicalType": "date"}},
        {"name": "flag", "type": "boolean"},
        {"name": "name", "type": ["null", "string"]},
        {"name": "amount", "type": "double"},
        {"name": "id", "type": "long"},
    ],
}  # fmt: skip


def write_avro_result(folder: Path, parts: int, per_part: int) -> int:
    folder.mkdir(parents=True)
    schema = fastavro.parse_schema(AVRO_SCHEMA)
    for part in range(parts):
        records = result_rows(part * per_part, per_part)
        for record in records:
            record["ts"] = record["ts"].replace(tzinfo=dt.UTC)
        with open(folder / f"part-{part:05d}.avro", "wb") as out:
            fastavro.writer(out, schema, records)
    add_hadoop_markers(folder)
    return parts * per_part


def snapshot(folder: Path) -> dict[str, tuple[str, int]]:
    return {
        p.name: (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns) for p in sorted(folder.iterdir())
    }


# --------------------------------------------------------------------- Target protocol


def test_execute_and_fetch(hive_target: Target) -> None:
    assert hive_target.fetch("SELECT 1, 'a'") == [(1, "a")]
    hive_target.execute("SELECT 1")


def test_namespace_exists(hive_target: Target, hive_database: str) -> None:
    assert hive_target.namespace_exists(rel(hive_database, "t"))
    assert not hive_target.namespace_exists(rel(f"{hive_database}_missing", "t"))


def test_table_state_of_a_missing_table_or_database_is_none(hive_target: Target, hive_database: str) -> None:
    assert hive_target.table_state(rel(hive_database, "nope")) is None
    assert hive_target.table_state(rel(f"{hive_database}_missing", "nope")) is None


def test_table_state_reports_columns_and_types(hive_target: Target, hive_database: str) -> None:
    hive_target.execute(f"CREATE TABLE `{hive_database}`.`t` ({ALL_TYPES}) STORED AS PARQUET")
    state = hive_target.table_state(rel(hive_database, "t"))
    assert state is not None
    assert (state.columns, state.storage, state.of(HiveTable).managed) == (ALL_TYPES_STATE, "parquet", True)
    assert state.location is not None and state.location.path.endswith(f"/{hive_database}.db/t")
    assert hive_target.namespace_location(rel(hive_database, "t")) == state.location.parent


def test_external_tables_are_reported_as_not_managed(hive_target: Target, hive_database: str, tmp_path: Path) -> None:
    folder = tmp_path / "ext"
    folder.mkdir()
    hive_target.execute(
        f"CREATE EXTERNAL TABLE `{hive_database}`.`e` (a INT) STORED AS PARQUET LOCATION '{folder.as_uri()}'"
    )
    state = hive_target.table_state(rel(hive_database, "e"))
    assert state is not None and state.of(HiveTable).managed is False


def test_spark_keeps_a_dropped_external_tables_files_whatever_purge_says(
    hive_target: Target, hive_database: str, tmp_path: Path
) -> None:
    """Why the publisher's tables stay managed on Spark (dialects/hive.py, creates_external):
    its Hive 2.3 metastore ignores external.table.purge (a Hive 3 property), so a declared
    external twin's folder would outlive every swap; a managed table's goes with its DROP."""
    folder = tmp_path / "purged"
    hive_target.execute(
        f"CREATE EXTERNAL TABLE `{hive_database}`.`p` (a INT) STORED AS PARQUET LOCATION '{folder.as_uri()}' "
        "TBLPROPERTIES ('external.table.purge'='true')"
    )
    hive_target.execute(f"INSERT INTO `{hive_database}`.`p` VALUES (1)")
    hive_target.execute(f"CREATE TABLE `{hive_database}`.`m` (a INT) STORED AS PARQUET")
    hive_target.execute(f"INSERT INTO `{hive_database}`.`m` VALUES (1)")
    managed = hive_target.table_location(rel(hive_database, "m"))
    assert managed is not None
    hive_target.execute(f"DROP TABLE `{hive_database}`.`p`")
    hive_target.execute(f"DROP TABLE `{hive_database}`.`m`")
    assert [f for f in folder.iterdir() if f.suffix == ".parquet"], "Spark honoured purge: revisit creates_external"
    assert not local_path(managed).exists()


def test_table_state_lower_cases_names_and_types(hive_target: Target, hive_database: str) -> None:
    hive_target.execute(
        f"CREATE TABLE `{hive_database}`.`Mixed` (`OrderId` BIGINT, `Info` STRUCT<`Zip`: STRING>) STORED AS AVRO"
    )
    state = hive_target.table_state(rel(hive_database, "mixed"))
    assert state is not None
    assert state.columns == (ColumnState("orderid", "bigint"), ColumnState("info", "struct<zip:string>"))
    assert state.storage == "avro"


@pytest.mark.parametrize(
    ("stored_as", "storage"),
    [("PARQUET", "parquet"), ("AVRO", "avro"), ("TEXTFILE", "textfile"), ("ORC", "orc"),
     ("SEQUENCEFILE", "sequencefile")],
)  # fmt: skip
def test_table_state_reports_the_storage_format(
    hive_target: Target, hive_database: str, stored_as: str, storage: str
) -> None:
    hive_target.execute(f"CREATE TABLE `{hive_database}`.`t` (`a` INT) STORED AS {stored_as}")
    state = hive_target.table_state(rel(hive_database, "t"))
    assert state is not None and state.storage == storage


def test_table_state_of_an_external_staging_table(hive_target: Target, hive_database: str, tmp_path: Path) -> None:
    write_parquet_result(tmp_path / "r", 1, 3)
    hive_target.execute(
        f"CREATE EXTERNAL TABLE `{hive_database}`.`t__stage_20261128123000` ({RESULT_COLUMNS})"
        f" STORED AS PARQUET LOCATION '{(tmp_path / 'r').as_uri()}'"
    )
    state = hive_target.table_state(rel(hive_database, "t__stage_20261128123000"))
    assert state is not None and state.storage == "parquet"
    assert [c.name for c in state.columns] == ["id", "amount", "name", "flag", "d", "ts", "price", "tags", "attrs"]


def test_table_names(hive_target: Target, hive_database: str) -> None:
    assert hive_target.table_names(rel(hive_database, "x")) == set()
    hive_target.execute(f"CREATE TABLE `{hive_database}`.`a` (`x` INT) STORED AS PARQUET")
    hive_target.execute(f"CREATE TABLE `{hive_database}`.`B_2` (`x` INT) STORED AS AVRO")
    # Spark lists the session's temporary views in every database: they are not tables.
    hive_target.execute("CREATE OR REPLACE TEMPORARY VIEW `pubtest_view` AS SELECT 1 AS `x`")
    try:
        assert hive_target.table_names(rel(hive_database, "x")) == {"a", "b_2"}
    finally:
        hive_target.execute("DROP VIEW IF EXISTS `pubtest_view`")


def test_table_names_of_a_missing_database_is_empty(hive_target: Target, hive_database: str) -> None:
    assert hive_target.table_names(rel(f"{hive_database}_missing", "x")) == set()


def test_table_location(hive_target: Target, hive_database: str) -> None:
    assert isinstance(hive_target, EmbeddedHive | HiveServer)
    hive_target.execute(f"CREATE TABLE `{hive_database}`.`t` (`a` INT) STORED AS PARQUET")
    location = hive_target.table_location(rel(hive_database, "t"))
    assert location is not None and location.path.endswith(f"/{hive_database}.db/t")
    assert hive_target.table_location(rel(hive_database, "nope")) is None


# --------------------------------------------------------------------- errors


def test_a_missing_table_error_is_one_readable_line(hive_target: Target, hive_database: str) -> None:
    sql = f"SELECT * FROM `{hive_database}`.`nope`"
    with pytest.raises(HiveError) as caught:
        hive_target.fetch(sql)
    message = caught.value.message
    assert message.startswith(f"[TABLE_OR_VIEW_NOT_FOUND] The table or view `{hive_database}`.`nope` cannot be found")
    assert "\n" not in message and "org.apache" not in message and "Error running query" not in message
    assert caught.value.statement == sql
    assert isinstance(caught.value, PublishFailed)


def test_a_syntax_error_is_one_readable_line(hive_target: Target) -> None:
    with pytest.raises(HiveError) as caught:
        hive_target.execute("SELEC 1")
    assert caught.value.message.startswith("[PARSE_SYNTAX_ERROR] Syntax error at or near 'SELEC'")


def test_a_failed_task_reports_its_cause(hive_target: Target, hive_database: str, tmp_path: Path) -> None:
    # A runtime failure (in a Spark task, not at analysis): Avro double read as string.
    write_avro_result(tmp_path / "r", 1, 5)
    hive_target.execute(
        f"CREATE EXTERNAL TABLE `{hive_database}`.`s` (`amount` STRING)"
        f" STORED AS AVRO LOCATION '{(tmp_path / 'r').as_uri()}'"
    )
    with pytest.raises(HiveError) as caught:
        hive_target.fetch(f"SELECT * FROM `{hive_database}`.`s`")
    assert caught.value.message == "Found double, expecting union[null, string]"


def test_an_unreachable_server_is_a_readable_error() -> None:
    with pytest.raises(PublishFailed) as caught:
        HiveServer("127.0.0.1", 1, auth="LDAP", username="u", password="s3cret-value")
    message = str(caught.value)
    assert message.startswith("error: cannot connect to HiveServer2 at 127.0.0.1:1 (auth LDAP): ")
    assert "s3cret-value" not in message and "s3cret-value" not in repr(caught.value.__cause__)


def test_an_unknown_auth_mode_is_refused() -> None:
    with pytest.raises(PublishFailed, match="unsupported Hive auth 'BASIC'"):
        HiveServer("127.0.0.1", 1, auth="BASIC")


# --------------------------------------------------------------------- engine settings


def test_both_engines_run_with_the_shared_confs(hive_target: Target) -> None:
    for key, value in SHARED_CONFS.items():
        assert hive_target.fetch(f"SET {key}") == [(key, value)], key
    # Hive SerDes convert timestamps in the JVM's zone (SHARED_JAVA_OPTIONS).
    assert one(hive_target, "SELECT reflect('java.lang.System', 'getProperty', 'user.timezone')") == "UTC"


# --------------------------------------------------------------------- the SQL plans use


def test_parquet_staging_reads_every_part_and_leaves_the_files(
    hive_target: Target, hive_database: str, tmp_path: Path
) -> None:
    folder = tmp_path / "results"
    rows = write_parquet_result(folder, parts=3, per_part=40)
    before = snapshot(folder)
    stage = f"`{hive_database}`.`t__stage_20261128123000`"
    hive_target.execute(
        f"CREATE EXTERNAL TABLE {stage} ({RESULT_COLUMNS}) STORED AS PARQUET LOCATION '{folder.as_uri()}'"
    )
    assert one(hive_target, f"SELECT COUNT(*) FROM {stage}") == rows
    hive_target.execute(f"CREATE TABLE `{hive_database}`.`t` ({RESULT_COLUMNS}) STORED AS PARQUET")
    hive_target.execute(f"INSERT INTO TABLE `{hive_database}`.`t` SELECT * FROM {stage}")
    stats = hive_target.fetch(f"SELECT COUNT(*), SUM(`price`), MAX(`ts`), COUNT(`name`) FROM `{hive_database}`.`t`")
    assert stats == [(rows, decimal.Decimal("71.40"), dt.datetime(2026, 11, 28, 12, 31, 59, 123000), 102)]
    hive_target.execute(f"DROP TABLE {stage}")
    assert snapshot(folder) == before


def test_avro_staging_matches_fields_by_name(hive_target: Target, hive_database: str, tmp_path: Path) -> None:
    folder = tmp_path / "results"
    rows = write_avro_result(folder, parts=2, per_part=10)
    before = snapshot(folder)
    stage = f"`{hive_database}`.`t__stage_20261128123000`"
    hive_target.execute(f"CREATE EXTERNAL TABLE {stage} ({RESULT_COLUMNS}) STORED AS AVRO LOCATION '{folder.as_uri()}'")
    got = hive_target.fetch(
        f"SELECT COUNT(*), MIN(`id`), MAX(`ts`), SUM(`price`), MAX(`d`), COUNT(`name`), MAX(`attrs`.`b`) FROM {stage}"
    )
    (count, low, latest, total, last_day, named, attr) = got[0]
    assert (count, low, latest, total, named, attr) == (
        rows, 0, dt.datetime(2026, 11, 28, 12, 30, 19, 123000), decimal.Decimal("1.90"), 17, "b9"
    )  # fmt: skip
    assert str(last_day) == "2026-01-20"  # PyHive returns dates as text, pyspark as date
    hive_target.execute(f"DROP TABLE {stage}")
    assert snapshot(folder) == before


def test_set_location_switches_readers_from_old_rows_to_new_rows(
    hive_target: Target, hive_database: str, tmp_path: Path
) -> None:
    """The replace that readers never see empty (docs/hive-research.md, "Replacing")."""
    assert isinstance(hive_target, EmbeddedHive | HiveServer)
    db = f"`{hive_database}`"
    folder = tmp_path / "results"
    write_parquet_result(folder, parts=2, per_part=50)
    hive_target.execute(
        f"CREATE EXTERNAL TABLE {db}.`s` ({RESULT_COLUMNS}) STORED AS PARQUET LOCATION '{folder.as_uri()}'"
    )
    hive_target.execute(f"CREATE TABLE {db}.`t` ({RESULT_COLUMNS}) STORED AS PARQUET")
    hive_target.execute(f"INSERT INTO TABLE {db}.`t` SELECT * FROM {db}.`s` WHERE `id` < 30")
    hive_target.execute(f"CREATE TABLE {db}.`t__new_20261128123000` LIKE {db}.`t`")
    hive_target.execute(f"INSERT INTO TABLE {db}.`t__new_20261128123000` SELECT * FROM {db}.`s`")
    old = hive_target.table_location(rel(hive_database, "t"))
    new = hive_target.table_location(rel(hive_database, "t__new_20261128123000"))
    assert old and new and old != new

    seen: list[object] = []
    stop = threading.Event()
    reader = _reader(hive_target, f"SELECT COUNT(*) FROM {db}.`t`", seen, stop)
    reader.start()
    hive_target.execute(f"ALTER TABLE {db}.`t` SET LOCATION {dialect_for('hive').location_literal(new)}")
    hive_target.execute(
        f"ALTER TABLE {db}.`t__new_20261128123000` SET LOCATION {dialect_for('hive').location_literal(old)}"
    )
    hive_target.execute(f"DROP TABLE {db}.`t__new_20261128123000`")
    stop.set()
    reader.join(60)

    assert one(hive_target, f"SELECT COUNT(*) FROM {db}.`t`") == 100
    assert set(seen) <= {30, 100}, seen
    assert not old.local_path().exists(), "DROP of the partner deletes the old rows' folder"
    assert new.local_path().is_dir()


def _reader(target: Target, sql: str, seen: list[object], stop: threading.Event) -> threading.Thread:
    """Polls ``sql`` from another session (server) or thread (embedded) until stopped."""

    def poll() -> None:
        other: Target = target
        if isinstance(target, HiveServer):
            other = HiveServer(target.host, target.port, username="publisher-tests-reader")
        try:
            while not stop.is_set():
                try:
                    seen.append(one(other, sql))
                except HiveError as error:
                    seen.append(error.message)
        finally:
            if other is not target:
                other.close()

    return threading.Thread(target=poll, daemon=True)


# --------------------------------------------------------------------- server only


def test_the_sqlalchemy_dialect_works_against_the_server() -> None:
    from sqlalchemy import inspect

    host, port = server_address()
    server = HiveServer(host, port, username="publisher-tests")
    database = f"pubtest_{secrets.token_hex(5)}"
    server.execute(f"DROP DATABASE IF EXISTS `{database}` CASCADE")
    server.execute(f"CREATE DATABASE `{database}`")
    try:
        server.execute(f"CREATE TABLE `{database}`.`a` (`x` INT) STORED AS PARQUET")
        inspector = inspect(server.engine)
        assert inspector.has_table("a", schema=database)
        assert not inspector.has_table("nope", schema=database)  # Spark: TABLE_OR_VIEW_NOT_FOUND
        assert inspector.get_table_names(schema=database) == ["a"]  # not the namespace column
        assert database in inspector.get_schema_names()
    finally:
        server.execute(f"DROP DATABASE IF EXISTS `{database}` CASCADE")
        server.close()
