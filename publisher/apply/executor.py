"""The single place where plan steps run: dry-run shows them, apply executes them."""

from __future__ import annotations

import contextlib
import os
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

from publisher.apply import ledger_compaction, table_lock
from publisher.apply.partition_switch import SwitchRefused, switch_partitions
from publisher.apply.shared_inserts import alongside_others
from publisher.dialects import Dialect
from publisher.model import location
from publisher.model.errors import PlanStale, PublishFailed, TransactionConflict
from publisher.model.plan import (
    Begin,
    CheckColumns,
    CheckKeys,
    CheckLocation,
    CheckValues,
    Commit,
    CompactLedger,
    CopyRows,
    DeleteObject,
    Guard,
    LedgerRecord,
    Param,
    Publication,
    PutObject,
    ReleaseLock,
    RetireTable,
    RowCheck,
    SetLocation,
    SqlStep,
    Statement,
    Step,
    SwitchPartitions,
    TakeLock,
)
from publisher.model.relation import Relation
from publisher.model.target import CopiesRows, Target

S = TypeVar("S")
R = TypeVar("R")
Handler = Callable[["Executor", Any], Any]

HANDLERS: dict[type[Any], Handler] = {}
"""How apply runs each step kind (model/plan.py's STEP_TYPES): the Executor's methods marked
``@handles(kind)``. Dry-run runs none of them."""


def handles(kind: type[S]) -> Callable[[Callable[[Executor, S], R]], Callable[[Executor, S], R]]:
    """Register the decorated Executor method as the handler of step kind ``kind``."""

    def register(method: Callable[[Executor, S], R]) -> Callable[[Executor, S], R]:
        assert kind not in HANDLERS, f"two handlers of {kind.__name__}"
        HANDLERS[kind] = method
        return method

    return register


class ObjectStore(Protocol):
    def put(self, uri: str, body: str) -> bool: ...
    def delete(self, uri: str) -> None: ...
    def delete_if_same(self, uri: str, sha256: str) -> bool: ...


@dataclass
class StepEvent:
    publication: Publication
    index: int  # 1-based; 0 for undo and on-failure steps
    step: Step
    elapsed: float
    result: Any = None


Listener = Callable[[str, StepEvent], None]


def _quiet(kind: str, event: StepEvent) -> None:
    pass


def secret_value(name: str) -> str:
    value = os.environ.get(name)
    if value is None:
        raise PublishFailed(f"environment variable {name} is not set (a secret the load needs)")
    return value


def mask_secrets(text: str, names: tuple[str, ...]) -> str:
    """``text`` with any secret value of ``names`` replaced by its reference."""
    for name in names:
        value = os.environ.get(name)
        if value:
            text = text.replace(value, f"${{{name}}}")
    return text


class AlreadyPublished(Exception):
    """A guard found the publication in the ledger: another apply published it."""


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return re.sub(r"\s+", " ", text.splitlines()[0])[:500]


def _shown(value: object) -> str:
    """A key value from the results, in an error message: one line, and not too long."""
    text = re.sub(r"\s+", " ", repr(value) if isinstance(value, str) else str(value))
    return text if len(text) <= 60 else text[:57] + "..."


def _secrets_of(step: Step) -> tuple[str, ...]:
    return step.secrets if isinstance(step, SqlStep) else ()


def _serial(step: Step) -> bool:
    """Whether the step runs alone among the publications one apply runs in parallel."""
    return isinstance(step, LedgerRecord) or (isinstance(step, Statement) and step.serial)


def _after_publish(step: Step) -> bool:
    """Whether the step runs after the publication committed (its failure is a warning)."""
    return isinstance(step, Statement | Begin | Commit) and step.after_publish


Undoable = Statement | Begin | SetLocation
"""A completed step that a later failure undoes: a statement with an undo (a Begin's is its
ROLLBACK), or a table's move."""


def _undoable(step: Step, exc: Exception, undo: list[Undoable]) -> list[Undoable]:
    """The undo to run after ``step`` failed: none once partitions may have switched (the
    trash may hold folders the table still uses; the next apply finishes the switch)."""
    if isinstance(step, SwitchPartitions) and not isinstance(exc, SwitchRefused):
        return []
    return undo


