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


def test_closing_a_hiveserver2_session_waits_at_most_close_seconds_for_a_server_that_never_answers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Spark 4's Thrift Server can keep a CloseSession unanswered forever (SPARK-51041): the
    publisher's session gives up after CLOSE_SECONDS and closes its socket."""
    import socket
    import threading
    import time

    from pyhive import hive
    from thrift.protocol import TBinaryProtocol
    from thrift.transport import TSocket, TTransport

    from publisher.engines import hiveserver2

    monkeypatch.setattr(hiveserver2, "CLOSE_SECONDS", 0.5)
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(1)
    accepted: list[socket.socket] = []
    threading.Thread(target=lambda: accepted.append(silent.accept()[0]), daemon=True).start()
    raw = TSocket.TSocket("127.0.0.1", silent.getsockname()[1])
    session = object.__new__(hiveserver2._Session)  # as PyHive makes it, once OpenSession answered
    session._transport = TTransport.TBufferedTransport(raw)
    session._transport.open()
    session._client = hive.TCLIService.Client(TBinaryProtocol.TBinaryProtocol(session._transport))
    session._sessionHandle = hive.ttypes.TSessionHandle()
    started = time.monotonic()
    with pytest.raises(Exception, match="time"):
        session.close()
    assert time.monotonic() - started < 5
    assert not raw.isOpen()
    silent.close()
