"""JSON Schema validation of YAML documents, each error placed at its key or value."""

from __future__ import annotations

import copy
import difflib
import hashlib
import importlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from publisher.inputs.yamlfile import Document, JsonPath
from publisher.model.errors import InvalidInput, Location
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


@dataclass(frozen=True)
class _Failed:
    """One schema error as the rules below read it: where, what the document says there, and
    the failed rule's own message (``x-message``), if the schema gives one."""

    doc: Document
    error: ValidationError
    path: JsonPath
    found: Any  # as the document writes it
    rule: dict[str, Any]  # the (sub-)schema that failed
    custom: str | None

    @property
    def where(self) -> Location:
        return self.doc.where(self.path)

    @property
    def name(self) -> str:
        return _name(self.path)

    @property
    def shown(self) -> str:
        return _shown(self.path, self.found)

    @property
    def expected(self) -> Any:
        return cast(Any, self.error.validator_value)


Rule = Callable[[_Failed], "list[InvalidInput] | None"]


def _unknown_keys(f: _Failed) -> list[InvalidInput]:
    allowed = [k for k in f.rule.get("properties", {}) if not k.startswith("$")]
    extra = [k for k in f.found if k not in f.rule.get("properties", {})]
    return [
        InvalidInput(
            f"unknown key '{key}'{' in ' + f.name if f.path else ''}"
            # A hint costs a fuzzy match: past a few dozen unknown keys the file is not
            # misspelt but something else, and hints would make a big file take minutes.
            f"{did_you_mean(key, allowed) if i < MAX_HINTS else ''} (allowed: {', '.join(allowed)})",
            f.doc.where((*f.path, key), key=True),
        )
        for i, key in enumerate(extra)
    ]


def _missing(f: _Failed) -> list[InvalidInput]:
    if f.custom:  # a key required by another key's value (mergeKeys with action merge)
        return [InvalidInput(f.custom, f.where)]
    inside = f" in {f.name}" if f.path else ""
    return [InvalidInput(f"missing required key '{k}'{inside}", f.where) for k in f.expected if k not in f.found]


def _not_one_of(f: _Failed) -> list[InvalidInput]:
    choices = [str(c) for c in f.expected]
    hint = "" if _holds_secret(f.path, f.found) or not isinstance(f.found, str) else did_you_mean(f.found, choices)
    lead = f"{f.name} {f.custom}: " if f.custom else f"{f.name}: "
    return [InvalidInput(f"{lead}{f.shown} is not one of {', '.join(choices)}{hint}", f.where)]


def _not_the_constant(f: _Failed) -> list[InvalidInput]:
    return [InvalidInput(f"{f.name}: {f.shown} must be {as_json(f.expected)}", f.where)]


def _wrong_type(f: _Failed) -> list[InvalidInput]:
    wanted = " or ".join(f.expected) if isinstance(f.expected, list) else f.expected
    kind_found = "" if f.found is None or _under_secret(f.path) else f", {a(json_type(f.found))}"
    return [InvalidInput(f"{f.name} must be of type {wanted} (found {f.shown}{kind_found})", f.where)]


def _most_specific(f: _Failed) -> list[InvalidInput] | None:
    """The deepest of the alternatives' errors; None: the schema's own message."""
    best = _best_context(f.error)
    return _describe(f.doc, best) if best is not None else None


OWN_WORDS: dict[str, Rule] = {
    "additionalProperties": _unknown_keys,
    "unevaluatedProperties": _unknown_keys,
    "required": _missing,
    "enum": _not_one_of,
    "const": _not_the_constant,
}
"""Keywords described in our words, with the schema's x-message inside them where it gives one."""

UNLESS_SCHEMA_SAYS: dict[str, Rule] = {"type": _wrong_type, "oneOf": _most_specific, "anyOf": _most_specific}
"""Keywords described in our words where the schema gives no x-message (which wins)."""


def _describe(doc: Document, error: ValidationError) -> list[InvalidInput]:
    path: JsonPath = tuple(error.absolute_path)
    rule: dict[str, Any] = error.schema if isinstance(error.schema, dict) else {}
    # Errors from iter_errors always have these set; their types also allow jsonschema's Unset.
    found = _as_written(doc.value, path, cast(Any, error.instance))
    failed = _Failed(doc, error, path, found, rule, rule.get("x-message"))
    kind = str(error.validator)
    if kind in OWN_WORDS:
        return OWN_WORDS[kind](failed) or []
    if failed.custom and not path_is_container(kind):
        return [InvalidInput(f"{failed.name} {failed.custom} (found {failed.shown})", failed.where)]
    described = UNLESS_SCHEMA_SAYS[kind](failed) if kind in UNLESS_SCHEMA_SAYS else None
    if described is not None:
        return described
    return _in_json_words(failed)


def _in_json_words(f: _Failed) -> list[InvalidInput]:
    """jsonschema's own message, where no rule above describes the keyword."""
    kind = str(f.error.validator)
    if _holds_secret(f.path, f.found):
        # jsonschema's own message repeats the value: say which rule failed instead.
        return [InvalidInput(f"{f.name}: fails '{kind}: {f.expected}' (found {f.shown})", f.where)]
    # jsonschema's messages begin with the value's Python repr ("None is not ...", "['a', 'a'] has
    # non-unique elements"): JSON's words instead.
    message, raw = f.error.message, repr(f.error.instance)
    if message.startswith(raw):
        message = f.shown + message[len(raw) :]
    return [InvalidInput(f"{f.name}: {message}", f.where)]


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
