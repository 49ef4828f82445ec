"""publisher serve against slow and many clients, over real sockets to a started server:
half-sent requests are closed after server.readTimeout, idle connections after
keepAliveTimeout, requests beyond maxRequests answered 503, and a normal request still
works meanwhile. The target is a HiveServer2 on a closed loopback port: nothing here plans,
so no engine is started or contacted."""

from __future__ import annotations

import secrets
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.serving import Served, free_port, start, stop

pytestmark = pytest.mark.server

READ_TIMEOUT = 1.5
KEEP_ALIVE = 1.0
MAX_REQUESTS = 20


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    pytest.importorskip("uvicorn")
    root: Path = tmp_path_factory.mktemp("limits")
    (root / "publisher.yaml").write_text(
        "results: results/{jobGroup}/{flowNodeId}/\n"
        "connections:\n"
        f"  - {{id: 1, name: hs2, type: hive, host: 127.0.0.1, port: {free_port()}, auth: NONE, username: x}}\n"
        "server:\n"
        "  tokens: ['${PUBLISHER_TEST_SECRET}']\n"
        f"  readTimeout: {READ_TIMEOUT}\n"
        f"  keepAliveTimeout: {KEEP_ALIVE}\n"
        f"  maxRequests: {MAX_REQUESTS}\n"
    )
    server = start(root, secrets.token_hex(16), "server.log")
    try:
        yield server
    finally:
        stop(server)


def _connect(served: Served) -> socket.socket:
    host, port = served.url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=10)
    return sock


def _closed_after(sock: socket.socket, limit: float) -> tuple[float, bytes]:
    """Seconds until the server closes ``sock`` (reading what it sends), at most ``limit``."""
    started = time.monotonic()
    received = b""
    sock.settimeout(limit)
    try:
        while chunk := sock.recv(4096):
            received += chunk
    except TimeoutError:
        return float("inf"), received
    except ConnectionResetError:
        pass
    return time.monotonic() - started, received


def _health(served: Served) -> bytes:
    with _connect(served) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        return _closed_after(sock, 5)[1]


@pytest.mark.parametrize(
    "sent",
    [
        b"",  # connected, nothing sent
        b"GET /health HTTP/1.1\r\nHost: x\r\n",  # headers without their end
        b"PUT /v4/jobGroups/31/publish HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b'Authorization: Bearer TOKEN\r\nContent-Length: 100\r\n\r\n{"conn',  # headers whole, the body cut short
    ],
    ids=["nothing", "half the headers", "half the body"],
)
def test_a_half_sent_request_is_closed_within_the_read_timeout(served: Served, sent: bytes) -> None:
    with _connect(served) as sock:
        sock.sendall(sent.replace(b"TOKEN", served.token.encode()))
        took, received = _closed_after(sock, READ_TIMEOUT + 5)
    assert READ_TIMEOUT - 0.2 < took < READ_TIMEOUT + 1.5, took
    if sent.endswith(b"\r\n") and b"\r\n\r\n" not in sent:
        assert received.startswith(b"HTTP/1.1 408 "), received


def test_a_slow_client_cannot_extend_the_deadline_byte_by_byte(served: Served) -> None:
    request = b"GET /health HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"a" * 100
    with _connect(served) as sock:
        started = time.monotonic()
        closed = False
        for byte in request:  # one byte every 50 ms: 5 s in all, well past the timeout
            try:
                sock.sendall(bytes([byte]))
            except OSError:
                closed = True
                break
            time.sleep(0.05)
            if time.monotonic() - started > READ_TIMEOUT + 1.5:
                break
        if not closed:
            took, _ = _closed_after(sock, 0.5)
            closed = took != float("inf")
    assert closed and time.monotonic() - started < READ_TIMEOUT + 2


def test_an_idle_kept_alive_connection_is_closed_after_the_keep_alive_timeout(served: Served) -> None:
    with _connect(served) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        reply = b""
        while b'"ok"' not in reply:
            reply += sock.recv(4096)
        assert reply.startswith(b"HTTP/1.1 200 ")
        took, _ = _closed_after(sock, KEEP_ALIVE + 5)
    assert KEEP_ALIVE - 0.2 < took < KEEP_ALIVE + 1.5, took


def test_a_second_request_on_a_kept_alive_connection_works(served: Served) -> None:
    with _connect(served) as sock:
        for _ in range(2):
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            reply = b""
            while b'"ok"' not in reply:
                reply += sock.recv(4096)
            assert reply.startswith(b"HTTP/1.1 200 ")
            time.sleep(KEEP_ALIVE / 3)


def _half_bodies(served: Served, count: int) -> list[socket.socket]:
    """``count`` PUTs with their headers whole and half their body: requests the app is answering."""
    held = [_connect(served) for _ in range(count)]
    for sock in held:
        sock.sendall(
            b"PUT /v4/jobGroups/31/publish HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Authorization: Bearer " + served.token.encode() + b"\r\nContent-Length: 100\r\n\r\n{"
        )
    time.sleep(0.3)
    return held


def test_requests_beyond_the_cap_get_503_at_once_and_are_served_again_once_under_it(served: Served) -> None:
    held = _half_bodies(served, MAX_REQUESTS)
    try:
        started = time.monotonic()
        with _connect(served) as sock:
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            took, received = _closed_after(sock, 5)  # closed: 503 comes with Connection: close
        assert received.startswith(b"HTTP/1.1 503 ") and b"connection: close" in received.lower(), received
        assert time.monotonic() - started < 1
        for sock in held:  # the held requests end at the read timeout (the app's 408 is not sent: closed)
            _closed_after(sock, READ_TIMEOUT + 5)
    finally:
        for sock in held:
            sock.close()
    assert _health(served).startswith(b"HTTP/1.1 200 ")


def test_a_normal_request_works_meanwhile_hundreds_of_half_sent_ones(served: Served) -> None:
    held = [_connect(served) for _ in range(300)]  # 15 times the cap, each sending half its headers
    try:
        for sock in held:
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")
        time.sleep(0.3)
        for _ in range(3):
            reply = _health(served)
            assert reply.startswith(b"HTTP/1.1 200 ") and b'{"status":"ok"}' in reply, reply
        # ... and every half-sent one is closed within the read timeout, each with a 408.
        started = time.monotonic()
        for sock in held:
            took, received = _closed_after(sock, max(0.1, READ_TIMEOUT + 5 - (time.monotonic() - started)))
            assert received.startswith(b"HTTP/1.1 408 "), received
        assert time.monotonic() - started < READ_TIMEOUT + 1.5
    finally:
        for sock in held:
            sock.close()


def test_a_normal_request_works_with_requests_just_under_the_cap(served: Served) -> None:
    held = _half_bodies(served, MAX_REQUESTS - 1)
    try:
        reply = _health(served)
        assert reply.startswith(b"HTTP/1.1 200 ") and b'{"status":"ok"}' in reply, reply
    finally:
        for sock in held:
            sock.close()


def test_the_log_names_the_limits_and_the_closed_requests(served: Served) -> None:
    text = served.log.read_text()
    assert f"at most {MAX_REQUESTS} requests at once, {READ_TIMEOUT:g}s to send a request, {KEEP_ALIVE:g}s idle" in text
    assert "request not received within" in text
