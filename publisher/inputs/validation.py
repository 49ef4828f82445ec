"""JSON Schema validation of YAML documents, each error placed at its key or value."""

from __future__ import annotations

import copy
import difflib
import hashlib
import importlib
import json
import re
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from publisher.inputs.yamlfile import Document, JsonPath
from publisher.model.errors import InvalidInput
from publisher.targets import TARGETS

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import ValidationError


_SCHEMAS = Path(__file__).resolve().parent.parent / "schemas"


@cache
def schema(name: str) -> dict[str, Any]:
    """A schema from publisher/schemas/ (top-level schemas/ links there), by file name."""
    # Package data beside the code, so that an installed wheel finds them too. A plain path, not
    # importlib.resources: that costs ~10 ms of imports on every run, for zip installs we never make.
    loaded: dict[str, Any] = json.loads((_SCHEMAS / name).read_text(encoding="utf-8"))
    return loaded


@cache
def validator(name: str, *pointer: str) -> Draft202012Validator:
    """A compiled validator for a schema, or for the sub-schema at ``pointer``.

    Compiled once per process: with 1,000 specs, per-file compilation would dominate.
    """
    # Imported here: jsonschema (~50 ms) only runs to describe errors, and a valid project has none.
    from jsonschema import Draft202012Validator, validators

    # JSON Schema counts 31.0 as an integer (JSON has one number type), but YAML tells them apart:
    # an id written 31.0 is a mistake (and a float loses precision beyond 2**53), so only ints are.
    # (types-jsonschema leaves extend untyped.)
    strict_validator = validators.extend(  # type: ignore[no-untyped-call]
        Draft202012Validator,
        type_checker=Draft202012Validator.TYPE_CHECKER.redefine(
            "integer", lambda _, value: isinstance(value, int) and not isinstance(value, bool)
        ),
    )
    strict: Draft202012Validator = strict_validator(_sub_schema(name, *pointer))
    return strict


def _sub_schema(name: str, *pointer: str) -> dict[str, Any]:
    root = schema(name)
    sub: dict[str, Any] = root
    for part in pointer:
        sub = sub[part]
    if pointer:
        # Keep $defs reachable from the sub-schema.
        sub = {**sub, "$defs": root.get("$defs", {})}
    return sub


