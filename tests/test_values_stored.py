"""Values an engine would store otherwise than sent (issue 22, item 2): what the results, the
table's DESCRIBE and the plan tell, and the one-line error of the check at apply. The engines'
own behaviour: tests/integration/test_values_stored_as_sent.py."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from publisher.apply.executor import Executor
from publisher.dialects import dialect_for
from publisher.dialects.base import ColumnDef, LoadSource
from publisher.dialects.hive import Hive
from publisher.engines.hive_describe import parse_describe_formatted
from publisher.model.errors import InvalidInput, PublishFailed
from publisher.model.plan import CheckValues, Plan, plan_from_json, plan_to_json
from publisher.model.relation import Relation
from publisher.model.target import HiveTable, TableState
from publisher.planning.partitions import PartitionColumn, Partitioning, checked, refuse_unstored
from publisher.results import inspect_results
from publisher.results.values import Column, Results
from tests.test_executor import publication

STAGE = Relation("db", None, "t__stage_1")
SOURCE = LoadSource((), "`db`.`t__stage_1`", (), (ColumnDef("id", "BIGINT"), ColumnDef("name", "STRING")))


def _describe(storage: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    return [
        ("id", "bigint", None),
        ("name", "string", None),
        ("", None, None),
        ("# Detailed Table Information", None, None),
        *storage,
    ]


SPARK_TEXT = [
    ("Serde Library", "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe", ""),
    ("InputFormat", "org.apache.hadoop.mapred.TextInputFormat", ""),
    ("Storage Properties", "[serialization.format=|, field.delim=|]", ""),
]


@pytest.mark.parametrize(
    "storage,unescaped",
    [
        (SPARK_TEXT, ("|", "\n", "\r")),
        (  # Spark, a comma delimiter: its own separator in the printed list
            [*SPARK_TEXT[:2], ("Storage Properties", "[field.delim=,, serialization.format=,]", "")],
            (",", "\n", "\r"),
        ),
        (  # ESCAPED BY: the delimiter is escaped, line breaks are not (no serialization.escape.crlf)
            [*SPARK_TEXT[:2], ("Storage Properties", "[escape.delim=\\, field.delim=|, serialization.format=|]", "")],
            ("\n", "\r"),
        ),
        (  # Apache Hive: ('', key, value) rows, Java-escaped; the default serialization.format=1 is \x01
            [
                ("SerDe Library:      ", "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe", None),
                ("InputFormat:        ", "org.apache.hadoop.mapred.TextInputFormat", None),
                ("Storage Desc Params:", None, None),
                ("", "serialization.format", "1                   "),
            ],
            ("\x01", "\n", "\r"),
        ),
        (
            [
                ("SerDe Library:      ", "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe", None),
                ("Storage Desc Params:", None, None),
                ("", "field.delim", "\\t"),
                ("", "escape.delim", "\\\\"),
                ("", "serialization.escape.crlf", "true"),
            ],
            (),
        ),
        ([("Serde Library", "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe", "")], ()),
    ],
)
def test_what_a_text_table_cannot_hold_is_read_from_describe(
    storage: list[tuple[Any, ...]], unescaped: tuple[str, ...]
) -> None:
    assert parse_describe_formatted(_describe(storage)).of(HiveTable).unescaped == unescaped


def test_hive_checks_staged_partition_values_and_text_table_delimiters() -> None:
    text = TableState((), "textfile", own=HiveTable(unescaped=("|", "\n", "\r")))
    source = LoadSource((), SOURCE.reference, (), (*SOURCE.columns, ColumnDef("dt", "STRING")))
    (step,) = Hive().value_checks(STAGE, source, ("dt",), text)
    assert isinstance(step, CheckValues)
    assert step.columns == ("name", "dt")
    assert step.counts == (
        "SELECT COUNT(CASE WHEN INSTR(`name`, '|') > 0 OR INSTR(`name`, '\\n') > 0 OR INSTR(`name`, '\\r') > 0 "
        "THEN 1 END),\n"
        "       COUNT(CASE WHEN `dt` = '' OR `dt` = '__HIVE_DEFAULT_PARTITION__' THEN 1 END)\n"
        "FROM `db`.`t__stage_1`"
    )
    assert step.examples[1] == (
        "SELECT `dt` FROM `db`.`t__stage_1` WHERE `dt` = '' OR `dt` = '__HIVE_DEFAULT_PARTITION__' LIMIT 1"
    )
    # A Parquet table, no dynamic partition: nothing to check; a non-printable delimiter as \u escape.
    assert Hive().value_checks(STAGE, SOURCE, (), TableState((), "parquet")) == ()
    (ctrl,) = Hive().value_checks(STAGE, SOURCE, (), TableState((), "textfile", own=HiveTable(unescaped=("\x01",))))
    assert isinstance(ctrl, CheckValues) and "INSTR(`name`, '\\u0001') > 0" in ctrl.counts
    # The step survives a saved plan.
    saved = Plan("2026-11-28T12:00:00Z", False, (replace(publication(), steps=(step,)),))
    assert plan_from_json(plan_to_json(saved)) == saved


class ValuesTarget:
    def __init__(self, counts: tuple[int, ...], example: str) -> None:
        self.counts, self.example = counts, example

    def fetch(self, text: str) -> list[tuple[Any, ...]]:
        return [self.counts] if text.startswith("SELECT COUNT") else [(self.example,)]


def test_the_check_at_apply_names_the_column_the_count_and_an_example_in_one_line() -> None:
    step = CheckValues(("name", "dt"), "SELECT COUNT(...)", ("SELECT name", "SELECT dt"), ("a |", "an ''"), "check")
    executor = Executor(ValuesTarget((0, 3), "x\ny"), dialect_for("hive"))  # type: ignore[arg-type]
    with pytest.raises(PublishFailed) as failed:
        executor._execute(step)
    # One line: the example as its repr, a line break as \n.
    assert failed.value.message == "column dt: 3 row(s) of the results hold an '', such as 'x\\ny'. Nothing was changed"
    Executor(ValuesTarget((0, 0), ""), dialect_for("hive"))._execute(step)  # type: ignore[arg-type]


def _spec() -> Any:
    from publisher.model.errors import Location

    class Spec:
        action = "load"
        location = Location("specs/a.yaml", 1, 1)

    return Spec()


def test_static_partition_values_hive_stores_as_null_are_refused_at_plan_time() -> None:
    for value in ("", "__HIVE_DEFAULT_PARTITION__"):
        with pytest.raises(InvalidInput, match="the partition of NULL"):
            checked(_spec(), "dt", "string", value)
    assert checked(_spec(), "dt", "string", "__hive_default_partition__x") == "__hive_default_partition__x"


def test_an_empty_string_in_parquet_statistics_of_a_partition_column_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "r"
    folder.mkdir()
    rows = {"id": [1, 2], "dt": ["x", ""], "name": ["a", "b"]}
    pq.write_table(pa.table(rows), folder / "part-0.parquet")
    results = inspect_results(str(folder), "pqt")
    assert {c.name: c.empty for c in results.columns} == {"id": False, "dt": True, "name": False}
    with pytest.raises(InvalidInput, match="partition column dt holds an empty string"):
        refuse_unstored(_spec(), Partitioning((PartitionColumn("dt", "string"),)), results)
    refuse_unstored(_spec(), Partitioning((PartitionColumn("name", "string"),)), results)  # no '' in name
    pq.write_table(pa.table(rows), folder / "part-0.parquet", write_statistics=False)
    assert not any(c.empty for c in inspect_results(str(folder), "pqt").columns)  # apply counts them instead


def test_csv_null_is_an_unquoted_empty_field_and_a_quoted_empty_string_is_refused_for_redshift(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "r"
    folder.mkdir()
    (folder / "part-0.csv").write_text('id,name,code\n1,\\N,""\n2,,x\n', encoding="utf-8")
    results = inspect_results(str(folder), "csv")
    assert {c.name: c.empty for c in results.columns} == {"id": False, "name": False, "code": True}
    refused = dialect_for("redshift").refused_values(results)
    assert refused is not None and refused.startswith('column code: the CSV sample holds an empty string (a quoted "")')
    assert dialect_for("hive").refused_values(results) is None
    json_results = Results("s3://b/r/", "json", results.files, results.columns)
    assert dialect_for("redshift").refused_values(json_results) is None  # JSON keeps "" and null apart
    assert Column("x", pa.string(), True).empty is False
