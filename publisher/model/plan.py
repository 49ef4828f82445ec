"""Plans: immutable data that says exactly what apply will run, with a JSON round-trip.

A step is a typed operation: a SQL statement, an object to put or delete, a location to
check. Values known only when a step runs (the run id, the time, counts captured by an
earlier step, credentials) are typed parameters inside the statement, filled in by the
executor through the dialect's literal quoting; nothing is ever replaced in SQL text.
"""

from __future__ import annotations

import json
from dataclasses import MISSING, dataclass, field
from typing import Any, Literal, get_args

from publisher.model.identity import PublicationId
from publisher.model.location import Location

PLAN_FORMAT_VERSION = 4
"""4: check_values (values the table would store otherwise than sent, refused before any change);
retire_table (retention's steps, added later: earlier versions refuse them by their kind);
set_location (read back after a failure). 3: delete_object deletes only what the apply wrote, or
(``sha256``) a leftover whose bytes the plan saw; manifests under the publisher's own prefix;
check_columns; ledger rows carry the project. 2: typed steps and parameters (1 had markers in SQL
text and a fingerprint only)."""

ParamKind = Literal["run_id", "now", "day", "captured", "secret", "outcome"]
PARAM_KINDS: tuple[ParamKind, ...] = get_args(ParamKind)


@dataclass(frozen=True)
class Param:
    """A value filled in when the statement runs, always as a SQL literal.

    ``run_id``: the apply's run id. ``now``: the UTC time of the step; ``day``: its UTC date
    (YYYY-MM-DD, the Hive ledger's partition a row is written into). ``captured``: the
    first count an earlier step captured under ``name``. ``secret``: the environment
    variable ``name``; only credential slots hold one. ``outcome``: what the publication's
    steps found (the rows a merge replaced, the partitions switched), as text, or NULL.
    """

    kind: ParamKind
    name: str = ""

    def shown(self) -> str:
        """How a plan shows the value to people: never the value of a secret."""
        return f"'${{{self.name}}}'" if self.kind == "secret" else f":{self.name or self.kind}"


SqlPart = str | Param


@dataclass(frozen=True)
class Statement:
    """One SQL statement. ``sql``: fixed text and parameters, in order.

    ``checks`` with ``expect``: the statement is a count query returning one row, whose
    values must equal ``expect`` (plus the row captured earlier under ``plus``, minus the first
    count captured under ``minus``), each
    labelled by ``checks`` ("rows", then columns for their non-NULL counts). ``capture``
    keeps the row for later steps. ``guard``: a count query; non-zero means another apply
    already published this, so the publication stops (undone, not failed). ``undo`` runs,
    newest first, when a later step fails, until a step that ``commits``. ``serial``: runs
    alone among the publications that one apply runs in parallel (Spark fails two INSERTs
    into one table at once). ``after_publish``: runs after the publication committed (dropping
    what the swap put aside); a failure there is a warning, not a failed publication: the
    publication stands, and the next plan finishes the step. ``begins``: opens a transaction,
    where the executor starts it again when the engine aborts it for a conflict. ``exists_ok``:
    an error that what it adds already exists means done (two applies upgrading one ledger).
    ``reports``: a count query whose first value, or a DML statement whose row count, the
    ledger's ``outcome`` records under this label. ``changes``: a DML statement whose row count,
    as the engine reports it (Redshift does; Hive does not), must equal this.
    """

    sql: tuple[SqlPart, ...]
    purpose: str
    checks: tuple[str, ...] = ()
    expect: tuple[int, ...] = ()
    plus: str | None = None
    minus: str | None = None
    capture: str | None = None
    guard: bool = False
    undo: Statement | None = None
    commits: bool = False
    serial: bool = False
    after_publish: bool = False
    begins: bool = False
    exists_ok: bool = False
    reports: str = ""
    changes: int | None = None

    @property
    def secrets(self) -> tuple[str, ...]:
        """The environment variables this statement's credential slots read."""
        return tuple(p.name for p in self.sql if isinstance(p, Param) and p.kind == "secret")

    @property
    def text(self) -> str:
        """The statement as shown to people, parameters by name."""
        return "".join(p if isinstance(p, str) else p.shown() for p in self.sql)

    @property
    def counts(self) -> bool:
        """Whether the statement returns a row of counts the executor reads."""
        return bool(self.checks) or self.capture is not None or self.guard


