"""A lineage server for the tests: a real HTTP receiver on loopback that keeps what it is sent,
and a check of each event against the OpenLineage JSON Schemas kept in tests/openlineage/ (the
spec version openlineage-python declares, 2-0-2, and the facets' own schemas, copied from
OpenLineage/OpenLineage spec/ at commit 8f02abfb7a25; Apache-2.0, see
tests/openlineage/LICENSE)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jsonschema
from referencing import Registry, Resource

from tests.secrets import assert_no_secret

SCHEMAS = Path(__file__).resolve().parent / "openlineage"


class Receiver:
    """Answers POSTs with ``status``; with ``hang``, holds each request that long first."""

    def __init__(self, status: int = 200, hang: float = 0.0) -> None:
        self.status, self.hang = status, hang
        self.events: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if receiver.hang:
                    time.sleep(receiver.hang)
                receiver.events.append(json.loads(body))
                receiver.headers.append(dict(self.headers))
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e["eventType"] == kind]

    def wait_for(self, count: int, seconds: float = 10.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + seconds
        while len(self.events) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.events


@contextmanager
def receiver(status: int = 200, hang: float = 0.0) -> Iterator[Receiver]:
    found = Receiver(status, hang)
    thread = threading.Thread(target=found.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield found
    finally:
        found.server.shutdown()
        found.server.server_close()


def _registry() -> Registry:
    resources = []
    for path in [SCHEMAS / "OpenLineage.json", *sorted((SCHEMAS / "facets").glob("*.json"))]:
        schema = json.loads(path.read_text())
        resources.append((schema["$id"], Resource.from_contents(schema)))
    return Registry().with_resources(resources)


REGISTRY = _registry()
CORE = json.loads((SCHEMAS / "OpenLineage.json").read_text())["$id"]


def _validate(instance: Any, ref: str) -> None:
    validator = jsonschema.Draft202012Validator(
        {"$ref": ref}, registry=REGISTRY, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    validator.validate(instance)


def _facets(event: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield from event["run"].get("facets", {}).values()
    yield from event["job"].get("facets", {}).values()
    for dataset in event.get("inputs", []) + event.get("outputs", []):
        yield from dataset.get("facets", {}).values()
        yield from dataset.get("inputFacets", {}).values()
        yield from dataset.get("outputFacets", {}).values()


def check_event(event: dict[str, Any]) -> None:
    """Valid against the spec's RunEvent, each facet against its own schema (where kept here: every
    facet the publisher sends), and holding no secret of the suite."""
    assert event["schemaURL"].startswith(CORE), event["schemaURL"]
    _validate(event, f"{CORE}#/$defs/RunEvent")
    for facet in _facets(event):
        url = facet["_schemaURL"]
        assert REGISTRY.get(url.split("#")[0]) is not None, f"no schema kept for {url}"
        _validate(facet, url)
    assert_no_secret(json.dumps(event), f"the {event['eventType']} event of {event['job']['name']}")
