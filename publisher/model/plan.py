"""Plans: immutable data that says exactly what apply will run, with a JSON round-trip.

A step is a typed operation: a SQL statement, an object to put or delete, a location to
check. Values known only when a step runs (the run id, the time, counts captured by an
earlier step, credentials) are typed parameters inside the statement, filled in by the
executor through the dialect's literal quoting; nothing is ever replaced in SQL text.
"""

from __future__ import annotations

import functools
import json
import types
from collections.abc import Callable
from dataclasses import MISSING, dataclass, field, fields, is_dataclass
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

from publisher.model.identity import PublicationId
from publisher.model.location import Location

PLAN_FORMAT_VERSION = 5
"""5: a step says what it is: guard, row_check, begin, commit and ledger_record steps instead of
sql steps with the flags guard, capture/checks/expect/plus/minus, begins and commits.
4: check_values (values the table would store otherwise than sent, refused before any change);
retire_table (retention's steps, added later: earlier versions refuse them by their kind);
set_location (read back after a failure). 3: delete_object deletes only what the apply wrote, or
(``sha256``) a leftover whose bytes the plan saw; manifests under the publisher's own prefix;
check_columns; ledger rows carry the project. 2: typed steps and parameters (1 had markers in SQL
text and a fingerprint only)."""

OMIT_DEFAULT = {"omit_default": True}
"""A field's metadata: left out of the JSON while it holds its default (plans stay as written
before the field existed)."""

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
class SqlStep:
    """What every step that is one SQL statement has: ``sql``, fixed text and parameters in
    order, and its ``purpose``. Not a step kind itself: the kinds below say what the statement is."""

    sql: tuple[SqlPart, ...]
    purpose: str

    @property
    def secrets(self) -> tuple[str, ...]:
        """The environment variables this statement's credential slots read."""
        return tuple(p.name for p in self.sql if isinstance(p, Param) and p.kind == "secret")

    @property
    def text(self) -> str:
        """The statement as shown to people, parameters by name."""
        return "".join(p if isinstance(p, str) else p.shown() for p in self.sql)


@dataclass(frozen=True)
class Statement(SqlStep):
    """A statement that changes something (DDL, DML, a COPY).

    ``undo`` runs, newest first, when a later step fails, until a Commit. ``serial``: runs
    alone among the publications that one apply runs in parallel (Spark fails two INSERTs
    into one table at once). ``after_publish``: runs after the publication committed (dropping
    what the swap put aside); a failure there is a warning, not a failed publication: the
    publication stands, and the next plan finishes the step. ``exists_ok``: an error that what
    it adds already exists means done (two applies upgrading one ledger). ``reports``: a DML
    statement whose row count the ledger's ``outcome`` records under this label. ``changes``: a
    DML statement whose row count, as the engine reports it (Redshift does; Hive does not),
    must equal this.
    """

    undo: Statement | None = None
    serial: bool = False
    after_publish: bool = False
    exists_ok: bool = False
    reports: str = ""
    changes: int | None = None


@dataclass(frozen=True)
class Guard(SqlStep):
    """A count query of the ledger (or the table's lock table): non-zero means another apply
    already published this, so the publication stops (undone, not failed)."""


@dataclass(frozen=True)
class RowCheck(SqlStep):
    """A count query returning one row. With ``checks``, its values must equal ``expect`` (plus
    the row captured earlier under ``plus``, minus the first count captured under ``minus``),
    each labelled by ``checks`` ("rows", then columns for their non-NULL counts). ``capture``
    keeps the row for later steps (a ``captured`` Param, another check's ``plus``).
    ``reports``: the ledger's ``outcome`` records its first value under this label."""

    checks: tuple[str, ...] = ()
    expect: tuple[int, ...] = ()
    plus: str | None = None
    minus: str | None = None
    capture: str | None = None
    reports: str = ""


@dataclass(frozen=True)
class Begin(SqlStep):
    """Opens a transaction (where the target has them). ``undo`` (ROLLBACK) runs when a later
    step before the Commit fails; a transaction the engine aborts for a conflict runs again
    from the step after the last Commit. ``after_publish``: the transaction of the steps after
    the publication committed, whose failure is a warning."""

    undo: Statement
    after_publish: bool = False


