"""A `publisher serve` child process on a free loopback port, and a urllib client for it, as a
platform script would be: what the HTTP suites (embedded Hive, Redshift stand-in) share.

Every reply and, once stopped, the server's log are scanned for every secret of the suite.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tests.fixtures.redshift import S3_KEY_ENV, S3_SECRET_ENV, RedshiftEngine, _unavailable
from tests.resultfiles import write
from tests.secrets import assert_no_secret

ROOT = Path(__file__).resolve().parents[1]
TOKEN_ENV = "PUBLISHER_TEST_SECRET"  # scanned for by tests/secrets.py
FINAL = ("Complete", "Failed")
FLOW = 1  # the flow node of the SQL targets' served publications


@contextlib.contextmanager
def serve_environment(ca: str | None = None) -> Iterator[None]:
    """What a served project's publisher.yaml reads from the environment, for a whole module: the
    S3 keys, the server's token (every reply and log is scanned for it) and, where the target
    speaks TLS with a CA of its own, that CA (SSL_CERT_FILE); the environment as it was after.
    Skips (fails under PUBLISHER_REQUIRE_SERVICES) without the server's extra installed."""
    for module in ("starlette", "uvicorn"):
        if importlib.util.find_spec(module) is None:
            _unavailable(f"publisher serve needs {module} (pip install 'warehouse-publisher[server]')")
    values = {S3_KEY_ENV: "test-access-key-id", S3_SECRET_ENV: "test-secret-access-key"}
    values[TOKEN_ENV] = secrets.token_hex(20)
    if ca is not None:
        values["SSL_CERT_FILE"] = ca
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def project(root: Path, engine: RedshiftEngine, *extra: dict[str, Any]) -> Path:
    """A served project's publisher.yaml: the engine's target (id 1), its S3 (id 2), any ``extra``
    connections, the token of serve_environment."""
    root.mkdir(parents=True, exist_ok=True)
    config = {
        "results": engine.results_template,
        "resultsConnection": "s3",
        "connections": [*engine.connections, *extra],
        "server": {"tokens": [f"${{{TOKEN_ENV}}}"], "concurrency": 2},
    }
    (root / "publisher.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return root


def results(engine: RedshiftEngine, root: Path, job: int, first: int, count: int) -> list[dict[str, Any]]:
    """Parquet results (two files, tricky values) of job ``job`` on the engine's S3; their rows."""
    folder = root / "local-results" / str(job)
    data = write(folder, "pqt", first, count, 2, tricky=True)
    engine.upload(folder, job, FLOW)
    return data


def request_body(engine: RedshiftEngine, database: str, table: str, action: str) -> dict[str, Any]:
    """A request body as the platform documents it, into ``database``."""
    return {
        "connection": {"id": 1},
        "path": [database],
        "table": engine.table_name(table),
        "action": action,
        "inputFormat": "pqt",
        "flowNodeId": FLOW,
    }


def published(served: Served, job: int, data_body: dict[str, Any], state: str = "Complete") -> dict[str, Any]:
    """PUT, poll the status string until final, the session."""
    reply = served.put(job, data_body)
    assert reply.status == 200 and reply.body["reason"] == "JobStarted", reply.text
    assert served.wait(job) == state
    session = served.session(reply.body["sessionId"])
    assert session["state"] == state, session
    return session


@dataclass
class Reply:
    status: int
    body: Any
    text: str


@dataclass
class Served:
    url: str
    token: str
    process: subprocess.Popen[bytes]
    log: Path
    root: Path
    replies: list[str]

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        raw: bytes | None = None,
        token: str | None = None,
        auth: str | None = None,
        content_type: str | None = "application/json",
    ) -> Reply:
        data = raw if raw is not None else None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method)
        if data is not None and content_type:
            request.add_header("Content-Type", content_type)
        header = auth if auth is not None else f"Bearer {self.token if token is None else token}"
        if header:
            request.add_header("Authorization", header)
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                status, text = response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            status, text = exc.code, exc.read().decode()
        self.replies.append(text)
        assert_no_secret(text, f"the reply to {method} {path}")
        return Reply(status, json.loads(text) if text else None, text)

    def put(self, job_group: int, body: Any, **options: Any) -> Reply:
        return self.call("PUT", f"/v4/jobGroups/{job_group}/publish", body, **options)

    def wait(self, job_group: int, timeout: float = 240) -> str:
        """Polls the status string, as platform clients do, until it is final."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = self.call("GET", f"/v4/jobGroups/{job_group}/status").body
            if state in FINAL:
                return str(state)
            time.sleep(0.2)
        raise AssertionError(f"job group {job_group} still not finished after {timeout}s")

    def session(self, session_id: str) -> dict[str, Any]:
        reply = self.call("GET", f"/v4/sessions/{session_id}")
        assert reply.status == 200, reply.text
        return dict(reply.body)

    def publications(self, job_group: int) -> list[dict[str, Any]]:
        reply = self.call("GET", f"/v4/jobGroups/{job_group}/publications")
        assert reply.status == 200, reply.text
        return list(reply.body["publications"])

    def done(self, job_group: int) -> list[dict[str, Any]]:
        return [p for p in self.publications(job_group) if p["state"] == "published"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(
    root: Path,
    token: str,
    log_name: str,
    *,
    env: Mapping[str, str] | None = None,
    command: Sequence[str] | None = None,
) -> Served:
    """`publisher serve` in ``root`` on a free port, once /health answers. ``command`` replaces
    ``python -m publisher`` (a wrapper that crashes the server on purpose); ``--config`` and
    ``--port`` follow it."""
    port = free_port()
    environment = {**os.environ, **(env or {}), TOKEN_ENV: token, "PYTHONPATH": str(ROOT)}
    log = root / log_name
    program = list(command or [sys.executable, "-m", "publisher"])
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*program, "serve", "--config", "publisher.yaml", "--port", str(port)],
            cwd=root,
            env=environment,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    served = Served(f"http://127.0.0.1:{port}", token, process, log, root, [])
    deadline = time.monotonic() + 180
    while True:
        if process.poll() is not None or time.monotonic() > deadline:
            stop(served)
            raise AssertionError(f"publisher serve is not up: {log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(served.url + "/health", timeout=2) as response:
                if response.status == 200:
                    return served
        except OSError:
            time.sleep(0.2)


def stop(served: Served) -> None:
    if served.process.poll() is None:
        served.process.send_signal(signal.SIGTERM)
        try:
            served.process.wait(120)
        except subprocess.TimeoutExpired:
            served.process.kill()
            served.process.wait()
    assert_no_secret(served.log.read_text(errors="replace"), "the server's log")
