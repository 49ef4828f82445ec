"""Plans: immutable data that says exactly what apply will run, with a JSON round-trip."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from typing import Any, Literal

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


def _build(cls: type[Any], data: dict[str, Any]) -> Any:
    names = {f.name for f in fields(cls)}
    unknown = set(data) - names
    if unknown:
        raise ValueError(f"unknown {cls.__name__} fields: {', '.join(sorted(unknown))}")
    return cls(**data)


def _step(data: dict[str, Any]) -> Step:
    step: Step = _build(
        Step, {**data, "secrets": tuple(data.get("secrets", ())), "fills": tuple(data.get("fills", ()))}
    )
    return step


def plan_from_json(text: str) -> Plan:
    """A Plan from ``plan_to_json`` output; raises ValueError on anything else."""
    data = json.loads(text)
    if not isinstance(data, dict) or data.get("format_version") != PLAN_FORMAT_VERSION:
        raise ValueError(f"not a publisher plan of format version {PLAN_FORMAT_VERSION}")
    pubs = []
    for p in data["publications"]:
        p = dict(p)
        p["steps"] = tuple(_step(s) for s in p["steps"])
        p["on_failure"] = tuple(_step(s) for s in p.get("on_failure", ()))
        p["columns"] = tuple(tuple(c) for c in p["columns"])
        p["notes"] = tuple(p.get("notes", ()))
        pubs.append(_build(Publication, p))
    plan: Plan = _build(Plan, {**data, "publications": tuple(pubs)})
    return plan