@dataclass(frozen=True)
class Commit(SqlStep):
    """Ends a transaction: what came before it is published, and no longer undone."""

    after_publish: bool = False


@dataclass(frozen=True)
class LedgerRecord(SqlStep):
    """Inserts a row into the ledger ('pending', 'done', 'retired'); ``outcome`` Params are what
    the publication's steps found. Runs alone among parallel publications (Spark fails two
    INSERTs into one table at once)."""


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
    begin: tuple[Begin | Statement, ...]
    retired: RowCheck
    retire: tuple[Statement | LedgerRecord, ...]
    end: tuple[Commit, ...]
    purpose: str


Step = (
    Statement
    | Guard
    | RowCheck
    | Begin
    | Commit
    | LedgerRecord
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
STEP_TYPES: dict[str, type[Any]] = {
    "sql": Statement,
    "guard": Guard,
    "row_check": RowCheck,
    "begin": Begin,
    "commit": Commit,
    "ledger_record": LedgerRecord,
    "put_object": PutObject,
    "delete_object": DeleteObject,
    "check_location": CheckLocation,
    "check_keys": CheckKeys,
    "check_columns": CheckColumns,
    "set_location": SetLocation,
    "check_values": CheckValues,
    "switch_partitions": SwitchPartitions,
    "take_lock": TakeLock,
    "release_lock": ReleaseLock,
    "compact_ledger": CompactLedger,
    "copy_rows": CopyRows,
    "retire_table": RetireTable,
}
"""Every step kind, once: its name in plan JSON and its class. The executor runs a kind by its
handler (``apply/executor.py``, ``@handles``), reports show it by its renderer
(``reports/render.py``, ``@renders``); tests/test_step_registry.py fails when one is missing."""
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
    engine: str = field(default="", metadata=OMIT_DEFAULT)  # offline plans (and golden files) stay as they were
    # The results' columns (name, type as their metadata says), for lineage's input schema and
    # column lineage; () in plans saved by versions before it.
    source_columns: tuple[tuple[str, str], ...] = ()
    # The table's static partition columns (Hive: the spec's ``partition``), (name, target type):
    # in the table, each holding the spec's value for every row, read from no result column.
    static_partitions: tuple[tuple[str, str], ...] = field(default=(), metadata=OMIT_DEFAULT)

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
# One codec for every dataclass of a plan, read from the fields' declared types: a new step
# kind or field is saved and read back without code here, and a saved plan is checked as
# strictly as the types say. (A per-class decoder once forgot a field of a saved merge plan.)


class PlanFileError(ValueError):
    """A plan file that is not a plan this version of publisher wrote."""


Encoder = Callable[[Any], Any]
Decoder = Callable[[Any, str], Any]


def _at(path: str, name: str) -> str:
    return name if not path else f"{path}[{name}]" if name.isdigit() else f"{path}.{name}"


def _where(path: str) -> str:
    return path or "plan"


def _shown_json(value: Any) -> str:
    return json.dumps(value)[:40]


def _type_name(tp: Any) -> str:
    origin, args = get_origin(tp), get_args(tp)
    if tp is type(None):
        return "None"
    if origin in (Union, types.UnionType):
        return " | ".join(_type_name(a) for a in args)
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return f"a list of {_type_name(args[0])}"
        return f"a list of {len(args)}: {', '.join(_type_name(a) for a in args)}"
    if origin is dict:
        return "an object"
    if origin is Literal:
        return "one of " + ", ".join(map(str, args))
    return getattr(tp, "__name__", str(tp))


@functools.cache
def _hints(cls: Any) -> dict[str, Any]:
    hints = get_type_hints(cls)
    return {f.name: hints[f.name] for f in fields(cls)}


@functools.cache
def _required(cls: Any) -> frozenset[str]:
    return frozenset(f.name for f in fields(cls) if f.default is MISSING and f.default_factory is MISSING)


def _step_classes(tp: Any) -> tuple[type[Any], ...]:
    """The step kinds a declared type admits (a step class, or a union of them), else ()."""
    members = get_args(tp) if get_origin(tp) in (Union, types.UnionType) else (tp,)
    found = tuple(m for m in members if m in STEP_KINDS)
    return found if found and len(found) == len(members) else ()


@functools.cache
def _encoder(tp: Any) -> Encoder | None:
    """How a value of type ``tp`` is written as JSON; None: as it is (orjson writes tuples as lists)."""
    origin, args = get_origin(tp), get_args(tp)
    if tp is Location:
        return str  # as Hive prints it and reads it back: Location.parse
    if tp is Param:
        return lambda p: {"param": p.kind, "name": p.name}
    if origin in (Union, types.UnionType):
        if not any(_encoder(a) for a in args):
            return None
        return lambda v: None if v is None else _encode_any(v)
    if origin is tuple:
        items = [_encoder(a) for a in (args[:1] if args[1:] == (Ellipsis,) else args)]
        if not any(items):
            return None
        return lambda v: [_encode_any(x) for x in v]
    if is_dataclass(tp):
        return _encode_dataclass
    return None


def _encode_any(value: Any) -> Any:
    """A value whose type is known only at run time (a member of a union)."""
    tp: Any = type(value)  # typeshed: a type is not Hashable
    encode = _encoder(tp)
    return value if encode is None else encode(value)


@functools.cache
def _field_encoders(cls: Any) -> tuple[tuple[tuple[str, Encoder], ...], tuple[tuple[str, Any], ...]]:
    encoders = tuple((n, e) for n, tp in _hints(cls).items() if (e := _encoder(tp)) is not None)
    omitted = tuple((f.name, f.default) for f in fields(cls) if f.metadata.get("omit_default"))
    return encoders, omitted


def _encode_dataclass(value: Any) -> dict[str, Any]:
    # vars(), not dataclasses.asdict: asdict deep-copies every value, half the cost of a big plan.
    cls: Any = type(value)
    encoders, omitted = _field_encoders(cls)
    data = dict(vars(value))
    for name, encode in encoders:
        data[name] = encode(data[name])
    for name, default in omitted:
        if data[name] == default:
            del data[name]
    kind = STEP_KINDS.get(cls)
    if kind is not None:
        data["kind"] = kind
    return data


def plan_to_json(plan: Plan) -> str:
    """The plan as indented, key-sorted JSON (stable for diffs and golden files), non-ASCII
    text as UTF-8."""
    # orjson, not json: json's indented output is written by its pure-Python encoder, a
    # quarter of `plan --offline`'s time for 1,000 specs; orjson writes the same text (but for
    # non-ASCII, kept as is) in a tenth of that.
    import orjson

    data = _encode_dataclass(plan)
    return orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS | orjson.OPT_APPEND_NEWLINE).decode()


