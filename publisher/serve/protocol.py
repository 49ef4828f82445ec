"""uvicorn's h11 protocol with a deadline for reading a request, and a cap on the requests
being answered at once.

uvicorn (0.55) times out only idle keep-alive connections, and only after a first response:
a client that connects and sends part of a request's headers, or of its body, holds the
connection (and, once its headers are in, a task of the app) for as long as it likes. h11
is sans-I/O and has no clock either. Here a request gets ``read_timeout`` seconds from the
moment the connection opened (the first request) or its first byte came (a later request on a
kept-alive connection, idle until then under uvicorn's keep-alive timer) until its last byte;
after that the connection is closed, with a 408 when part of the headers came.

uvicorn's own cap (limit_concurrency) counts every open connection, half-sent ones too, so
that a few hundred half-sent requests make it answer 503 to everyone until they time out.
Here the cap counts requests whose headers are in (the app's tasks, a body still arriving
included); a connection still sending its headers, or idle between requests, costs a socket
and no task, and the read and keep-alive timeouts bound how long it may.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import h11
from uvicorn._types import ASGIReceiveCallable, ASGISendCallable, Scope
from uvicorn.protocols.http.flow_control import service_unavailable
from uvicorn.protocols.http.h11_impl import H11Protocol

log = logging.getLogger("publisher.serve")


class DeadlineH11Protocol(H11Protocol):
    """H11Protocol whose requests must arrive whole within ``read_timeout`` seconds, at most
    ``max_requests`` of them answered at once (503 beyond)."""

    read_timeout: float = 10.0  # both set per server by limited()
    max_requests: int = 100

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deadline: asyncio.TimerHandle | None = None
        self.app = self._capped(self.app)

    def _capped(self, app: Any) -> Any:
        tasks, cap = self.tasks, self.max_requests  # tasks: the server's, shared by every connection

        async def capped(scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable) -> None:
            if len(tasks) > cap:  # this request's own task is in tasks already
                log.warning("more than %d requests at once: answered 503", cap)
                await service_unavailable(scope, receive, send)  # with Connection: close
            else:
                await app(scope, receive, send)

        return capped

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self.conn.their_state is h11.IDLE and self._deadline is None:
            self._arm()  # the next request on a kept-alive connection starts arriving
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE and self.conn.their_state is not h11.SEND_BODY:
            self._disarm()  # the whole request is in (DONE), or the connection is closing

    def _arm(self) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(self.read_timeout, self._expired)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expired(self) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        started = self.conn.their_state is h11.IDLE and bool(self.conn.trailing_data[0])
        if started and self.conn.our_state is h11.IDLE:
            # Part of the headers came: say why, as HTTP allows a server to (RFC 9110, 408).
            with contextlib.suppress(h11.LocalProtocolError):
                self.transport.write(
                    self.conn.send(
                        h11.Response(status_code=408, headers=[("connection", "close"), ("content-length", "0")])
                    )
                    + (self.conn.send(h11.EndOfMessage()) or b"")
                )
        if started or self.conn.their_state is h11.SEND_BODY:
            client = f"{self.client[0]}:{self.client[1]}" if self.client else "-"
            log.warning("%s: request not received within %gs; connection closed", client, self.read_timeout)
        self.transport.close()


def limited(read_timeout: float, max_requests: int) -> type[DeadlineH11Protocol]:
    """The protocol class for one server's limits (uvicorn takes a class, not an instance)."""
    return type(
        "DeadlineH11Protocol", (DeadlineH11Protocol,), {"read_timeout": read_timeout, "max_requests": max_requests}
    )
