"""Plans: immutable data that says exactly what apply will run, with a JSON round-trip."""

from __future__ import annotations

import json
from dataclasses import MISSING, dataclass, field, fields, is_dataclass
from types import UnionType
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

PLAN_FORMAT_VERSION = 1

StepKind = Literal["sql", "put_object", "delete_object", "check_location"]


@dataclass(frozen=True)
class Step:
    """One statement (or object write) of a publication, in order.

    ``expect_rows``: the statement is a count query that must return this number
    (plus the count captured earlier under ``plus``). ``undo`` runs, newest first, when
    a later step fails, until a step that ``commits``. ``secrets`` names the
    environment variables whose ``${NAME}`` references are filled in only at execution.
    ``guard``: a count query; non-zero means another apply already published this, so the
    publication stops (undone, not failed). ``fills``: captured counts written into the
    statement where it says ``@@name@@``. ``serial``: runs alone among the publications that
    one apply runs in parallel (Spark fails two INSERTs into one table at once).
    """

    sql: str
    purpose: str
    kind: StepKind = "sql"
    body: str | None = None
    expect_rows: int | None = None
    capture: str | None = None
    plus: str | None = None
    undo: str | None = None
    commits: bool = False
    secrets: tuple[str, ...] = ()
    guard: bool = False
    fills: tuple[str, ...] = ()
    serial: bool = False


@dataclass(frozen=True)
class Publication:
    """One spec's planned publication into one table."""

    spec_file: str
    spec_line: int
    spec_hash: str
    job_group: int
    flow_node_id: int
    connection: str
    connection_id: int
    target_type: str
    action: str
    database: str
    table: str  # the table written: for create/createAndLoad the timestamped name
    requested_table: str  # the spec's table: part of the publication's identity
    source: str
    input_format: str
    rows: int | None
    columns: tuple[tuple[str, str], ...]  # (name, target type) of the table written
    steps: tuple[Step, ...]
    on_failure: tuple[Step, ...] = ()  # after a failure, once undone: drop staging objects
    notes: tuple[str, ...] = ()
    stamp: str = ""  # the UTC plan-time suffix of the names this publication creates
    status: str = "pending"  # pending | published | changed  (ledger state at plan time)
    status_detail: str = ""
    # What the plan was computed from (spec, result files, table, ledger): apply of a saved
    # plan refuses to run when any of it has changed.
    fingerprint: dict[str, Any] = field(default_factory=dict, hash=False)

    @property
    def label(self) -> str:
        return f"jobGroup {self.job_group} / flowNodeId {self.flow_node_id}"

    @property
    def identity(self) -> tuple[Any, ...]:
        return (self.job_group, self.flow_node_id, self.connection_id, self.database, self.requested_table, self.action)


@dataclass(frozen=True)
class Plan:
    created_at: str  # UTC, ISO 8601
    offline: bool
    publications: tuple[Publication, ...]
    format_version: int = PLAN_FORMAT_VERSION

    @property
    def pending(self) -> tuple[Publication, ...]:
        """The publications apply runs: not yet published (changed ones need --force)."""
        return tuple(p for p in self.publications if p.status == "pending")


def plan_to_json(plan: Plan) -> str:
    """The plan as indented, key-sorted JSON (stable for diffs and golden files)."""

    # vars(), not dataclasses.asdict: asdict deep-copies every value, half the cost of a big plan.
    def publication(p: Publication) -> dict[str, Any]:
        return {**vars(p), "steps": [vars(s) for s in p.steps], "on_failure": [vars(s) for s in p.on_failure]}

    data = {**vars(plan), "publications": [publication(p) for p in plan.publications]}
    return json.dumps(data, indent=2, sort_keys=True) + "\n"


def _check(value: Any, kind: Any, where: str) -> Any:
    """``value`` as the field type ``kind`` (JSON lists become tuples); ValueError if it is not one."""
    origin, args = get_origin(kind), get_args(kind)
    if kind is Any:
        return value
    if origin in (Union, UnionType):
        for option in args:
            try:
                return _check(value, option, where)
            except ValueError:
                pass
    elif origin is Literal:
        if value in args and isinstance(value, str):
            return value
    elif origin is tuple:
        if isinstance(value, list):
            if len(args) == 2 and args[1] is Ellipsis:
                return tuple(_check(v, args[0], f"{where}[{i}]") for i, v in enumerate(value))
            if len(value) == len(args):
                return tuple(_check(v, a, f"{where}[{i}]") for i, (v, a) in enumerate(zip(value, args, strict=True)))
    elif origin is dict:
        if isinstance(value, dict) and all(isinstance(k, str) for k in value):
            return value
    elif kind is type(None):
        if value is None:
            return value
    elif isinstance(kind, type) and is_dataclass(kind):
        return _build(kind, value, where)
    # bool is an int to Python, not to a plan.
    elif isinstance(kind, type) and isinstance(value, kind) and not (kind is int and isinstance(value, bool)):
        return value
    raise ValueError(f"{where} must be {_spelling(kind)}, not {json.dumps(value)[:60]}")


def _spelling(kind: Any) -> str:
    origin, args = get_origin(kind), get_args(kind)
    if origin in (Union, UnionType):
        return " or ".join(_spelling(a) for a in args)
    if origin is Literal:
        return "one of " + ", ".join(map(str, args))
    if origin is tuple:
        return "a list"
    if origin is dict:
        return "an object"
    return {str: "a string", int: "an integer", bool: "true or false", type(None): "null"}.get(kind, "an object")


_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type[Any]) -> dict[str, Any]:
    """The field types of ``cls``; resolving the annotations' text is slow, so once per class."""
    if cls not in _HINTS:
        _HINTS[cls] = get_type_hints(cls)
    return _HINTS[cls]


def _build(cls: type[Any], data: Any, where: str) -> Any:
    """An instance of the dataclass ``cls`` from JSON, every field's type checked."""
    if not isinstance(data, dict):
        raise ValueError(f"{where} must be an object")
    hints = _hints(cls)
    names = {f.name for f in fields(cls)}
    unknown = set(data) - names
    if unknown:
        raise ValueError(f"unknown {cls.__name__} fields: {', '.join(sorted(unknown))}")
    required = [f.name for f in fields(cls) if f.default is MISSING and f.default_factory is MISSING]
    missing = [n for n in required if n not in data]
    if missing:
        raise ValueError(f"{where}: missing {cls.__name__} fields: {', '.join(missing)}")
    return cls(**{k: _check(v, hints[k], f"{where}.{k}") for k, v in data.items()})


def plan_from_json(text: str) -> Plan:
    """A Plan from ``plan_to_json`` output; raises ValueError on anything else."""
    try:
        data = json.loads(text)
    except RecursionError:
        raise ValueError("nested too deeply to be a publisher plan") from None
    if not isinstance(data, dict) or data.get("format_version") != PLAN_FORMAT_VERSION:
        raise ValueError(f"not a publisher plan of format version {PLAN_FORMAT_VERSION}")
    plan: Plan = _build(Plan, data, "plan")
    return plan