def sql(text: str, purpose: str, **options: Any) -> Statement:
    """A statement without parameters."""
    return Statement((text,), purpose, **options)


@dataclass(frozen=True)
class PutObject:
    """Write an object (a COPY manifest); never overwrites other content. Found there with the
    very same bytes (this plan's, from a killed apply), it is the apply's to use and delete."""

    uri: str
    body: str
    purpose: str


@dataclass(frozen=True)
class DeleteObject:
    """Delete an object the apply wrote (its PutObject put it there, or found it holding the
    very bytes it would put); anything else at ``uri`` is left alone. With ``sha256``: an
    object an interrupted apply left, deleted only while its bytes still hash to this."""

    uri: str
    purpose: str
    sha256: str = ""


@dataclass(frozen=True)
class CheckLocation:
    """Stop unless the engine reports ``table`` stored at ``location`` (Hive). ``stale_plan``:
    the table itself, checked before any change: elsewhere means the plan is stale (PlanStale)."""

    database: str
    table: str
    location: Location
    purpose: str
    stale_plan: bool = False


@dataclass(frozen=True)
class SetLocation:
    """Hive: point ``table`` at ``location`` (ALTER TABLE ... SET LOCATION: readers see the old
    files or the new ones). Undone by pointing it back at ``previous``. A failed ALTER may still
    have moved the table (Spark writes the metastore before it lists the new folder): after a
    failure the executor reads the location back, and undoes the move if it happened."""

    database: str
    table: str
    location: Location
    previous: Location
    purpose: str
    undo_purpose: str

    def reverse(self) -> SetLocation:
        return SetLocation(self.database, self.table, self.previous, self.location, self.undo_purpose, self.purpose)


@dataclass(frozen=True)
class CheckColumns:
    """Stop unless the table has the columns the plan read (names and types, in order): a table
    recreated or altered between plan and apply would take rows planned for another shape (a
    DECIMAL(10,2) value into a DECIMAL(10,0) column is rounded without a word)."""

    database: str
    schema: str | None
    table: str
    columns: tuple[str, ...]  # "name type", as the engine reported them when the plan was made
    purpose: str


@dataclass(frozen=True)
class SwitchPartitions:
    """Hive: point the table's partitions at those of its loaded twin, found when the step
    runs (SHOW PARTITIONS). Each replaces the table's partition of the same values (one
    atomic SET LOCATION) or is added; with ``drop_others`` the table's other partitions are
    dropped. Old folders are handed to the ``trash`` table and deleted with it once the
    table no longer points at them; the twin is dropped without deleting the new folders.
    Forward only: an apply killed inside it is finished by the next one."""

    database: str
    table: str
    twin: str
    twin_location: Location  # where the twin's partitions were written: <twin_location>/<col=value/...>
    trash: str
    drop_others: bool
    rows: int | None  # the rows the table must hold in the twin's partitions afterwards
    purpose: str
    expected: tuple[str, ...] = ()  # the twin's partitions as the plan listed them; empty: found at apply


@dataclass(frozen=True)
class CheckKeys:
    """merge: stop unless every key of the results is there once and none is NULL.
    ``counts``: one row, (keys found more than once, rows with a NULL key); ``examples``: a
    few keys found more than once, each with its number of rows, to name in the error."""

    keys: tuple[str, ...]
    counts: str
    examples: str
    purpose: str


@dataclass(frozen=True)
class CheckValues:
    """Stop unless no staged row holds a value the table would store otherwise than sent (Hive:
    '' as a partition value becomes NULL; a text table without ESCAPED BY splits a value at its
    delimiter or a line break). ``counts``: one row, for each of ``columns``, the rows holding
    such a value; ``examples``: for each, a query of one such value; ``why``: for each, what
    the engine would make of it."""

    columns: tuple[str, ...]
    counts: str
    examples: tuple[str, ...]
    why: tuple[str, ...]
    purpose: str


