"""A publish request's JSON body (PUT /v4/jobGroups/<id>/publish) as a Spec: the same schema
and rules as spec files; each error placed at a JSON pointer into the body instead of a line."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from publisher.inputs.config import Config
from publisher.inputs.spec import Spec, document_spec
from publisher.inputs.validation import a, json_type
from publisher.inputs.yamlfile import MAX_DEPTH, Document, JsonPath
from publisher.model.errors import InvalidInput, Location


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a request body: where (a JSON pointer, "" for the whole body) and what."""

    path: str
    message: str


def origin(job_group: int) -> str:
    """What a request's spec names as its file: in plans, sessions and the ledger's spec_file."""
    return f"PUT /v4/jobGroups/{job_group}/publish"


def _pointer(path: JsonPath) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in path)


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise ValueError(f"duplicate key {key!r}: JSON parsers disagree on which value counts")
        seen[key] = value
    return seen


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def parse_body(body: bytes) -> tuple[Any, list[Problem]]:
    """The body's JSON value, or why it is not one JSON object."""
    try:
        value = json.loads(body.decode("utf-8"), object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except UnicodeDecodeError as exc:
        return None, [Problem("", f"the body is not UTF-8 text ({exc.reason} at byte {exc.start})")]
    except RecursionError:
        return None, [Problem("", f"the body is nested more than {MAX_DEPTH} levels deep")]
    except ValueError as exc:  # json.JSONDecodeError too
        return None, [Problem("", f"the body is not valid JSON: {exc}")]
    if not isinstance(value, dict):
        return None, [Problem("", f"the body must be a JSON object (a publish spec), not {a(json_type(value))}")]
    return value, []


class _Positions:
    """Gives every key and value of a JSON value a Location of its own, so that errors from
    the spec rules (which speak in locations) map back to JSON pointers."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.pointers: dict[Location, str] = {}

    def mark(self, path: JsonPath) -> Location:
        where = Location(self.file, len(self.pointers) + 1, 1)
        self.pointers[where] = _pointer(path)
        return where

    def document(self, value: dict[str, Any]) -> Document:
        doc = Document(self.file, value, self.mark(()))
        doc.value_at[()] = doc.start
        self._walk(doc, value, ())
        return doc

    def _walk(self, doc: Document, value: Any, path: JsonPath) -> None:
        if len(path) > MAX_DEPTH:
            raise InvalidInput(f"nested more than {MAX_DEPTH} levels deep", doc.value_at[path])
        items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
        for key, item in items:
            sub = (*path, key)
            doc.value_at[sub] = doc.key_at[sub] = self.mark(sub)
            self._walk(doc, item, sub)


def request_spec(value: dict[str, Any], job_group: int, config: Config) -> tuple[Spec | None, list[Problem]]:
    """The body as the spec it asks for, the path's id as its jobGroup; or every problem."""
    positions = _Positions(origin(job_group))
    problems: list[Problem] = []
    if "jobGroup" in value:
        problems.append(
            Problem("/jobGroup", "jobGroup is the id in the URL (/v4/jobGroups/<id>/publish), not a key of the body")
        )
    source = value.get("source")
    if isinstance(source, str) and not source.startswith("s3://"):
        # A local path from the network would let a client publish any folder of the server's
        # disk; local results come from publisher.yaml's results template only.
        problems.append(
            Problem(
                "/source", "source must be an s3:// URI here; local results come from publisher.yaml's results template"
            )
        )
    try:
        doc = positions.document({"jobGroup": job_group, **{k: v for k, v in value.items() if k != "jobGroup"}})
    except InvalidInput as exc:
        return None, [*problems, Problem(positions.pointers.get(exc.location, "") if exc.location else "", exc.message)]
    spec, found = document_spec(doc, Path(positions.file), config)
    for p in found:
        # The body's keys are the spec's but jobGroup, which the URL gives.
        message = p.message.replace("(allowed: jobGroup, ", "(allowed: ")
        problems.append(Problem(positions.pointers.get(p.location, "") if p.location else "", message))
    if problems:
        return None, problems
    return spec, []
