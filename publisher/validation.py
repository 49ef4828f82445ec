"""JSON Schema validation of YAML documents, each error placed at its key or value."""

from __future__ import annotations

import difflib
import json
from functools import cache
from importlib.resources import files
from typing import Any, cast

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from publisher.errors import InvalidInput
from publisher.yamlfile import Document, JsonPath


@cache
def schema(name: str) -> dict[str, Any]:
    """A schema from publisher/schemas/ (top-level schemas/ links there), by file name."""
    # Read as package data, so that an installed wheel finds them too.
    loaded: dict[str, Any] = json.loads((files("publisher") / "schemas" / name).read_text(encoding="utf-8"))
    return loaded


@cache
def validator(name: str, *pointer: str) -> Draft202012Validator:
    """A compiled validator for a schema, or for the sub-schema at ``pointer``.

    Compiled once per process: with 1,000 specs, per-file compilation would dominate.
    """
    return Draft202012Validator(_sub_schema(name, *pointer))


@cache
def _compiled(name: str, *pointer: str) -> Any:
    import fastjsonschema

    return fastjsonschema.compile(_sub_schema(name, *pointer))


def _sub_schema(name: str, *pointer: str) -> dict[str, Any]:
    root = schema(name)
    sub: dict[str, Any] = root
    for part in pointer:
        sub = sub[part]
    if pointer:
        # Keep $defs reachable from the sub-schema.
        sub = {**sub, "$defs": root.get("$defs", {})}
    return sub


def check(doc: Document, name: str, *pointer: str, instance: Any = None) -> list[InvalidInput]:
    """``validate`` against a schema of schemas/, fast when the document is valid.

    fastjsonschema compiles the schema to Python and checks a valid spec ten times faster
    than jsonschema; jsonschema runs only to describe what is wrong, with its paths.
    (The spec schema uses only keywords fastjsonschema knows: tests/test_vocabulary.py.)
    """
    import fastjsonschema

    try:
        _compiled(name, *pointer)(doc.value if instance is None else instance)
        return []
    except fastjsonschema.JsonSchemaException:
        return validate(doc, validator(name, *pointer), instance)


def did_you_mean(word: str, choices: list[str] | tuple[str, ...]) -> str:
    """'; did you mean 'x'?' for a close match among ``choices``, else ''."""
    match = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"; did you mean '{match[0]}'?" if match else ""


def validate(doc: Document, validator: Draft202012Validator, instance: Any = None) -> list[InvalidInput]:
    """Every schema error in ``doc`` (or in ``instance``, a value derived from it)."""
    errors: list[InvalidInput] = []
    target = doc.value if instance is None else instance
    for error in sorted(validator.iter_errors(target), key=lambda e: list(map(str, e.absolute_path))):
        errors.extend(_describe(doc, error))
    # A bad value may fail several keywords: keep the first error per location, and
    # every missing key (they share the mapping's location).
    unique: dict[str, InvalidInput] = {}
    for e in errors:
        key = str(e) if e.message.startswith("missing required key") else str(e.location)
        unique.setdefault(key, e)
    return sorted(unique.values(), key=lambda e: (e.location.line, e.location.col) if e.location else (0, 0))


def _name(path: JsonPath) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "the top level"


def _describe(doc: Document, error: ValidationError) -> list[InvalidInput]:
    path: JsonPath = tuple(error.absolute_path)
    where = doc.where(path)
    # Errors from iter_errors always have these set; their types also allow jsonschema's Unset.
    found = cast(Any, error.instance)
    rule: dict[str, Any] = error.schema if isinstance(error.schema, dict) else {}
    kind = str(error.validator)
    expected = cast(Any, error.validator_value)
    custom = rule.get("x-message")

    if kind == "additionalProperties" or kind == "unevaluatedProperties":
        allowed = [k for k in rule.get("properties", {}) if not k.startswith("$")]
        extra = [k for k in found if k not in rule.get("properties", {})]
        return [
            InvalidInput(
                f"unknown key '{key}'{' in ' + _name(path) if path else ''}{did_you_mean(key, allowed)}"
                f" (allowed: {', '.join(allowed)})",
                doc.where((*path, key), key=True),
            )
            for key in extra
        ]
    if kind == "required":
        missing = [k for k in expected if k not in found]
        inside = f" in {_name(path)}" if path else ""
        return [InvalidInput(f"missing required key '{k}'{inside}", where) for k in missing]
    if kind == "enum":
        choices = [str(c) for c in expected]
        hint = did_you_mean(str(found), choices)
        lead = f"{_name(path)} {custom}: " if custom else f"{_name(path)}: "
        return [InvalidInput(f"{lead}{found!r} is not one of {', '.join(choices)}{hint}", where)]
    if kind == "const":
        return [InvalidInput(f"{_name(path)}: {found!r} must be {expected!r}", where)]
    if custom and not path_is_container(kind):
        return [InvalidInput(f"{_name(path)} {custom} (found {found!r})", where)]
    if kind == "type":
        return [InvalidInput(f"{_name(path)} must be of type {expected} (found {found!r})", where)]
    if kind in ("oneOf", "anyOf"):
        # Prefer the most specific sub-error, else the schema's own message.
        best = _best_context(error)
        if best is not None:
            return _describe(doc, best)
    return [InvalidInput(f"{_name(path)}: {error.message}", where)]


def path_is_container(kind: str) -> bool:
    """Keywords whose errors concern a container's items, where the container's message would mislead."""
    return kind in ("items", "prefixItems", "contains")


def _best_context(error: ValidationError) -> ValidationError | None:
    deepest = [e for e in error.context if len(e.absolute_path) > len(error.absolute_path)]
    return max(deepest, key=lambda e: len(e.absolute_path)) if deepest else None