@dataclass(frozen=True)
class TakeLock:
    """Hive: one writer per table. Creates the lock table ``lock`` beside ``table`` (the
    metastore's CREATE TABLE is atomic and fails when it exists), waiting up to
    ``wait_seconds`` while another live apply holds it; a lock whose holder is gone is taken over."""

    database: str
    table: str
    lock: str
    wait_seconds: int
    purpose: str
    refresh: tuple[str, ...] = ()  # tables (as SQL) whose cached file lists are dropped once the lock is ours
    ledger: str = ""  # the ledger (as SQL): a holder whose run it records as done has finished


@dataclass(frozen=True)
class ReleaseLock:
    """Hive: drop the lock table ``lock`` if this run holds it, or (with ``ledger``) if the
    run holding it is recorded there as done: an apply killed after its last change."""

    database: str
    lock: str
    purpose: str
    ledger: str = ""


@dataclass(frozen=True)
class CompactLedger:
    """Hive: rewrite the rows of the ledger's closed days (those no apply writes into any
    more) as one file, then drop what an earlier compaction already holds. Which partitions
    that is, is read when it runs (SHOW PARTITIONS), under the lock table ``lock``; while
    another apply compacts, it is skipped. A failure leaves the publication published."""

    database: str
    table: str
    lock: str
    purpose: str


@dataclass(frozen=True)
class CopyRows:
    """PostgreSQL: stream the result ``files`` (in ``input_format``, at ``location``) into
    ``COPY <table> (<columns>) FROM STDIN``, read in bounded batches by the publisher (the engine
    cannot read S3 or the client's files). ``table`` and ``columns`` as the dialect quoted them;
    ``types``: each column's type in the table, which the rows are written as. ``rows``: the rows
    COPY must report (its own count), where the results' metadata tells them."""

    table: str
    columns: tuple[str, ...]
    types: tuple[str, ...]
    location: str
    input_format: str
    files: tuple[str, ...]
    rows: int | None
    purpose: str


@dataclass(frozen=True)
class RetireTable:
    """Retention: drop ``table``, a timestamped table the ledger records the publisher making,
    and record it 'retired', after the publication committed. ``begin`` opens a transaction and
    locks what serialises retirements (where the target has transactions; on Hive the table's lock
    is held already); ``retired`` counts the ledger's rows recording it retired (non-zero: another
    apply did it, nothing is dropped); ``retire`` drops it and records it; ``end`` commits. A
    failure is a warning: the publication stands, and the next plan retires it again."""

    table: str  # as shown: database.table (schema.table on targets with schemas)
    begin: tuple[Statement, ...]
    retired: Statement
    retire: tuple[Statement, ...]
    end: tuple[Statement, ...]
    purpose: str


Step = (
    Statement
    | CopyRows
    | PutObject
    | DeleteObject
    | CheckLocation
    | SetLocation
    | CheckColumns
    | CheckKeys
    | CheckValues
    | SwitchPartitions
    | TakeLock
    | ReleaseLock
    | CompactLedger
    | RetireTable
)
STEP_TYPES: dict[str, type[Any]] = {"sql": Statement, "put_object": PutObject, "delete_object": DeleteObject}
STEP_TYPES["check_location"] = CheckLocation
STEP_TYPES["check_keys"] = CheckKeys
STEP_TYPES["check_columns"] = CheckColumns
STEP_TYPES["set_location"] = SetLocation
STEP_TYPES["check_values"] = CheckValues
STEP_TYPES["switch_partitions"] = SwitchPartitions
STEP_TYPES["take_lock"] = TakeLock
STEP_TYPES["release_lock"] = ReleaseLock
STEP_TYPES["compact_ledger"] = CompactLedger
STEP_TYPES["copy_rows"] = CopyRows
STEP_TYPES["retire_table"] = RetireTable
STEP_KINDS: dict[type[Any], str] = {t: k for k, t in STEP_TYPES.items()}


