"""publisher serve over real HTTP: a `publisher serve` child process on a free loopback port,
publishing into its own embedded Hive; urllib as the client, as a platform script would be.

One server for the module (an embedded Spark costs ~15 s and ~1 GB). The server process owns
the engine: tables are read back through its publications endpoint, and at the end, with the
server stopped, by a child process that opens the engine's state folder.
"""

from __future__ import annotations

import http.client
import importlib.util
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.fixtures.hive import _unavailable
from tests.resultfiles import write
from tests.serving import ROOT, TOKEN_ENV, Served, start, stop

pytestmark = [pytest.mark.hive, pytest.mark.server, pytest.mark.slow]

DOC_BODY = json.loads(
    '{"connection": {"id": 1}, "path": ["default"], "table": "test_table", "action": "create", '
    '"inputFormat": "pqt", "flowNodeId": 27}'
)
"""The platform documentation's own request body, published as is."""


def _results(root: Path, job_group: int, flow_node_id: int, first: int, count: int) -> None:
    write(root / "results" / str(job_group) / str(flow_node_id), "pqt", first, count)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    for module in ("pyspark", "starlette", "uvicorn"):
        if importlib.util.find_spec(module) is None:
            _unavailable(
                f"publisher serve with the embedded Hive needs {module} (pip install 'warehouse-publisher[all]')"
            )
    root = tmp_path_factory.mktemp("serve")
    config = {
        "results": "results/{jobGroup}/{flowNodeId}/",
        "connections": [{"id": 1, "name": "local", "type": "hive", "embedded": True, "stateDir": "state"}],
        "server": {"tokens": [f"${{{TOKEN_ENV}}}"], "concurrency": 2},
    }
    (root / "publisher.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    _results(root, 31, 27, 0, 20)
    token = secrets.token_hex(20)
    old = os.environ.get(TOKEN_ENV)
    os.environ[TOKEN_ENV] = token  # so that tests/secrets.py scans every reply and the log for it
    served = start(root, token, "server.log")
    try:
        yield served
    finally:
        stop(served)
        if old is None:
            os.environ.pop(TOKEN_ENV, None)
        else:
            os.environ[TOKEN_ENV] = old


def test_documentation_body_is_published_as_is(served: Served) -> None:
    started = time.monotonic()
    reply = served.put(31, DOC_BODY)
    latency = time.monotonic() - started
    assert reply.status == 200, reply.text
    assert reply.body["jobgroupId"] == 31 and reply.body["reason"] == "JobStarted"
    session = reply.body["sessionId"]
    assert str(uuid.UUID(session)) == session
    assert served.wait(31) == "Complete"
    detail = served.call("GET", f"/v4/sessions/{session}").body
    assert detail["state"] == "Complete" and detail["error"] is None
    assert detail["publication"]["publishedTable"].startswith("test_table_")
    assert [s["state"] for s in detail["steps"]] == ["done"] * len(detail["steps"])
    assert all(s["elapsedSeconds"] >= 0 for s in detail["steps"])
    [done] = served.done(31)
    assert done["sessionId"] == session and done["table"] == "test_table" and done["rows"] == 0
    print(f"PUT (plan live and queue) took {latency * 1000:.0f} ms")


def test_a_repeated_put_publishes_once(served: Served) -> None:
    _results(served.root, 32, 1, 0, 30)
    body = {**DOC_BODY, "table": "once", "action": "createAndLoad", "flowNodeId": 1}
    first = served.put(32, body)
    again = served.put(32, body)  # while the first is queued or running
    assert first.status == again.status == 200
    assert again.body == {**first.body, "reason": "JobRunning"}
    assert served.wait(32) == "Complete"
    after = served.put(32, body)  # the ledger holds it as done
    assert after.status == 200
    assert after.body == {**first.body, "reason": "AlreadyPublished"}
    assert served.call("GET", "/v4/jobGroups/32/status").body == "Complete"
    [done] = served.done(32)
    assert done["rows"] == 30 and done["sessionId"] == first.body["sessionId"]


def test_every_action_one_table_at_a_time(served: Served) -> None:
    """Three publications into one table, PUT back to back: they run in the order accepted,
    each planned when its turn comes (load needs the table dropAndLoad makes)."""
    _results(served.root, 40, 1, 0, 10)
    _results(served.root, 41, 1, 10, 5)
    _results(served.root, 42, 1, 100, 7)
    _results(served.root, 43, 1, 0, 4)
    table = {**DOC_BODY, "table": "orders", "flowNodeId": 1}
    assert served.put(40, {**table, "action": "dropAndLoad"}).status == 200
    # load plans against a table that does not exist yet: refused at once, nothing queued
    refused = served.put(41, {**table, "action": "load"})
    assert refused.status == 400 and refused.body["exception"]["name"] == "PlanError", refused.text
    assert served.wait(40) == "Complete"
    assert served.put(41, {**table, "action": "load"}).status == 200
    assert served.put(42, {**table, "action": "truncateAndLoad"}).status == 200
    assert served.put(43, {**table, "table": "other", "action": "createAndLoad"}).status == 200
    assert [served.wait(j) for j in (41, 42, 43)] == ["Complete"] * 3
    rows = {j: served.done(j)[0]["rows"] for j in (40, 41, 42, 43)}
    assert rows == {40: 10, 41: 5, 42: 7, 43: 4}
    loads = [served.done(j)[0]["at"] for j in (40, 41, 42)]
    assert loads == sorted(loads)


def test_a_failed_publication_fails_its_session_only(served: Served) -> None:
    """Each run plans again when its turn comes: results gone by then fail that session, in
    one line, with nothing in the ledger; the publication before it and the server go on."""
    _results(served.root, 46, 1, 0, 8)
    _results(served.root, 47, 1, 0, 9)
    table = {**DOC_BODY, "table": "flaky", "action": "createAndLoad", "flowNodeId": 1}
    assert served.put(46, table).status == 200
    doomed = served.put(47, table)
    assert doomed.status == 200
    shutil.rmtree(served.root / "results" / "47")  # while 46 runs into the same table
    assert served.wait(47) == "Failed"
    session = served.call("GET", f"/v4/sessions/{doomed.body['sessionId']}").body
    assert session["state"] == "Failed" and "\n" not in session["error"]
    assert "results" in session["error"] and "47" in session["error"], session["error"]
    assert served.wait(46) == "Complete"
    assert served.done(47) == [] and served.done(46)[0]["rows"] == 8


BAD_BODIES: dict[str, tuple[Any, str]] = {
    "wrong types": ({**DOC_BODY, "flowNodeId": "27", "connection": {"id": "1"}}, "/flowNodeId"),
    "float id": ({**DOC_BODY, "flowNodeId": 27.0}, "/flowNodeId"),
    "path as a string": ({**DOC_BODY, "path": "default"}, "/path"),
    "two databases": ({**DOC_BODY, "path": ["default", "other"]}, "/path"),
    "unknown key": ({**DOC_BODY, "tabel": "x"}, "/tabel"),
    "missing key": ({k: v for k, v in DOC_BODY.items() if k != "table"}, ""),
    "injection in table": ({**DOC_BODY, "table": "t; DROP TABLE publisher.publications --"}, "/table"),
    "quote in table": ({**DOC_BODY, "table": "t`x"}, "/table"),
    "injection in path": ({**DOC_BODY, "path": ["default`; DROP DATABASE publisher CASCADE; --"]}, "/path/0"),
    "unknown connection": ({**DOC_BODY, "connection": {"id": 9}}, "/connection/id"),
    "jobGroup in the body": ({**DOC_BODY, "jobGroup": 31}, "/jobGroup"),
    "a local source": ({**DOC_BODY, "source": "/etc"}, "/source"),
    "not an object": ([DOC_BODY], ""),
}


@pytest.mark.parametrize("case", list(BAD_BODIES))
def test_bad_bodies_are_refused_and_nothing_runs(served: Served, case: str) -> None:
    body, where = BAD_BODIES[case]
    reply = served.put(90, body)
    assert reply.status == 400, reply.text
    exception = reply.body["exception"]
    assert exception["name"] == "ValidationError"
    assert where in [d["path"] for d in exception["details"]], exception
    if case == "unknown connection":
        assert "connection id 9" in exception["message"]
    assert served.call("GET", "/v4/jobGroups/90/status").status == 404
    assert served.publications(90) == []


def test_every_error_of_a_body_is_listed(served: Served) -> None:
    body = {**DOC_BODY, "path": "default", "table": "x;y", "action": "creat", "tabel": 1}
    details = served.put(90, body).body["exception"]["details"]
    assert {d["path"] for d in details} == {"/path", "/table", "/action", "/tabel"}


@pytest.mark.parametrize(
    ("raw", "content_type", "status"),
    [
        (b'{"connection": {"id": 1}, "connection": {"id": 2}}', "application/json", 400),  # duplicate key
        (b'{"flowNodeId": NaN}', "application/json", 400),
        (b"{not json", "application/json", 400),
        (b"\xff\xfe", "application/json", 400),
        (b"[" * 100_000 + b"]" * 100_000, "application/json", 400),
        (json.dumps(DOC_BODY).encode(), "text/plain", 415),
        (json.dumps(DOC_BODY).encode(), "application/x-www-form-urlencoded", 415),
        (json.dumps(DOC_BODY).encode(), None, 415),
    ],
    ids=["duplicate-key", "nan", "not-json", "not-utf8", "deep", "text", "form", "untyped"],
)
def test_bodies_that_are_not_json_specs(served: Served, raw: bytes, content_type: str | None, status: int) -> None:
    reply = served.put(91, None, raw=raw, content_type=content_type)
    assert reply.status == status, reply.text
    assert "exception" in reply.body
    assert served.call("GET", "/v4/jobGroups/91/status").status == 404


def test_a_body_over_1_mb_is_refused_before_it_is_read(served: Served) -> None:
    """The declared length is enough: 413 before the body is sent (the client may then skip it;
    once the server has answered, a client still sending may see the connection closed)."""
    connection = http.client.HTTPConnection(served.url.removeprefix("http://"), timeout=60)
    connection.putrequest("PUT", "/v4/jobGroups/92/publish")
    for name, value in (
        ("Authorization", f"Bearer {served.token}"),
        ("Content-Type", "application/json"),
        ("Content-Length", str(1024 * 1024 + 1)),
    ):
        connection.putheader(name, value)
    connection.endheaders()
    response = connection.getresponse()
    assert response.status == 413
    assert json.loads(response.read())["exception"]["name"] == "PayloadTooLarge"
    connection.close()
    assert served.call("GET", "/v4/jobGroups/92/status").status == 404


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("PUT", "/v4/jobGroups/31/publish"),
        ("GET", "/v4/jobGroups/31/status"),
        ("GET", "/v4/jobGroups/31/publications"),
        ("GET", f"/v4/sessions/{uuid.uuid4()}"),
        ("GET", "/v4/open-api-spec"),
        ("GET", "/v4/no-such-route"),
    ],
)
def test_every_route_but_health_needs_the_token(served: Served, method: str, path: str) -> None:
    body = DOC_BODY if method == "PUT" else None
    for auth in ("", f"Bearer {served.token[:-1]}x", "Bearer", f"Basic {served.token}", f"Bearer {served.token} x"):
        reply = served.call(method, path, body, auth=auth)
        assert reply.status == 401, (auth, reply.text)
        assert reply.body["exception"]["name"] == "AuthenticationError"
    assert served.call("GET", "/health", auth="").status == 200


