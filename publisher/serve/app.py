"""The HTTP front door: the platform's publish endpoint and its status endpoints, as a
Starlette app over the same validation, planner, executor and ledger as the command line."""

from __future__ import annotations

import asyncio
import hmac
import logging
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import quote

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from publisher.engines.pool import Pool
from publisher.inputs.config import Config, Connection
from publisher.inputs.request import Problem, parse_body, request_spec
from publisher.inputs.spec import Spec
from publisher.model.errors import Errors, PublisherError
from publisher.model.identity import PublicationId
from publisher.planning.ledger import Entry, owned
from publisher.serve.openapi import openapi_document
from publisher.serve.redact import Redactor
from publisher.serve.sessions import Session, Sessions, describe, describe_entry, session_id
from publisher.workflow.history import ledger_rows
from publisher.workflow.make import make_plan

MAX_BODY = 1024 * 1024
"""Largest request body accepted (bytes): a spec is well under 1 KB."""

MAX_ID = 2**63 - 1
"""The largest job group id (a BIGINT, as the spec schema says)."""

UNAUTHENTICATED = frozenset({"/health"})
PATH_SAFE = "/!$&'()*+,;=:@-._~"
"""What an access log line's path keeps as is (RFC 3986 pchar); everything else is percent-encoded."""

log = logging.getLogger("publisher.serve")
access = logging.getLogger("publisher.serve.access")


def error(status: int, name: str, message: str, details: list[Problem] | None = None) -> JSONResponse:
    """The platform's error body: an ``exception`` object that clients log."""
    body: dict[str, Any] = {"name": name, "message": message}
    if details is not None:
        body["details"] = [{"path": p.path, "message": p.message} for p in details]
    return JSONResponse({"exception": body}, status_code=status)