def _wrong(path: str, tp: Any, value: Any) -> PlanFileError:
    return PlanFileError(f"{_where(path)}: expected {_type_name(tp)}, found {_shown_json(value)}")


@functools.cache
def _decoder(tp: Any) -> Decoder:
    """How a value of type ``tp`` is read from JSON at a path, refusing any other shape."""
    origin, args = get_origin(tp), get_args(tp)
    if tp is str or tp is bool:

        def exact(value: Any, path: str) -> Any:
            if not isinstance(value, tp):
                raise _wrong(path, tp, value)
            return value

        return exact
    if tp is int:

        def integer(value: Any, path: str) -> Any:
            if not isinstance(value, int) or isinstance(value, bool):
                raise _wrong(path, tp, value)
            return value

        return integer
    if tp is Any:
        return lambda value, path: value
    if tp is Location:

        def location(value: Any, path: str) -> Location:
            if not isinstance(value, str):
                raise _wrong(path, tp, value)
            try:
                return Location.parse(value)
            except ValueError as exc:
                raise PlanFileError(f"{_where(path)}: {exc}") from None

        return location
    if tp is Param:

        def param(value: Any, path: str) -> Param:
            if not (isinstance(value, dict) and set(value) == {"param", "name"} and value["param"] in PARAM_KINDS):
                raise _wrong(path, tp, value)
            return Param(value["param"], _decoder(str)(value["name"], _at(path, "name")))

        return param
    if origin is Literal:

        def literal(value: Any, path: str) -> Any:
            if value not in args or not isinstance(value, str | int):
                raise _wrong(path, tp, value)
            return value

        return literal
    if _step_classes(tp):
        return _step_decoder(_step_classes(tp), tp)
    if origin in (Union, types.UnionType):
        members = [a for a in args if a is not type(None)]
        if len(members) == 1:
            inner = members[0]

            def optional(value: Any, path: str) -> Any:
                if value is None:
                    return None
                try:
                    return _decoder(inner)(value, path)
                except PlanFileError as exc:
                    if str(exc).startswith(f"{_where(path)}: expected {_type_name(inner)},"):
                        raise _wrong(path, tp, value) from None  # say that None would do too
                    raise

            return optional

        def either(value: Any, path: str) -> Any:
            # Members are leaves here (str | Param): the first that reads the value is it.
            for member in args:
                if member is type(None) and value is None:
                    return None
                if member is not type(None):
                    try:
                        return _decoder(member)(value, path)
                    except PlanFileError:
                        pass
            raise _wrong(path, tp, value)

        return either
    if origin is tuple:
        if args[1:] == (Ellipsis,):
            item = args[0]

            def items(value: Any, path: str) -> tuple[Any, ...]:
                if not isinstance(value, list):
                    raise _wrong(path, tp, value)
                decode = _decoder(item)
                return tuple(decode(v, _at(path, str(i))) for i, v in enumerate(value))

            return items

        def fixed(value: Any, path: str) -> tuple[Any, ...]:
            if not isinstance(value, list) or len(value) != len(args):
                raise _wrong(path, tp, value)
            return tuple(_decoder(a)(v, _at(path, str(i))) for i, (a, v) in enumerate(zip(args, value, strict=True)))

        return fixed
    if origin is dict:

        def mapping(value: Any, path: str) -> Any:
            if not isinstance(value, dict):
                raise _wrong(path, tp, value)
            return value

        return mapping
    if is_dataclass(tp):
        return lambda value, path: _decode_dataclass(tp, value, path)
    raise TypeError(f"no JSON decoder for {tp!r}")  # a field of a type this codec does not know: a bug