@dataclass(frozen=True)
class Publication:
    """One spec's planned publication into one table."""

    spec_file: str
    spec_line: int
    spec_hash: str
    id: PublicationId
    connection: str
    target_type: str
    table: str  # the table written: for create/createAndLoad the timestamped name
    source: str
    input_format: str
    rows: int | None
    columns: tuple[tuple[str, str], ...]  # (name, target type) of the table written
    steps: tuple[Step, ...]
    on_failure: tuple[Step, ...] = ()  # after a failure, once undone: drop staging objects
    notes: tuple[str, ...] = ()
    # What a reviewer must not miss, shown apart from the notes (in the PR comment too): result
    # subfolders not read, text columns whose values may lose digits, a layout that loads far
    # below the engine's throughput. Never an error, never read by apply.
    warnings: tuple[str, ...] = ()
    description: str | None = None  # the spec's, for reviewers (also the comment of tables it creates)
    stamp: str = ""  # the UTC plan-time suffix of the names this publication creates
    status: str = "pending"  # pending | published | changed | unfinished | retire  (ledger state at plan time)
    # retire: publisher retire's plan of the spec's retention alone (its steps retire tables).
    # unfinished: published, but its apply stopped before the steps after its COMMIT (the old
    # table's drop); its steps finish them, and nothing is published again.
    status_detail: str = ""
    # What the plan was computed from (spec, result files, table, ledger), to say why a
    # saved plan differs from the plan made again at apply.
    fingerprint: dict[str, Any] = field(default_factory=dict, hash=False)
    # The engine the live plan read, product and version ("Apache Hive 4.0.1"); "" offline.
    engine: str = ""
    # The results' columns (name, type as their metadata says), for lineage's input schema and
    # column lineage; () in plans saved by versions before it.
    source_columns: tuple[tuple[str, str], ...] = ()

    @property
    def label(self) -> str:
        return self.id.label()

    @property
    def database(self) -> str:
        return self.id.database

    @property
    def action(self) -> str:
        return self.id.action


@dataclass(frozen=True)
class Plan:
    created_at: str  # UTC, ISO 8601
    offline: bool
    publications: tuple[Publication, ...]
    spec_files: tuple[str, ...] = ()  # every spec file planned, to plan them again at apply
    config_hash: str = ""  # publisher.yaml's content: a saved plan is refused when it changed
    forced: bool = False  # planned with --force
    format_version: int = PLAN_FORMAT_VERSION

    @property
    def pending(self) -> tuple[Publication, ...]:
        """The publications apply runs: not yet published (changed ones need --force), or
        published with steps left to finish."""
        return tuple(p for p in self.publications if p.status in ("pending", "unfinished", "retire"))


# --------------------------------------------------------------------------- JSON


def _param_json(part: SqlPart) -> Any:
    return part if isinstance(part, str) else {"param": part.kind, "name": part.name}


def _step_json(step: Step) -> dict[str, Any]:
    data = {"kind": STEP_KINDS[type(step)], **vars(step)}
    for name in _LOCATIONS.get(type(step), ()):
        data[name] = str(data[name])  # as Hive prints it and reads it back: Location.parse
    if isinstance(step, Statement):
        data["sql"] = [_param_json(p) for p in step.sql]
        data["undo"] = _step_json(step.undo) if step.undo else None
    if isinstance(step, RetireTable):
        data["retired"] = _step_json(step.retired)
        for name in ("begin", "retire", "end"):
            data[name] = [_step_json(s) for s in getattr(step, name)]
    return data


def plan_to_json(plan: Plan) -> str:
    """The plan as indented, key-sorted JSON (stable for diffs and golden files), non-ASCII
    text as UTF-8."""
    # orjson, not json: json's indented output is written by its pure-Python encoder, a
    # quarter of `plan --offline`'s time for 1,000 specs; orjson writes the same text (but for
    # non-ASCII, kept as is) in a tenth of that.
    import orjson

    # vars(), not dataclasses.asdict: asdict deep-copies every value, half the cost of a big plan.
    def publication(p: Publication) -> dict[str, Any]:
        data = {
            **vars(p),
            "id": vars(p.id),
            "steps": [_step_json(s) for s in p.steps],
            "on_failure": [_step_json(s) for s in p.on_failure],
        }
        if not p.engine:
            del data["engine"]  # offline plans (and the golden files) stay as they were
        return data

    data = {**vars(plan), "publications": [publication(p) for p in plan.publications]}
    return orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS | orjson.OPT_APPEND_NEWLINE).decode()