class Server:
    """The app's state: the config, the tokens (read once, at start), the sessions."""

    def __init__(self, config: Config, tokens: list[str], concurrency: int) -> None:
        self.config = config
        self.tokens = [t.encode() for t in tokens]
        self.redact = Redactor(config)
        self.sessions = Sessions(config, concurrency, self.redact)
        self._planning: dict[PublicationId, asyncio.Lock] = {}

    def authorized(self, header: str | None) -> bool:
        """Whether the Authorization header carries one of the tokens; every token is compared,
        each in constant time, so the time taken says nothing about which part matched."""
        scheme, _, given = (header or "").partition(" ")
        candidate = given.strip().encode()
        matched = False
        for token in self.tokens:
            matched |= hmac.compare_digest(candidate, token)
        return matched and scheme.lower() == "bearer"

    # -- routes ---------------------------------------------------------------------------

    async def health(self, request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def open_api(self, request: Request) -> Response:
        return JSONResponse(openapi_document())

    async def publish(self, request: Request) -> Response:
        job_group: int = request.path_params["id"]
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind != "application/json":
            return error(415, "UnsupportedMediaType", f"the body must be application/json, not {kind or 'untyped'}")
        try:
            body = await _read_body(request)
        except ClientDisconnect:  # closed before the whole body came (by the client, or readTimeout)
            return error(408, "RequestTimeout", "the connection closed before the whole body arrived")
        if body is None:
            reply = error(413, "PayloadTooLarge", f"the body is larger than {MAX_BODY:,} bytes")
            reply.headers["Connection"] = "close"  # the rest of the body is not read
            return reply
        value, problems = parse_body(body)
        spec = None
        if not problems:
            spec, problems = request_spec(value, job_group, self.config)
        if problems or spec is None:
            return error(400, "ValidationError", _summary(problems), problems)
        lock = self._planning.setdefault(spec.id, asyncio.Lock())
        async with lock:  # one PUT of a publication plans at a time: the next sees its session
            running = self.sessions.active(spec.id)
            if running is not None:
                return _started(running, "JobRunning")
            try:
                published = await run_in_threadpool(self._already_published, spec)
            except Errors as exc:
                messages = [self.redact(e.message) for e in exc.errors]
                return error(400, "PlanError", "; ".join(messages), [Problem("", m) for m in messages])
            if published is not None:
                return _started(published, "AlreadyPublished")
            try:
                session = self.sessions.submit(spec)
            except PublisherError as exc:
                return error(503, "ServiceUnavailable", exc.message)
        return _started(session, "JobStarted")

    def _already_published(self, spec: Spec) -> Session | None:
        """Plans the spec live, as apply would (raises Errors when it cannot be published);
        the session of its publication when the ledger holds it as done; None when it is to
        run: pending, unfinished (published, steps after its COMMIT left by a killed run), or
        its target cannot be reached now (as the platform, the job starts and its session
        fails, unless the target is back when its turn comes: the run plans again)."""
        pool = Pool(self.config)
        try:
            try:
                pool.target(spec.connection)
            except Exception as exc:
                why = self.redact(" ".join(str(exc).split())[:300])
                log.warning("%s: cannot reach the target to plan the PUT; queued, planned again at its turn", why)
                return None
            plan = make_plan(self.config, [spec], pool, offline=False)
            publication = plan.publications[0]
            if publication.status in ("pending", "unfinished"):
                return None
            rows = ledger_rows(self.config, pool, "job_group", spec.job_group, only=spec.connection)
            done = [e for _, e in rows if e.id == spec.id and owned(e, spec.project)]
        finally:
            pool.close()
        done = [e for e in done if e.state == "done"]
        entry = done[-1] if done else None
        session = Session(
            session_id(entry.run_id) if entry else str(uuid.uuid4()),
            spec.job_group,
            describe_entry(entry, spec.connection.name) if entry else describe(spec),
            reason="AlreadyPublished",
            state="Complete",
            note=f"already published: {publication.status_detail}",
        )
        return self.sessions.remember(session)

    def _read_ledgers(self, column: str, value: int | str) -> list[tuple[Connection, Entry]]:
        pool = Pool(self.config)
        try:
            return ledger_rows(self.config, pool, column, value)
        finally:
            pool.close()

    def _ledger_session(self, column: str, value: int | str) -> Session | None:
        """The newest run the ledgers hold where ``column`` is ``value``, as a session: what a
        server started since (or the CLI) knows of a publication it did not run itself."""
        rows = self._read_ledgers(column, value)
        if not rows:
            return None
        connection, last = rows[-1]
        done = [e for _, e in rows if e.run_id == last.run_id and e.state == "done"]
        session = Session(session_id(last.run_id), last.job_group, describe_entry(last, connection.name))
        session.state = "Complete" if done else "Failed"
        session.note = (
            "from the ledger (this server did not run it)"
            if done
            else "from the ledger: started, not finished: interrupted, or running in another process; "
            "a PUT of it recovers an interrupted publication"
        )
        return session

    async def status(self, request: Request) -> Response:
        job_group: int = request.path_params["id"]
        if not 1 <= job_group <= MAX_ID:
            return _no_job_group(job_group)
        try:
            session = self.sessions.latest(job_group) or await run_in_threadpool(
                self._ledger_session, "job_group", job_group
            )
        except Exception as exc:  # a target that cannot be reached
            return self._unreachable(exc)
        if session is None:
            return error(404, "NotFound", f"no publish session of job group {job_group}")
        return JSONResponse(session.state)

    async def session(self, request: Request) -> Response:
        sid = request.path_params["session_id"]
        found = self.sessions.get(sid)
        if found is None:
            try:
                run = uuid.UUID(sid)  # the ledger is asked only for a well-formed id
            except ValueError:
                return error(404, "NotFound", "no such session: a session id is a UUID")
            try:  # the server's run ids are dashed UUIDs, the CLI's plain hex
                found = await run_in_threadpool(self._ledger_session, "run_id", str(run))
                found = found or await run_in_threadpool(self._ledger_session, "run_id", run.hex)
            except Exception as exc:
                return self._unreachable(exc)
        if found is None:
            # A run killed before its COMMIT left nothing in a ledger (Redshift rolls it back).
            return error(404, "NotFound", "no such session on this server or in the ledgers: PUT the publication")
        return JSONResponse(found.to_json())

    async def publications(self, request: Request) -> Response:
        job_group: int = request.path_params["id"]
        if not 1 <= job_group <= MAX_ID:
            return _no_job_group(job_group)

        def read() -> list[dict[str, Any]]:
            rows = self._read_ledgers("job_group", job_group)
            return [describe_entry(entry, connection.name) for connection, entry in rows]

        try:
            entries = await run_in_threadpool(read)
        except Exception as exc:  # a target that cannot be reached
            return self._unreachable(exc)
        return JSONResponse({"jobgroupId": job_group, "publications": entries})

    def _unreachable(self, exc: Exception) -> Response:
        lines = str(exc).strip().splitlines() or [""]
        why = self.redact(f"cannot read the ledgers: {type(exc).__name__}: {lines[0][:300]}")
        log.warning("%s", why)
        return error(503, "ServiceUnavailable", why)


def _no_job_group(job_group: int) -> JSONResponse:
    return error(404, "NotFound", f"no job group {job_group}: job group ids are whole numbers from 1 to {MAX_ID}")


def _started(session: Session, reason: str) -> JSONResponse:
    return JSONResponse({"jobgroupId": session.job_group, "reason": reason, "sessionId": session.id})


def _summary(problems: list[Problem]) -> str:
    first = problems[0]
    head = f"{first.path}: {first.message}" if first.path else first.message
    more = len(problems) - 1
    return f"invalid publish request: {head}" + (f" (and {more} more problem{'s' if more > 1 else ''})" if more else "")


async def _read_body(request: Request) -> bytes | None:
    """The body, or None when it is larger than MAX_BODY (read no further than that)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


class Guard:
    """Authentication before routing (an unknown path answers 401 too, so routes cannot be
    probed without a token), and one access log line per request: no query string, no headers."""

    def __init__(self, app: ASGIApp, server: Server) -> None:
        self.app = app
        self.server = server

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.monotonic()
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            headers = dict(scope["headers"])
            header = headers.get(b"authorization", b"").decode("latin-1")
            if scope["path"] in UNAUTHENTICATED or self.server.authorized(header):
                await self.app(scope, receive, sending)
            else:
                reply = error(
                    401,
                    "AuthenticationError",
                    "send Authorization: Bearer <token>, a token of publisher.yaml's server: section",
                )
                reply.headers["WWW-Authenticate"] = "Bearer"
                await reply(scope, receive, sending)
        finally:
            client = scope.get("client") or ("-", 0)
            access.info(
                '%s "%s %s" %d %.1fms',
                client[0],
                scope["method"],
                # Percent-encoded again: a path may decode to a line break or control
                # characters, which would forge or garble log lines.
                quote(scope["path"], safe=PATH_SAFE),
                status,
                (time.monotonic() - started) * 1000,
            )


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    names = {404: "NotFound", 405: "MethodNotAllowed"}
    reply = error(exc.status_code, names.get(exc.status_code, "HTTPError"), str(exc.detail))
    reply.headers.update(exc.headers or {})  # 405: Allow, which RFC 9110 requires
    return reply


async def _internal_error(request: Request, exc: Exception) -> Response:
    log.error("internal error (a bug in publisher) on %s %s: %s", request.method, request.url.path, type(exc).__name__)
    return error(500, "InternalError", f"internal error (a bug in publisher): {type(exc).__name__}")


def create_app(config: Config, tokens: list[str], concurrency: int) -> tuple[ASGIApp, Server]:
    """The ASGI app for ``config``, and its state."""
    server = Server(config, tokens, concurrency)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        # uvicorn has stopped accepting and answered what was in flight: wait for the runs.
        await run_in_threadpool(server.sessions.shutdown)

    app = Starlette(
        routes=[
            Route("/health", server.health, methods=["GET"]),
            Route("/v4/open-api-spec", server.open_api, methods=["GET"]),
            Route("/v4/jobGroups/{id:int}/publish", server.publish, methods=["PUT"]),
            Route("/v4/jobGroups/{id:int}/status", server.status, methods=["GET"]),
            Route("/v4/jobGroups/{id:int}/publications", server.publications, methods=["GET"]),
            Route("/v4/sessions/{session_id}", server.session, methods=["GET"]),
        ],
        exception_handlers={HTTPException: _http_error, Exception: _internal_error},
        lifespan=lifespan,
    )
    return Guard(app, server), server