def _step_decoder(classes: tuple[type[Any], ...], tp: Any) -> Decoder:
    allowed = {STEP_KINDS[c]: c for c in classes}

    def step(value: Any, path: str) -> Any:
        if value is None and type(None) in get_args(tp):
            return None
        if not isinstance(value, dict) or value.get("kind") not in allowed:
            raise PlanFileError(f"{_where(path)}: a step needs a kind, one of {', '.join(allowed)}")
        return _decode_dataclass(allowed[value["kind"]], {k: v for k, v in value.items() if k != "kind"}, path)

    return step


def _decode_dataclass(cls: Any, data: Any, path: str) -> Any:
    if not isinstance(data, dict):
        raise PlanFileError(f"{_where(path)}: expected an object")
    hints = _hints(cls)
    unknown = set(data) - set(hints)
    if unknown:
        raise PlanFileError(f"{_where(path)}: unknown {cls.__name__} fields: {', '.join(sorted(unknown))}")
    missing = _required(cls) - set(data)
    if missing:
        raise PlanFileError(f"{_where(path)}: missing {cls.__name__} fields: {', '.join(sorted(missing))}")
    return cls(**{name: _decoder(hints[name])(value, _at(path, name)) for name, value in data.items()})


def step_to_json(step: Step) -> dict[str, Any]:
    """One step as plan_to_json writes it (its kind, its fields)."""
    return _encode_dataclass(step)


def step_from_json(data: Any, path: str) -> Step:
    """One step as plan_from_json reads it; ``path`` names it in errors."""
    step: Step = _decoder(Step)(data, path)
    return step


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
    try:
        plan: Plan = _decode_dataclass(Plan, data, "")
    except RecursionError:
        raise PlanFileError("not a publisher plan: nested too deeply") from None
    return plan