@dataclass
class Executor:
    """Runs one publication's steps against an open target."""

    target: Target | None
    dialect: Dialect
    objects: ObjectStore | None = None
    dry_run: bool = False
    listener: Listener = _quiet
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    serial: threading.Lock = field(default_factory=threading.Lock)  # shared by parallel executors
    captured: dict[str, tuple[int, ...]] = field(default_factory=dict)
    outcome: list[str] = field(default_factory=list)  # what the steps found, for the ledger's detail
    owned: set[str] = field(default_factory=set)
    """Objects this run wrote, or found holding the very bytes its plan puts there: the only
    ones its DeleteObject steps delete (a failed put, a failed COPY, success, a retry)."""
    _publication: Publication | None = field(default=None, init=False, repr=False)  # the one running
    _undoing: bool = field(default=False, init=False, repr=False)  # a failure is being undone
    retry_delays: tuple[float, ...] = (1.0, 2.0, 4.0, 8.0)
    """Pauses before each run again of a transaction aborted for a conflict (Redshift's
    serializable isolation): a conflict lasts as long as the other transaction, seconds."""

    def run(self, publication: Publication) -> None:
        """All steps in order; on failure the undo of completed steps, newest first, then the
        publication's on-failure steps. (On success, the steps themselves tidy up.)"""
        self._publication = publication
        try:
            self._run_all(publication)
        finally:
            table_lock.release(self.run_id)  # whatever happened, this run holds no lock any more

    def _run_all(self, publication: Publication) -> None:
        """A transaction the engine aborts for a conflict with a concurrent one (Redshift's
        serializable isolation) runs again, after a pause, up to len(retry_delays) times: from
        the first step after the last COMMIT, so that the objects it reads (the COPY manifest,
        which the transaction's own tidy-up may have deleted) are written again first."""
        undo: list[Undoable] = []
        self.captured = {}
        self.outcome = []
        steps = publication.steps
        resume = 0  # where a conflict restarts: the first step after the last COMMIT
        in_transaction = False
        retries = 0
        index = 0
        while index < len(steps):
            step = steps[index]
            try:
                self._run_step(publication, index + 1, step)
            except AlreadyPublished:
                self._give_up(publication, undo)
                raise
            except TransactionConflict as exc:
                if not in_transaction or retries >= len(self.retry_delays):
                    self._fail(publication, undo, index + 1, step, exc, retries)
                    return  # a step after the publication's COMMIT: reported as a warning
                self._undo(publication, undo)
                undo.clear()
                delay = self.retry_delays[retries]
                retries += 1
                message = mask_secrets(_first_line(exc), _secrets_of(step))
                what = f"{message}; retry {retries} of {len(self.retry_delays)} in {delay:g}s"
                self.listener("retry", StepEvent(publication, index + 1, step, delay, what))
                time.sleep(delay)
                index, in_transaction = resume, False
                continue
            except Exception as exc:
                if isinstance(step, RetireTable):
                    # After the publication's COMMIT, each on its own: the others still run.
                    left = mask_secrets(_first_line(exc), _secrets_of(step))
                    left += " (the publication stands; rolled back, the next plan retires it)"
                    self.listener("warning", StepEvent(publication, index + 1, step, 0.0, left))
                    index += 1
                    continue
                if isinstance(step, SetLocation) and self._moved(step):
                    undo.append(step)  # a failed statement may have changed something: undo from what is there
                self._fail(publication, undo, index + 1, step, exc, retries)
                return  # a step after the publication's COMMIT: reported as a warning
            index += 1
            if isinstance(step, Commit):
                in_transaction = False
                undo.clear()
                resume = index
            elif isinstance(step, Begin):
                in_transaction = True
                undo.append(step)
            elif (isinstance(step, Statement) and step.undo) or isinstance(step, SetLocation):
                undo.append(step)

    def _fail(
        self, publication: Publication, undo: list[Undoable], number: int, step: Step, exc: Exception, retries: int
    ) -> None:
        """Undo and raise PublishFailed; after the publication's COMMIT, warn and return."""
        if _after_publish(step):
            self._left_unfinished(publication, undo, number, step, exc)
            return
        if isinstance(step, CompactLedger):  # after the 'done' record: nothing to undo
            left = f"{_first_line(exc)} (the publication stands; the next apply compacts the ledger)"
            self.listener("warning", StepEvent(publication, number, step, 0.0, left))
            return
        self._give_up(publication, _undoable(step, exc, undo))
        if isinstance(exc, PublishFailed):
            kind = PlanStale if isinstance(exc, PlanStale) else PublishFailed  # the callers plan again
            raise kind(f"{publication.label}: step {number} ({step.purpose}): {exc.message}") from None
        # The engine's error, reported in one line.
        message = mask_secrets(_first_line(exc), _secrets_of(step))
        after = f" (after {retries} retries)" if retries else ""
        raise PublishFailed(f"{publication.label}: step {number} ({step.purpose}) failed{after}: {message}") from None

    def _run_step(self, publication: Publication, index: int, step: Step) -> None:
        self.listener("start", StepEvent(publication, index, step, 0.0))
        started = time.monotonic()
        if self.dry_run:
            result = None
        elif _serial(step):
            assert self.target is not None
            with self.serial, alongside_others(self.target, self.dialect):
                result = self._execute(step)
        else:
            result = self._execute(step)
        self.listener("done", StepEvent(publication, index, step, time.monotonic() - started, result))

    def _execute(self, step: Step) -> Any:
        return HANDLERS[type(step)](self, step)

    @property
    def _target(self) -> Target:
        """The open target: every step but the object store's needs one."""
        assert self.target is not None
        return self.target

    @handles(PutObject)
    def _put(self, step: PutObject) -> str | None:
        assert self.objects is not None
        wrote = self.objects.put(step.uri, step.body)
        self.owned.add(step.uri)
        return None if wrote else "there already with the plan's own bytes (an interrupted apply's): used"

    @handles(ReleaseLock)
    def _release_lock(self, step: ReleaseLock) -> Any:
        return table_lock.drop_if_held(self._target, self.dialect, step, self.run_id)

    @handles(TakeLock)
    def _take_lock(self, step: TakeLock) -> Any:
        return table_lock.take(self._target, self.dialect, step, self.run_id, self._note)

    @handles(CompactLedger)
    def _compact_ledger(self, step: CompactLedger) -> Any:
        return ledger_compaction.compact(self._target, self.dialect, step, self.run_id, self._note)

    @handles(SwitchPartitions)
    def _switch_partitions(self, step: SwitchPartitions) -> Any:
        switched = switch_partitions(self._target, self.dialect, step)
        self.outcome.append(switched)
        return switched

    @handles(CheckLocation)
    def _check_location(self, step: CheckLocation) -> None:
        found = self._target.table_location(Relation(step.database, None, step.table))
        if step.stale_plan and not location.same(found, step.location):
            raise PlanStale(
                f"{step.database}.{step.table} is at {found}, not at {step.location} as planned: another apply "
                "replaced its rows since the plan; nothing changed, plan again"
            )
        if not location.same(found, step.location):
            raise PublishFailed(
                f"{step.database}.{step.table} is at {found}, not at {step.location} as planned; nothing was swapped"
            )

    @handles(Statement)
    def _sql(self, step: Statement) -> int | None:
        try:
            changed = self._target.execute(self.render(step))
        except Exception as exc:
            if step.exists_ok and "already exists" in str(exc).lower():
                return None  # another apply did it first
            raise
        if step.changes is None and not step.reports:
            return None  # a count no one asked for: not shown
        self._check_changed(step, changed)
        return changed

    @handles(Guard)
    def _guard(self, step: Guard) -> int:
        found = int(self._target.fetch(self.render(step))[0][0])
        if found:
            raise AlreadyPublished()
        return found

    @handles(RowCheck)
    def _row_check(self, step: RowCheck) -> int:
        row = tuple(int(v) for v in self._target.fetch(self.render(step))[0])
        if step.capture:
            self.captured[step.capture] = row
        if step.reports:
            self.outcome.append(f"{step.reports}: {row[0]:,}")
        if step.checks:
            self._check(step, row)
        return row[0]

    # Statements whose only effect is their own: a transaction's boundary, a ledger row. What
    # their kind means to the other steps (undo, retry, alone among parallel publications) is
    # _run_all's and _run_step's.
    @handles(Begin)
    def _begin(self, step: Begin) -> None:
        self._target.execute(self.render(step))

    @handles(Commit)
    def _commit(self, step: Commit) -> None:
        self._target.execute(self.render(step))

    @handles(LedgerRecord)
    def _ledger_record(self, step: LedgerRecord) -> None:
        self._target.execute(self.render(step))

    @handles(CopyRows)
    def _copy_rows(self, step: CopyRows) -> int:
        """Stream the results' rows into the table (a target that copies rows: PostgreSQL)."""
        assert isinstance(self.target, CopiesRows), "a CopyRows step planned for a target that copies no rows"
        copied = self.target.copy_rows(step)
        if step.rows is not None and copied != step.rows:
            raise PublishFailed(f"COPY wrote {copied:,} rows, the results have {step.rows:,}")
        return copied

    @handles(RetireTable)
    def _retire(self, step: RetireTable) -> str | None:
        """Drop the table and record it retired, unless the ledger says another apply did;
        rolled back on failure (where ``begin`` opened a transaction), then raised."""
        for statement in step.begin:
            self._statement(statement)
        try:
            if self._statement(step.retired):
                for end in step.end:
                    self._statement(end)
                return "already retired by another apply: skipped"
            for last in (*step.retire, *step.end):
                self._statement(last)
        except Exception:
            for statement in step.begin:
                if statement.undo is not None:
                    # The connection may be gone: the error that matters is raised below.
                    with contextlib.suppress(Exception):
                        self._statement(statement.undo)
            raise
        return None

    def _statement(self, statement: Begin | Statement | RowCheck | LedgerRecord | Commit) -> Any:
        """One statement of a composite step, alone among parallel publications where serial."""
        assert self.target is not None
        if _serial(statement):
            with self.serial, alongside_others(self.target, self.dialect):
                return self._execute(statement)
        return self._execute(statement)

    @handles(DeleteObject)
    def _delete(self, step: DeleteObject) -> str | None:
        """Delete only what this run wrote, or a leftover still holding the bytes the plan saw."""
        assert self.objects is not None
        if step.sha256:
            if not self.objects.delete_if_same(step.uri, step.sha256):
                return "gone or changed since the plan: left alone"
            return None
        if step.uri not in self.owned:
            return "not written by this run: left alone"
        self.objects.delete(step.uri)
        self.owned.discard(step.uri)
        return None

    def _check_changed(self, step: Statement, changed: int | None) -> None:
        """A DML statement's row count, as the engine reported it: recorded, and checked."""
        if changed is None:
            raise PublishFailed(f"{self.dialect.title} did not report how many rows the statement changed")
        if step.reports:
            self.outcome.append(f"{step.reports}: {changed:,}")
        if step.changes is not None and changed != step.changes:
            raise PublishFailed(f"the statement changed {changed:,} rows, expected {step.changes:,}")

    @handles(SetLocation)
    def _set_location(self, step: SetLocation) -> None:
        assert self.target is not None
        relation = Relation(step.database, None, step.table)
        try:
            self.target.execute(self.dialect.set_location(relation, step.location))
        except Exception:
            if not self._moved(step):
                raise
            # Moved, then failed (Spark lists the new folder after writing the metastore): for
            # an undo, where the table should be is where it is; forward, the failure stands.
            if self._undoing:
                return
            raise

    def _moved(self, step: SetLocation) -> bool:
        """Whether the table is at ``step.location`` now (False where that cannot be read)."""
        assert self.target is not None
        try:
            found = self.target.table_location(Relation(step.database, None, step.table))
        except Exception:
            return False
        return location.same(found, step.location)

    @handles(CheckColumns)
    def _check_columns(self, step: CheckColumns) -> None:
        assert self.target is not None
        relation = Relation(step.database, step.schema, step.table)
        state = self.target.table_state(relation)
        found = tuple(f"{c.name} {c.type}" for c in state.columns) if state is not None else ()
        if found == step.columns:
            return
        if state is None:
            what = "is gone"
        else:
            planned, now = set(step.columns), set(found)
            changes = [f"{c} now" for c in found if c not in planned] + [
                f"no {c}" for c in step.columns if c not in now
            ]
            what = "has other columns: " + ("; ".join(changes[:6]) or "the same ones in another order")
        raise PublishFailed(
            f"{relation} {what} since the plan was made; nothing was changed: plan again (another apply or a "
            "person changed the table)"
        )

    @handles(CheckKeys)
    def _check_keys(self, step: CheckKeys) -> None:
        assert self.target is not None
        twice, nulls = (int(v or 0) for v in self.target.fetch(step.counts)[0])
        if not twice and not nulls:
            return
        keys = ", ".join(step.keys)
        problems = []
        if twice:
            shown = "; ".join(
                f"{', '.join(_shown(v) for v in row[:-1])} ({int(row[-1])} rows)"
                for row in self.target.fetch(step.examples)
            )
            problems.append(f"{twice:,} key(s) appear more than once in the results, such as {shown}")
        if nulls:
            problems.append(f"{nulls:,} row(s) of the results have a NULL in {keys}")
        raise PublishFailed(
            f"mergeKeys ({keys}) must name each row once: {'; and '.join(problems)}. Nothing was changed"
        )

    @handles(CheckValues)
    def _check_values(self, step: CheckValues) -> None:
        assert self.target is not None
        found = [int(v or 0) for v in self.target.fetch(step.counts)[0]]
        problems = []
        for column, count, example, why in zip(step.columns, found, step.examples, step.why, strict=True):
            if count:
                rows = self.target.fetch(example)
                such = f", such as {_shown(rows[0][0])}" if rows else ""
                problems.append(f"column {column}: {count:,} row(s) of the results hold {why}{such}")
        if problems:
            raise PublishFailed(f"{'; '.join(problems)}. Nothing was changed")

    def _note(self, text: str) -> None:
        """Something people should know while a step runs (a wait, a lock taken over)."""
        if self._publication is not None:
            self.listener("note", StepEvent(self._publication, 0, self._publication.steps[0], 0.0, text))

    def _check(self, step: RowCheck, row: tuple[int, ...]) -> None:
        added = self.captured[step.plus] if step.plus else (0,) * len(step.expect)
        expected = tuple(e + a for e, a in zip(step.expect, added, strict=True))
        if step.minus:
            expected = (expected[0] - self.captured[step.minus][0], *expected[1:])
        wrong = [
            f"found {found:,} rows, expected {want:,}"
            if label == "rows"
            else f"{found:,} non-NULL {label}, expected {want:,}"
            for label, found, want in zip(step.checks, row, expected, strict=True)
            if found != want
        ]
        if wrong:
            raise PublishFailed("; ".join(wrong))

    def render(self, step: SqlStep) -> str:
        """The statement with its run-time values, each as a literal of the target's dialect."""
        return "".join(p if isinstance(p, str) else self.dialect.literal(self._value(p)) for p in step.sql)

    def _value(self, param: Param) -> str | int | None:
        if param.kind == "run_id":
            return self.run_id
        if param.kind == "outcome":
            return "; ".join(self.outcome) or None
        if param.kind == "now":
            # Microseconds: the ledger's order of two publications in one second (retention
            # retires the older) must not rest on how the engine happens to return rows.
            return datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
        if param.kind == "day":
            return datetime.now(UTC).strftime("%Y-%m-%d")
        if param.kind == "captured":
            return self.captured[param.name][0]
        return secret_value(param.name)

    def _left_unfinished(
        self, publication: Publication, undo: list[Undoable], index: int, step: Step, exc: Exception
    ) -> None:
        """A step after the publication's COMMIT failed: the publication stands. Its own
        transaction is rolled back, and a warning says what the next apply finishes."""
        self._give_up(publication, undo)
        message = mask_secrets(_first_line(exc), _secrets_of(step))
        left = f"{message} (the publication stands, committed before step {index}; the next apply finishes it)"
        self.listener("warning", StepEvent(publication, index, step, 0.0, left))

    def _give_up(self, publication: Publication, undo: list[Undoable]) -> None:
        if self._undo(publication, undo):
            for tidy in publication.on_failure:
                self._best_effort(publication, tidy)

    def _undo(self, publication: Publication, undo: list[Undoable]) -> bool:
        """The undo of completed steps, newest first; False if one failed (then no more ran)."""
        for step in reversed(undo):
            reverse = step.reverse() if isinstance(step, SetLocation) else step.undo
            assert reverse is not None
            self._undoing = True
            try:
                undone = self._best_effort(publication, reverse)
            finally:
                self._undoing = False
            if not undone:
                # Later undos assume this one happened (a DROP after a failed move back
                # could delete the table's data): stop, and leave the state as it is.
                self.listener("warning", StepEvent(publication, 0, step, 0.0, "undo stopped here: check the table"))
                return False
        return True

    def _best_effort(self, publication: Publication, step: Step) -> bool:
        # A failed undo or tidy-up must not hide the error that caused it; it is reported.
        try:
            self._run_step(publication, 0, step)
        except Exception as exc:
            self.listener(
                "warning", StepEvent(publication, 0, step, 0.0, mask_secrets(_first_line(exc), _secrets_of(step)))
            )
            return False
        return True