def test_open_api_document_describes_the_routes(served: Served) -> None:
    document = served.call("GET", "/v4/open-api-spec").body
    assert document["openapi"].startswith("3.1")
    assert set(document["paths"]) == {
        "/v4/jobGroups/{id}/publish",
        "/v4/jobGroups/{id}/status",
        "/v4/jobGroups/{id}/publications",
        "/v4/sessions/{sessionId}",
        "/v4/open-api-spec",
        "/health",
    }
    request = document["components"]["schemas"]["PublishRequest"]
    assert "jobGroup" not in request["properties"] and set(request["required"]) == set(DOC_BODY)


def test_stops_gracefully_and_the_tables_hold_the_rows(served: Served) -> None:
    """Last: SIGTERM stops the server (uvicorn, once shut down, exits by the signal it got); then a
    child process opens the engine the server owned. A publication running at SIGTERM finishes."""
    _results(served.root, 44, 1, 0, 12)
    running = served.put(44, {**DOC_BODY, "table": "late", "action": "createAndLoad", "flowNodeId": 1}).body
    served.process.send_signal(signal.SIGTERM)
    assert served.process.wait(120) == -signal.SIGTERM
    log = served.log.read_text()
    assert f"session {running['sessionId']}: complete" in log
    assert log.index(f"session {running['sessionId']}: complete") < log.index("Application shutdown complete")
    script = (
        "import json\n"
        "from pathlib import Path\n"
        "from publisher.engines.hive_embedded import EmbeddedHive\n"
        "from publisher.model.relation import Relation\n"
        "hive = EmbeddedHive(Path('state'))\n"
        "names = sorted(hive.table_names(Relation('default', None, 'x')))\n"
        "print(json.dumps({n: hive.fetch(f'SELECT COUNT(*) FROM `default`.`{n}`')[0][0] for n in names}))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=served.root, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    counts = json.loads(done.stdout.strip().splitlines()[-1])
    assert counts["orders"] == 7  # dropAndLoad 10, load +5, truncateAndLoad 7
    assert [counts[n] for n in counts if n.startswith("test_table_")] == [0]
    assert [counts[n] for n in counts if n.startswith("once_")] == [30]
    assert [counts[n] for n in counts if n.startswith("other_")] == [4]
    assert [counts[n] for n in counts if n.startswith("late_")] == [12]
    assert not [n for n in counts if "__" in n], counts  # no staging or set-aside table left


def test_a_restarted_server_knows_the_ledger_and_publishes_once(served: Served) -> None:
    """After the previous test stopped it: a new server on the same state answers status and
    sessions from the ledger, and a repeated PUT finds the publication there."""
    again = start(served.root, served.token, "server-restarted.log")
    try:
        [published] = again.done(31)
        assert again.call("GET", "/v4/jobGroups/31/status").body == "Complete"
        session = again.call("GET", f"/v4/sessions/{published['sessionId']}").body
        assert session["state"] == "Complete" and "from the ledger" in session["note"]
        assert session["publication"]["publishedTable"] == published["publishedTable"]
        reply = again.put(31, DOC_BODY)
        assert reply.status == 200, reply.text
        assert reply.body == {"jobgroupId": 31, "reason": "AlreadyPublished", "sessionId": published["sessionId"]}
        assert again.done(31) == [published]
        assert again.call("GET", "/v4/jobGroups/47/status").status == 404  # failed before: nothing in the ledger
        assert again.call("GET", "/v4/sessions/not-a-uuid").status == 404
    finally:
        stop(again)
