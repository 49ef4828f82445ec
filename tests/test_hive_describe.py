"""DESCRIBE FORMATTED output of Apache Hive parsed without an engine (Spark's shape is
checked against live engines in tests/integration/test_hive_target.py)."""

from __future__ import annotations

from publisher.engines.hive_describe import parse_describe_formatted, parse_location
from publisher.model.target import ColumnState, TableState

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
        "hdfs://nn:8020/user/hive/warehouse/t",
        True,
        partition_columns=("ds",),
    )
    assert parse_location(APACHE_HIVE_DESCRIBE_FORMATTED) == "hdfs://nn:8020/user/hive/warehouse/t"