class PlanFileError(ValueError):
    """A plan file that is not a plan this version of publisher wrote."""


def _fields(cls: type[Any], data: Any, where: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise PlanFileError(f"{where}: expected an object")
    names = cls.__dataclass_fields__
    unknown = set(data) - set(names)
    if unknown:
        raise PlanFileError(f"{where}: unknown {cls.__name__} fields: {', '.join(sorted(unknown))}")
    required = {n for n, f in names.items() if f.default is MISSING and f.default_factory is MISSING}
    missing = required - set(data)
    if missing:
        raise PlanFileError(f"{where}: missing {cls.__name__} fields: {', '.join(sorted(missing))}")
    return dict(data)


def _list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise PlanFileError(f"{where} must be a list")
    return value


def _param(data: Any, where: str) -> SqlPart:
    if isinstance(data, str):
        return data
    if isinstance(data, dict) and set(data) == {"param", "name"} and data["param"] in PARAM_KINDS:
        return Param(data["param"], str(data["name"]))
    raise PlanFileError(f"{where}: not a SQL part: {str(data)[:60]}")


_LOCATIONS: dict[type[Any], tuple[str, ...]] = {
    CheckLocation: ("location",),
    SetLocation: ("location", "previous"),
    SwitchPartitions: ("twin_location",),
}
"""The steps' Location fields, saved as their text."""


def _step(data: Any, where: str) -> Step:
    if not isinstance(data, dict) or data.get("kind") not in STEP_TYPES:
        raise PlanFileError(f"{where}: a step needs a kind, one of {', '.join(STEP_TYPES)}")
    cls = STEP_TYPES[data["kind"]]
    values = _fields(cls, {k: v for k, v in data.items() if k != "kind"}, where)
    if cls is Statement:
        if not isinstance(values.get("sql"), list):
            raise PlanFileError(f"{where}: sql must be a list")
        values["sql"] = tuple(_param(p, where) for p in values["sql"])
        values["checks"] = tuple(_text(c, f"{where}.checks") for c in _list(values.get("checks", []), where))
        values["expect"] = tuple(values.get("expect", ()))
        if not all(isinstance(n, int) and not isinstance(n, bool) for n in values["expect"]):
            raise PlanFileError(f"{where}.expect must be a list of integers")
        if values.get("undo") is not None:
            values["undo"] = _step(values["undo"], f"{where}.undo")
    for name in _LOCATIONS.get(cls, ()):
        try:
            values[name] = Location.parse(_text(values.get(name), f"{where}.{name}"))
        except ValueError as exc:
            raise PlanFileError(f"{where}.{name}: {exc}") from None
    if cls is RetireTable:
        values["retired"] = _statement(values.get("retired"), f"{where}.retired")
        for name in ("begin", "retire", "end"):
            items = _list(values.get(name, []), f"{where}.{name}")
            values[name] = tuple(_statement(s, f"{where}.{name}[{j}]") for j, s in enumerate(items))
    if cls is TakeLock:
        values["refresh"] = tuple(_text(p, f"{where}.refresh") for p in _list(values.get("refresh", []), where))
    if cls is SwitchPartitions:
        values["expected"] = tuple(_text(p, f"{where}.expected") for p in _list(values.get("expected", []), where))
    if cls is CheckKeys:
        values["keys"] = tuple(_text(k, f"{where}.keys") for k in _list(values.get("keys", []), where))
    if cls is CheckValues:
        for name in ("columns", "examples", "why"):
            values[name] = tuple(_text(c, f"{where}.{name}") for c in _list(values.get(name, []), where))
    if cls is CopyRows:
        for name in ("columns", "types", "files"):
            values[name] = tuple(_text(c, f"{where}.{name}") for c in _list(values.get(name, []), where))
    if cls is CheckColumns:
        values["columns"] = tuple(_text(c, f"{where}.columns") for c in _list(values.get("columns", []), where))
    return _checked(cls, values, where)  # type: ignore[no-any-return]


def _statement(data: Any, where: str) -> Statement:
    step = _step(data, where)
    if not isinstance(step, Statement):
        raise PlanFileError(f"{where}: expected a SQL statement")
    return step


def _checked(cls: type[Any], values: dict[str, Any], where: str) -> Any:
    try:
        made = cls(**values)
    except TypeError as exc:
        raise PlanFileError(f"{where}: {exc}") from None
    # Types as declared: a hand-edited plan must not smuggle in a list where a name goes.
    for name, spec in cls.__dataclass_fields__.items():
        value = getattr(made, name)
        kind = str(spec.type)
        ok = {
            "str": isinstance(value, str),
            "int": isinstance(value, int) and not isinstance(value, bool),
            "bool": isinstance(value, bool),
            "str | None": value is None or isinstance(value, str),
            "int | None": value is None or (isinstance(value, int) and not isinstance(value, bool)),
        }.get(kind, True)
        if not ok:
            raise PlanFileError(f"{where}: {name} must be {kind}, found {type(value).__name__}")
    return made


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise PlanFileError(f"{where} must be a string, not {json.dumps(value)[:40]}")
    return value


def _column(value: Any, where: str) -> tuple[str, str]:
    if not (isinstance(value, list) and len(value) == 2):
        raise PlanFileError(f"{where} must be a list of a name and a type")
    return _text(value[0], f"{where}[0]"), _text(value[1], f"{where}[1]")


def plan_from_json(text: str) -> Plan:
    """A Plan from ``plan_to_json`` output; raises PlanFileError on anything else."""
    try:
        data = json.loads(text)
    except RecursionError:
        raise PlanFileError("not a publisher plan: nested too deeply") from None
    except ValueError as exc:
        raise PlanFileError(f"not JSON: {exc}") from None
    if not isinstance(data, dict) or data.get("format_version") != PLAN_FORMAT_VERSION:
        found = data.get("format_version") if isinstance(data, dict) else None
        raise PlanFileError(
            f"not a publisher plan of format version {PLAN_FORMAT_VERSION} (found {found!r}): "
            "plan again with this version of publisher"
        )
    plan = _fields(Plan, data, "plan")
    if not isinstance(plan.get("publications"), list):
        raise PlanFileError("plan: publications must be a list")
    pubs = []
    for i, raw in enumerate(plan["publications"]):
        where = f"publications[{i}]"
        p = _fields(Publication, raw, where)
        p["id"] = _checked(PublicationId, _fields(PublicationId, p.get("id"), f"{where}.id"), f"{where}.id")
        for key in ("steps", "on_failure", "columns", "notes", "warnings", "source_columns"):
            if not isinstance(p.get(key, []), list):
                raise PlanFileError(f"{where}: {key} must be a list")
        p["steps"] = tuple(_step(s, f"{where}.steps[{j}]") for j, s in enumerate(p.get("steps", ())))
        p["on_failure"] = tuple(_step(s, f"{where}.on_failure[{j}]") for j, s in enumerate(p.get("on_failure", ())))
        p["columns"] = tuple(_column(c, f"{where}.columns[{j}]") for j, c in enumerate(p.get("columns", ())))
        p["source_columns"] = tuple(
            _column(c, f"{where}.source_columns[{j}]") for j, c in enumerate(p.get("source_columns", ()))
        )
        p["notes"] = tuple(_text(n, f"{where}.notes[{j}]") for j, n in enumerate(p.get("notes", ())))
        p["warnings"] = tuple(_text(n, f"{where}.warnings[{j}]") for j, n in enumerate(p.get("warnings", ())))
        if not isinstance(p.get("fingerprint", {}), dict):
            raise PlanFileError(f"{where}: fingerprint must be an object")
        pubs.append(_checked(Publication, p, where))
    plan["publications"] = tuple(pubs)
    plan["spec_files"] = tuple(plan.get("spec_files", ()))
    result: Plan = _checked(Plan, plan, "plan")
    return result
