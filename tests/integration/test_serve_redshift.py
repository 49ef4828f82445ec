"""publisher serve over real HTTP into the Redshift stand-in: a `publisher serve` child process,
urllib as the client (tests/serving.py), the stand-in's PostgreSQL read back through a
connection of the test's own.

- every action of the platform's endpoint, polled until complete, the table's values checked;
- schemathesis against the served OpenAPI document: no 5xx;
- a server killed (SIGKILL) before and after its publication's COMMIT, started again: a PUT
  of the same publication finishes it exactly once;
- a target that cannot be reached, or that hangs up: a Failed session with one line, and the
  server goes on answering and publishing elsewhere.

One server and one schema for the module (starting a server costs ~2 s of CPU); the killed
and unreachable servers are processes of their own on the same project folder.
"""

from __future__ import annotations

import contextlib
import copy
import http.client
import importlib.util
import json
import os
import re
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from tests.fixtures.redshift import Endpoint, RedshiftEngine, _unavailable, open_redshift_engine, own_schema
from tests.integration.test_apply_redshift import expected, table_rows
from tests.serving import (
    TOKEN_ENV,
    Served,
    free_port,
    project,
    published,
    request_body,
    results,
    serve_environment,
    start,
    stop,
)

pytestmark = [pytest.mark.redshift, pytest.mark.server, pytest.mark.slow]


@pytest.fixture(scope="module")
def rs(redshift_endpoint: Endpoint) -> Iterator[RedshiftEngine]:
    """A schema and a bucket of the module's own (tests/fixtures/redshift.py makes them per test)."""
    with serve_environment(redshift_endpoint.ca), own_schema(open_redshift_engine(redshift_endpoint)) as engine:
        yield engine


