"""DESCRIBE FORMATTED output of Apache Hive parsed without an engine (Spark's shape is
checked against live engines in tests/integration/test_hive_target.py)."""

from __future__ import annotations

import pytest

from publisher.engines.hive_describe import parse_describe_formatted, parse_location
from publisher.model.location import Location
from publisher.model.target import ColumnState, HiveTable, TableState

# DESCRIBE FORMATTED of a partitioned Parquet table, as Apache Hive 2.3's HiveServer2
# returns it (padded keys ending in ':', partition columns only in their own section).
APACHE_HIVE_DESCRIBE_FORMATTED = [
    ("# col_name            ", "data_type           ", "comment             "),
    ("", None, None),
    ("id                  ", "bigint              ", ""),
    ("Price               ", "decimal(10,2)       ", ""),
    ("tags                ", "array<string>       ", ""),
    ("", None, None),
    ("# Partition Information", None, None),
    ("# col_name            ", "data_type           ", "comment             "),
    ("", None, None),
    ("ds                  ", "string              ", ""),
    ("", None, None),
    ("# Detailed Table Information", None, None),
    ("Database:           ", "default             ", None),
    ("Location:           ", "hdfs://nn:8020/user/hive/warehouse/t", None),
    ("Table Type:         ", "MANAGED_TABLE       ", None),
    ("Table Parameters:", None, None),
    ("", "numFiles            ", "3                   "),
    ("", None, None),
    ("# Storage Information", None, None),
    ("SerDe Library:      ", "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe", None),
    ("InputFormat:        ", "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat", None),
    ("OutputFormat:       ", "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat", None),
]


def test_parses_apache_hive_describe_formatted() -> None:
    state = parse_describe_formatted(APACHE_HIVE_DESCRIBE_FORMATTED)
    assert state == TableState(
        (
            ColumnState("id", "bigint"),
            ColumnState("price", "decimal(10,2)"),
            ColumnState("tags", "array<string>"),
            ColumnState("ds", "string"),
        ),
        "parquet",
        Location("hdfs", "nn:8020", "/user/hive/warehouse/t"),
        partition_columns=("ds",),
        own=HiveTable(managed=True, kind="managed"),
    )
    assert parse_location(APACHE_HIVE_DESCRIBE_FORMATTED) == Location("hdfs", "nn:8020", "/user/hive/warehouse/t")


def described(table_type: str, parameters: dict[str, str]) -> list[tuple[str | None, ...]]:
    """DESCRIBE FORMATTED as Apache Hive lays out a table's type and parameters."""
    head = [("# col_name", "data_type", "comment"), ("", None, None), ("id", "bigint", ""), ("", None, None)]
    rows = [("# Detailed Table Information", None, None), ("Table Type:         ", f"{table_type}  ", None)]
    rows += [("Table Parameters:", None, None)] + [("", f"{k}  ", f"{v}  ") for k, v in parameters.items()]
    return [*head, *rows]


# As Hive 4's metastore makes a plain CREATE TABLE (MetastoreDefaultTransformer), as Cloudera makes
# managed tables (Cloudera Runtime 7.1, "Hive 3 tables"), and as a team makes an external table.
KINDS = [
    ("EXTERNAL_TABLE", {"EXTERNAL": "TRUE", "external.table.purge": "TRUE", "TRANSLATED_TO_EXTERNAL": "TRUE"},
     "external-owned"),
    ("EXTERNAL_TABLE", {"EXTERNAL": "TRUE", "external.table.purge": "true"}, "external-owned"),
    ("EXTERNAL_TABLE", {"EXTERNAL": "TRUE"}, "external-foreign"),
    ("EXTERNAL_TABLE", {"EXTERNAL": "TRUE", "external.table.purge": "false"}, "external-foreign"),
    ("MANAGED_TABLE", {"transactional": "true"}, "acid"),
    ("MANAGED_TABLE", {"transactional": "true", "transactional_properties": "insert_only"}, "acid-insert-only"),
    ("MANAGED_TABLE", {"numFiles": "1"}, "managed"),
    ("VIRTUAL_VIEW", {}, "view"),
]  # fmt: skip


@pytest.mark.parametrize(("table_type", "parameters", "kind"), KINDS)
def test_who_owns_a_tables_files_is_read_from_its_type_and_parameters(
    table_type: str, parameters: dict[str, str], kind: str
) -> None:
    state = parse_describe_formatted(described(table_type, parameters))
    assert state.of(HiveTable).kind == kind
    assert state.of(HiveTable).owns_files == (kind in ("managed", "external-owned"))


def test_spark_lists_the_parameters_in_one_cell() -> None:
    rows = [
        ("id", "bigint", None),
        ("", "", ""),
        ("# Detailed Table Information", "", ""),
        ("Type", "EXTERNAL", ""),
        ("Table Properties", "[TRANSLATED_TO_EXTERNAL=TRUE, external.table.purge=TRUE, transient_lastDdlTime=1]", ""),
    ]
    assert parse_describe_formatted(rows).of(HiveTable).kind == "external-owned"