def _has_float(value: Any) -> bool:
    if isinstance(value, dict):
        return any(_has_float(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_float(v) for v in value)
    return isinstance(value, float)


PRECOMPILED: dict[tuple[str, ...], str] = {
    ("config.schema.json",): "config",
    ("publish-spec.schema.json",): "publish_spec",
    **{("publish-spec.schema.json", "$defs", "target", t.name): t.spec_schema_code for t in TARGETS.values()},
}
"""Schemas whose fastjsonschema code is generated ahead of time into publisher/inputs/schema_code/
(scripts/compile_schemas.py): importing it takes ~2 ms where compiling the schemas takes ~70 ms,
on every validate and plan."""


def schema_digest(name: str, *pointer: str) -> str:
    """The (sub-)schema's SHA-256: what its generated code was made from."""
    return hashlib.sha256(json.dumps(_sub_schema(name, *pointer), sort_keys=True).encode()).hexdigest()


@cache
def _compiled(name: str, *pointer: str) -> Any:
    module = PRECOMPILED.get((name, *pointer))
    if module is not None:
        code = importlib.import_module(f"publisher.inputs.schema_code.{module}")
        if schema_digest(name, *pointer) == code.SCHEMA_SHA256:
            return code.validate
    # A schema edited since its code was generated is still checked as it is now: compiled
    # here (tests/test_vocabulary.py fails until the code is generated again).
    import fastjsonschema

    # A copy: fastjsonschema rewrites the $refs of the schema it compiles, in place, into
    # absolute URIs that the sub-schemas of the shared original could then not resolve.
    return fastjsonschema.compile(copy.deepcopy(_sub_schema(name, *pointer)))


def check(doc: Document, name: str, *pointer: str, instance: Any = None) -> list[InvalidInput]:
    """``validate`` against a schema of schemas/, fast when the document is valid.

    fastjsonschema compiles the schema to Python and checks a valid spec ten times faster
    than jsonschema; jsonschema runs only to describe what is wrong, with its paths.
    (Both schemas use only keywords fastjsonschema knows, and the two agree: tests/test_vocabulary.py.)
    """
    import fastjsonschema

    value = doc.value if instance is None else instance
    try:
        _compiled(name, *pointer)(value)
        if not _has_float(value):  # fastjsonschema takes 31.0 for an integer: let jsonschema judge
            return []
    except fastjsonschema.JsonSchemaException:
        pass
    return validate(doc, validator(name, *pointer), instance)


MAX_HINTS = 50
"""Unknown keys of one mapping that get a "did you mean" hint."""

SECRET_WORDS = re.compile(r"password|secret|token|accesskey|credential", re.IGNORECASE)
"""Key names that say "secret" even where no schema declares them so."""


@cache
def secret_keys() -> frozenset[str]:
    """Keys the config schema declares as secrets ($defs/secret), wherever they are."""
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, sub in node.get("properties", {}).items():
                if isinstance(sub, dict) and sub.get("$ref") == "#/$defs/secret":
                    found.add(key)
            for sub in node.values():
                walk(sub)
        elif isinstance(node, list):
            for sub in node:
                walk(sub)

    walk(schema("config.schema.json"))
    return frozenset(found)


def is_secret(key: str | int) -> bool:
    """Whether a value at this key is a secret, which no message may repeat."""
    return isinstance(key, str) and (key in secret_keys() or bool(SECRET_WORDS.search(key)))


def _masked(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: "<secret>" if is_secret(k) else _masked(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked(v) for v in value]
    return value


def _under_secret(path: JsonPath) -> bool:
    """Whether the value at ``path`` is a secret: at a secret key, or an item of one (tokens: [...])."""
    return any(is_secret(part) for part in path)


def _holds_secret(path: JsonPath, value: Any) -> bool:
    """Whether ``value`` is a secret or holds one, under a key that says so."""
    if _under_secret(path):
        return True
    if isinstance(value, dict):
        return any(_holds_secret((k,), v) for k, v in value.items())
    if isinstance(value, list):
        return any(_holds_secret((), v) for v in value)
    return False


JSON_TYPES: tuple[tuple[type | tuple[type, ...], str], ...] = (
    (bool, "boolean"),  # before int: a bool is an int in Python
    (int, "integer"),
    (float, "number"),
    (str, "string"),
    (list, "array"),
    (dict, "object"),
    (type(None), "null"),
)


def json_type(value: Any) -> str:
    """A value's type in JSON's words (a request body is JSON; YAML specs share the words)."""
    return next((name for kind, name in JSON_TYPES if isinstance(value, kind)), type(value).__name__)


def as_json(value: Any) -> str:
    """A value as JSON writes it: true, null, "text", [1, 2], {"a": 1}; never a Python repr."""
    try:
        return json.dumps(value, ensure_ascii=False, default=str)
    except (ValueError, RecursionError):  # NaN is refused before here; a YAML date falls back to str
        return str(value)


def _shown(path: JsonPath, value: Any) -> str:
    """A found value for an error message, as JSON writes it, secrets masked (an error never repeats one)."""
    if _under_secret(path):
        return "a value that is not shown: it is a secret"
    return as_json(_masked(value))


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
    found = _as_written(doc.value, path, cast(Any, error.instance))
    rule: dict[str, Any] = error.schema if isinstance(error.schema, dict) else {}
    kind = str(error.validator)
    expected = cast(Any, error.validator_value)
    custom = rule.get("x-message")

    if kind == "additionalProperties" or kind == "unevaluatedProperties":
        allowed = [k for k in rule.get("properties", {}) if not k.startswith("$")]
        extra = [k for k in found if k not in rule.get("properties", {})]
        return [
            InvalidInput(
                f"unknown key '{key}'{' in ' + _name(path) if path else ''}"
                # A hint costs a fuzzy match: past a few dozen unknown keys the file is not
                # misspelt but something else, and hints would make a big file take minutes.
                f"{did_you_mean(key, allowed) if i < MAX_HINTS else ''} (allowed: {', '.join(allowed)})",
                doc.where((*path, key), key=True),
            )
            for i, key in enumerate(extra)
        ]
    if kind == "required":
        if custom:  # a key required by another key's value (mergeKeys with action merge)
            return [InvalidInput(custom, where)]
        missing = [k for k in expected if k not in found]
        inside = f" in {_name(path)}" if path else ""
        return [InvalidInput(f"missing required key '{k}'{inside}", where) for k in missing]
    shown = _shown(path, found)
    if kind == "enum":
        choices = [str(c) for c in expected]
        hint = "" if _holds_secret(path, found) or not isinstance(found, str) else did_you_mean(found, choices)
        lead = f"{_name(path)} {custom}: " if custom else f"{_name(path)}: "
        return [InvalidInput(f"{lead}{shown} is not one of {', '.join(choices)}{hint}", where)]
    if kind == "const":
        return [InvalidInput(f"{_name(path)}: {shown} must be {as_json(expected)}", where)]
    if custom and not path_is_container(kind):
        return [InvalidInput(f"{_name(path)} {custom} (found {shown})", where)]
    if kind == "type":
        wanted = " or ".join(expected) if isinstance(expected, list) else expected
        kind_found = "" if found is None or _under_secret(path) else f", {a(json_type(found))}"
        return [InvalidInput(f"{_name(path)} must be of type {wanted} (found {shown}{kind_found})", where)]
    if kind in ("oneOf", "anyOf"):
        # Prefer the most specific sub-error, else the schema's own message.
        best = _best_context(error)
        if best is not None:
            return _describe(doc, best)
    if _holds_secret(path, found):
        # jsonschema's own message repeats the value: say which rule failed instead.
        return [InvalidInput(f"{_name(path)}: fails '{kind}: {error.validator_value}' (found {shown})", where)]
    # jsonschema's messages begin with the value's Python repr ("None is not ...", "['a', 'a'] has
    # non-unique elements"): JSON's words instead.
    message, raw = error.message, repr(error.instance)
    if message.startswith(raw):
        message = shown + message[len(raw) :]
    return [InvalidInput(f"{_name(path)}: {message}", where)]


def _as_written(document: Any, path: JsonPath, checked: Any) -> Any:
    """The value at ``path`` as the document writes it, where the instance checked was derived
    from it (a spec's source, resolved against its folder); ``checked`` where it has none."""
    node = document
    for part in path:
        if isinstance(node, dict):
            held = part in node
        else:
            held = isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        if not held:
            return checked
        node = node[part]
    return node


def a(word: str) -> str:
    """'a boolean', 'an integer', 'null'."""
    return word if word == "null" else ("an " if word[0] in "aeiou" else "a ") + word


def path_is_container(kind: str) -> bool:
    """Keywords whose errors concern a container's items, where the container's message would mislead."""
    return kind in ("items", "prefixItems", "contains")


def _best_context(error: ValidationError) -> ValidationError | None:
    deepest = [e for e in error.context if len(e.absolute_path) > len(error.absolute_path)]
    return max(deepest, key=lambda e: len(e.absolute_path)) if deepest else None