@pytest.fixture(scope="module")
def served(rs: RedshiftEngine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    root = project(tmp_path_factory.mktemp("serve-redshift"), rs)
    server = start(root, os.environ[TOKEN_ENV], "server.log")
    try:
        yield server
    finally:
        stop(server)


def body(rs: RedshiftEngine, table: str, action: str) -> dict[str, Any]:
    """A request body as the platform documents it, into the stand-in's database."""
    return request_body(rs, "dev", table, action)


def done_rows(rs: RedshiftEngine, job: int) -> list[dict[str, Any]]:
    return [r for r in rs.ledger("done") if r["job_group"] == job]


def leftovers(rs: RedshiftEngine) -> set[str]:
    """Staging, new or set-aside tables a publication left (their names carry a double underscore)."""
    return {t for t in rs.tables() if "__" in t}


# --- every action --------------------------------------------------------------------------


def test_every_action_through_the_server(served: Served, rs: RedshiftEngine) -> None:
    """The platform's five actions, each PUT and polled as a platform client does; then the
    stand-in's tables hold exactly the results' values."""
    first = results(rs, served.root, 101, 0, 12)
    session = published(served, 101, body(rs, "orders", "dropAndLoad"))  # the table does not exist yet
    assert [s["state"] for s in session["steps"]] == ["done"] * len(session["steps"])
    assert table_rows(rs, "orders") == expected(first)

    more = results(rs, served.root, 102, 100, 5)
    published(served, 102, body(rs, "orders", "load"))
    assert table_rows(rs, "orders") == expected(first + more)

    fresh = results(rs, served.root, 103, 200, 7)
    published(served, 103, body(rs, "orders", "truncateAndLoad"))
    assert table_rows(rs, "orders") == expected(fresh)

    again = results(rs, served.root, 104, 300, 9)
    session = published(served, 104, body(rs, "orders", "dropAndLoad"))  # replaces an existing table
    assert table_rows(rs, "orders") == expected(again)

    loaded = results(rs, served.root, 105, 400, 6)
    session = published(served, 105, body(rs, "daily", "createAndLoad"))
    name = session["publication"]["publishedTable"]
    assert name.startswith(f"{rs.schema}.daily_")
    assert table_rows(rs, name.split(".")[1]) == expected(loaded)

    results(rs, served.root, 106, 0, 3)
    session = published(served, 106, body(rs, "empty", "create"))
    created = session["publication"]["publishedTable"].split(".")[1]
    assert rs.count(created) == 0 and [c for c, _ in rs.columns(created)] == [c for c, _ in rs.columns("orders")]

    ledger = {r["job_group"]: r["row_count"] for r in rs.ledger("done")}
    assert {j: ledger[j] for j in range(101, 107)} == {101: 12, 102: 5, 103: 7, 104: 9, 105: 6, 106: 0}
    assert [p["rows"] for p in served.done(104)] == [9]
    again_reply = served.put(104, body(rs, "orders", "dropAndLoad"))
    assert again_reply.body["reason"] == "AlreadyPublished", again_reply.text
    assert len(done_rows(rs, 104)) == 1 and leftovers(rs) == set() and rs.manifests() == []


# --- schemathesis --------------------------------------------------------------------------


def test_schemathesis_finds_no_server_error(served: Served, rs: RedshiftEngine, tmp_path: Path) -> None:
    """schemathesis generates requests from GET /v4/open-api-spec (valid and invalid by the
    schema, every route, undeclared methods) with a fixed seed and a bounded count. A valid
    body names results that do not exist: planned, refused (400), nothing runs. Every check
    but positive_data_acceptance: a body valid by the schema is still refused when publisher.yaml
    has no such connection, or (Redshift) the database is not the connection's."""
    if importlib.util.find_spec("schemathesis") is None:
        _unavailable("schemathesis is not installed (pip install -e '.[dev]')")
    results(rs, served.root, 110, 0, 4)
    published(served, 110, body(rs, "fuzz_seed", "createAndLoad"))  # so that a ledger exists to read
    before = {(r["job_group"], r["run_id"]) for r in rs.ledger()}
    examples = os.environ.get("PUBLISHER_SCHEMATHESIS_EXAMPLES", "40")
    command = [
        str(Path(sys.executable).parent / "schemathesis"),
        "run",
        f"{served.url}/v4/open-api-spec",
        "--header",
        f"Authorization: Bearer {served.token}",
        "--checks",
        "all",
        "--exclude-checks",
        "positive_data_acceptance",
        "--max-examples",
        examples,
        "--seed",
        os.environ.get("PUBLISHER_SCHEMATHESIS_SEED", "13"),
        "--workers",
        "1",
        "--request-timeout",
        "60",
    ]
    done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    output = done.stdout + done.stderr
    assert served.token not in output  # schemathesis filters Authorization from what it prints
    assert done.returncode == 0, output[-6000:]
    assert re.search(r"\d+ generated", output), output[-2000:]
    log = served.log.read_text(errors="replace")
    access = [line for line in log.splitlines() if "publisher.serve.access" in line]
    assert len(access) > 100
    assert not [line for line in access if re.search(r'" 5\d\d ', line)]
    assert "internal error" not in log
    assert all(line.count('"') == 2 for line in access), "a path broke an access log line"
    assert {(r["job_group"], r["run_id"]) for r in rs.ledger()} == before  # nothing fuzzed was published
    assert served.call("GET", "/health", auth="").status == 200


def test_what_schemathesis_found(served: Served) -> None:
    """Each a finding of the schemathesis run, fixed: a path that decodes to a line break wrote
    a forged access log line; 405 came without Allow; job group 0 and ids past a BIGINT were
    answered 200 by /publications (the document says 1 to 2^63 - 1)."""
    forged = quote('x\r\n2026-01-01 00:00:00,000 INFO publisher.serve.access: 10.0.0.1 "PUT /v4/x" 200 1.0ms', safe="")
    assert served.call("GET", f"/v4/sessions/{forged}").status == 404
    deadline = time.monotonic() + 10  # the access line is written once the reply is sent
    while not (lines := [line for line in served.log.read_text().splitlines() if "/v4/sessions/x" in line]):
        assert time.monotonic() < deadline, "no access log line"
        time.sleep(0.1)
    assert len(lines) == 1 and "%0D%0A2026-01-01" in lines[0], lines
    assert not [line for line in served.log.read_text().splitlines() if line.startswith("2026-01-01")]
    connection = http.client.HTTPConnection(served.url.removeprefix("http://"), timeout=30)
    connection.request("POST", "/v4/jobGroups/1/publish", headers={"Authorization": f"Bearer {served.token}"})
    refused = connection.getresponse()
    assert refused.status == 405 and refused.getheader("Allow") == "PUT"
    assert json.loads(refused.read())["exception"]["name"] == "MethodNotAllowed"
    connection.close()
    for job_group in ("0", str(2**63)):
        for route in ("status", "publications"):
            reply = served.call("GET", f"/v4/jobGroups/{job_group}/{route}")
            assert reply.status == 404 and "from 1 to" in reply.body["exception"]["message"], reply.text


# --- killed and started again ----------------------------------------------------------------

# `publisher serve` that kills its own process (SIGKILL: no undo, no ROLLBACK sent, no shutdown)
# just before, or with PUBLISHER_CRASH_AFTER=1 just after, the executor runs the first step
# whose purpose starts with "publish" (the publication's COMMIT).
CRASHING_SERVER = textwrap.dedent(
    """
    import os, signal, sys
    from publisher import cli
    from publisher.apply.executor import Executor

    after = os.environ.get("PUBLISHER_CRASH_AFTER") == "1"
    original = Executor._execute

    def execute(self, step):
        commit = step.purpose.startswith("publish")
        if commit and not after:
            os.kill(os.getpid(), signal.SIGKILL)
        result = original(self, step)
        if commit and after:
            os.kill(os.getpid(), signal.SIGKILL)
        return result

    Executor._execute = execute
    sys.exit(cli.main(sys.argv[1:]))
    """
)


@pytest.mark.parametrize("after", [False, True], ids=["before-commit", "after-commit"])
def test_a_server_killed_during_a_publication_recovers_it_on_the_next_put(
    served: Served, rs: RedshiftEngine, after: bool
) -> None:
    """dropAndLoad over an existing table; the server is killed before its COMMIT (Redshift rolls
    the transaction back: nothing happened) or right after it (published, the old table still set
    aside: its drop comes after the COMMIT). A server started again on the same project answers
    what the ledger holds, and a PUT of the same publication finishes it exactly once."""
    table, base_job, job = f"rec_{int(after)}", 120 + 10 * after, 121 + 10 * after
    base = results(rs, served.root, base_job, 0, 10)
    published(served, base_job, body(rs, table, "dropAndLoad"))
    new = results(rs, served.root, job, 500, 8)
    wrapper = served.root / "crashing_server.py"
    wrapper.write_text(CRASHING_SERVER)
    crashing = start(
        served.root,
        served.token,
        f"killed-{int(after)}.log",
        env={"PUBLISHER_CRASH_AFTER": "1" if after else "0"},
        command=[sys.executable, str(wrapper)],
    )
    try:
        killed = crashing.put(job, body(rs, table, "dropAndLoad"))
        assert killed.status == 200 and killed.body["reason"] == "JobStarted", killed.text
        assert crashing.process.wait(120) == -signal.SIGKILL
    finally:
        stop(crashing)
    killed_session = killed.body["sessionId"]
    if after:
        assert [r["run_id"] for r in done_rows(rs, job)] == [killed_session]
        assert table_rows(rs, table) == expected(new) and len(leftovers(rs)) == 1  # the old table, set aside
    else:
        assert done_rows(rs, job) == [] and leftovers(rs) == set()
        assert table_rows(rs, table) == expected(base)

    again = start(served.root, served.token, f"restarted-{int(after)}.log")
    try:
        if after:
            assert again.call("GET", f"/v4/jobGroups/{job}/status").body == "Complete"
            assert "from the ledger" in again.session(killed_session)["note"]
        else:
            assert again.call("GET", f"/v4/jobGroups/{job}/status").status == 404
            gone = again.call("GET", f"/v4/sessions/{killed_session}")
            assert gone.status == 404 and "PUT the publication" in gone.body["exception"]["message"]
        reply = again.put(job, body(rs, table, "dropAndLoad"))
        assert reply.status == 200 and reply.body["reason"] == "JobStarted", reply.text
        assert again.wait(job) == "Complete"
        finished = again.session(reply.body["sessionId"])
        assert finished["state"] == "Complete" and finished["error"] is None
        if after:
            assert finished["note"].startswith("published before, finished now"), finished
        assert table_rows(rs, table) == expected(new)
        [row] = done_rows(rs, job)  # exactly once
        assert row["run_id"] == (killed_session if after else reply.body["sessionId"])
        assert leftovers(rs) == set()
        repeat = again.put(job, body(rs, table, "dropAndLoad"))
        assert repeat.body == {"jobgroupId": job, "reason": "AlreadyPublished", "sessionId": row["run_id"]}
        assert again.call("GET", f"/v4/jobGroups/{job}/status").body == "Complete"
    finally:
        stop(again)


# --- targets that fail ---------------------------------------------------------------------


@contextlib.contextmanager
def hanging_up() -> Iterator[int]:
    """A port that accepts connections and closes each at once: an engine that drops them."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stopping = threading.Event()

    def serve() -> None:
        while not stopping.is_set():
            with contextlib.suppress(TimeoutError):
                conn, _ = listener.accept()
                conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield int(listener.getsockname()[1])
    finally:
        stopping.set()
        thread.join()
        listener.close()


def test_an_unreachable_target_fails_its_session_and_the_server_goes_on(
    served: Served, rs: RedshiftEngine, tmp_path: Path
) -> None:
    """Connections 3 (nothing listens) and 4 (hangs up on connect), with the stand-in's password:
    a PUT into either is accepted as the platform would (JobStarted), its session fails with
    one line that names the target and no secret; meanwhile the server answers and publishes
    into the stand-in."""
    with hanging_up() as dropping:
        down = copy.deepcopy(rs.target) | {"id": 3, "name": "down", "port": free_port()}
        drops = copy.deepcopy(rs.target) | {"id": 4, "name": "drops", "port": dropping}
        root = project(tmp_path / "failing", rs, down, drops)
        server = start(root, served.token, "server.log")
        try:
            results(rs, root, 140, 0, 5)
            results(rs, root, 141, 0, 5)
            for job, connection in ((140, down), (141, drops)):
                failing = {**body(rs, "nowhere", "createAndLoad"), "connection": {"id": connection["id"]}}
                session = published(server, job, failing, state="Failed")
                error = session["error"]
                assert "\n" not in error and len(error) < 500, error
                assert "cannot connect to Redshift" in error and f"127.0.0.1:{connection['port']}" in error
                assert server.call("GET", "/health", auth="").status == 200
            good = results(rs, root, 142, 0, 6)
            published(server, 142, body(rs, "still_works", "createAndLoad"))
            [row] = done_rows(rs, 142)
            assert table_rows(rs, row["published_table"].split(".")[-1]) == expected(good)
            assert server.call("GET", "/v4/jobGroups/140/status").body == "Failed"
            assert done_rows(rs, 140) == done_rows(rs, 141) == []
            # The ledger of a target that is down cannot be read: said in one line, not a 500.
            unread = server.call("GET", "/v4/jobGroups/142/publications")
            assert unread.status == 503 and "cannot connect" in unread.body["exception"]["message"]
            assert server.call("GET", f"/v4/sessions/{uuid.uuid4()}").status == 503
        finally:
            stop(server)
    log = server.log.read_text()
    assert "internal error" not in log and log.count("cannot reach the target to plan the PUT") == 2
