"""Engine error text cut down to the line a user needs, without an engine."""

from __future__ import annotations

import pytest

from publisher.engines.hive_errors import engine_message


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (  # Apache Hive
            "Error while compiling statement: FAILED: SemanticException [Error 10001]: Line 1:14 Table not found 'x'",
            "FAILED: SemanticException [Error 10001]: Line 1:14 Table not found 'x'",
        ),
        (  # Spark's Thrift Server
            "Error running query: [PARSE_SYNTAX_ERROR] org.apache.spark.sql.catalyst.parser.ParseException: \n"
            "[PARSE_SYNTAX_ERROR] Syntax error at or near 'SELEC'. SQLSTATE: 42601 (line 1, pos 0)\n\n== SQL ==",
            "[PARSE_SYNTAX_ERROR] Syntax error at or near 'SELEC'. SQLSTATE: 42601 (line 1, pos 0)",
        ),
        (  # a failed task, through pyspark
            "org.apache.spark.SparkException: Job aborted due to stage failure: Task 1 in stage 127.0 failed 1"
            " times, most recent failure: Lost task 1.0 in stage 127.0 (TID 161) (localhost executor driver):"
            " org.apache.avro.AvroTypeException: Found job.price_fixed, expecting union[null, bytes]\n\tat x.y(Z)",
            "Found job.price_fixed, expecting union[null, bytes]",
        ),
    ],
)
def test_engine_message_keeps_the_first_meaningful_line(text: str, message: str) -> None:
    assert engine_message(text) == message
