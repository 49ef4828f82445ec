"""The executor's handling of steps after a publication's COMMIT, with a recording fake target."""

from __future__ import annotations

from typing import Any

import pytest

from publisher.apply.executor import AlreadyPublished, Executor, StepEvent
from publisher.dialects import dialect_for
from publisher.model.errors import PublishFailed, TransactionConflict
from publisher.model.identity import PublicationId
from publisher.model.location import Location
from publisher.model.plan import Begin, Commit, Guard, LedgerRecord, Publication, RowCheck, Step, sql


class FakeTarget:
    """Runs nothing; records each statement, and fails the ones that start with ``fail``."""

    shared = True  # as a server: other processes write through it too

    def __init__(self, fail: str) -> None:
        self.fail = fail
        self.ran: list[str] = []

    def execute(self, text: str) -> None:
        self.ran.append(text)
        if text.startswith(self.fail):
            raise RuntimeError(f"cannot run {text}")

    def fetch(self, text: str) -> list[tuple[Any, ...]]:
        self.execute(text)
        return [(0,)]


def publication(*steps: Step) -> Publication:
    pid = PublicationId(1, 1, 1, "dev", "t", "dropAndLoad")
    return Publication("spec.yaml", 1, "h", pid, "rs", "redshift", "t", "s3://b/", "pqt", 1, (), steps)


STEPS = (
    Begin(("BEGIN",), "begin", undo=sql("ROLLBACK", "roll back")),
    sql("ALTER TABLE t RENAME TO t_old", "swap"),
    Commit(("COMMIT",), "publish"),
    Begin(("BEGIN",), "begin", undo=sql("ROLLBACK", "roll back"), after_publish=True),
    sql("DROP TABLE t_old", "drop the old table", after_publish=True),
    Commit(("COMMIT",), "commit the drop", after_publish=True),
)


def test_a_failure_after_the_commit_is_a_warning_and_the_publication_stands() -> None:
    target = FakeTarget(fail="DROP")
    warnings: list[str] = []

    def listen(kind: str, event: StepEvent) -> None:
        if kind == "warning":
            warnings.append(str(event.result))

    Executor(target, dialect_for("redshift"), listener=listen).run(publication(*STEPS))  # type: ignore[arg-type]
    assert target.ran == ["BEGIN", "ALTER TABLE t RENAME TO t_old", "COMMIT", "BEGIN", "DROP TABLE t_old", "ROLLBACK"]
    (warning,) = warnings
    assert "cannot run DROP TABLE t_old" in warning and "the next apply finishes it" in warning


def test_a_failure_before_the_commit_still_fails_the_publication() -> None:
    target = FakeTarget(fail="ALTER")
    with pytest.raises(PublishFailed, match=r"step 2 \(swap\) failed"):
        Executor(target, dialect_for("redshift")).run(publication(*STEPS))  # type: ignore[arg-type]
    assert target.ran[-1] == "ROLLBACK" and "DROP TABLE t_old" not in target.ran


class ConflictingTarget(FakeTarget):
    """Aborts the first ``conflicts`` COMMITs as Redshift does for serializable isolation."""

    def __init__(self, conflicts: int) -> None:
        super().__init__(fail="never")
        self.conflicts = conflicts

    def execute(self, text: str) -> None:
        super().execute(text)
        if text == "COMMIT" and self.conflicts:
            self.conflicts -= 1
            raise TransactionConflict("1023: Serializable isolation violation on table - 42")


def test_a_conflicting_transaction_runs_again_from_its_start_and_each_retry_is_reported() -> None:
    target = ConflictingTarget(conflicts=2)
    retries: list[str] = []

    def listen(kind: str, event: StepEvent) -> None:
        if kind == "retry":
            retries.append(f"{event.index}: {event.result}")

    executor = Executor(target, dialect_for("redshift"), listener=listen, retry_delays=(0, 0, 0))
    executor.run(publication(*STEPS[:3]))  # type: ignore[arg-type]
    once = ["BEGIN", "ALTER TABLE t RENAME TO t_old", "COMMIT"]
    assert target.ran == [*once, "ROLLBACK", *once, "ROLLBACK", *once]
    assert retries == [
        "3: 1023: Serializable isolation violation on table - 42; retry 1 of 3 in 0s",
        "3: 1023: Serializable isolation violation on table - 42; retry 2 of 3 in 0s",
    ]


def test_conflicts_beyond_the_retries_fail_the_publication() -> None:
    target = ConflictingTarget(conflicts=3)
    executor = Executor(target, dialect_for("redshift"), retry_delays=(0, 0))
    with pytest.raises(PublishFailed, match=r"step 3 \(publish\) failed \(after 2 retries\): 1023: Serializable"):
        executor.run(publication(*STEPS[:3]))  # type: ignore[arg-type]
    assert target.ran.count("COMMIT") == 3 and target.ran[-1] == "ROLLBACK"


class CountingTarget(FakeTarget):
    """Reports ``changed`` rows for every INSERT and DELETE, as Redshift's driver does; None for the rest."""

    def __init__(self, changed: int | None) -> None:
        super().__init__(fail="never")
        self.changed = changed

    def execute(self, text: str) -> int | None:  # type: ignore[override]
        super().execute(text)
        return self.changed if text.startswith(("INSERT", "DELETE")) else None


MERGE_STEPS = (
    Begin(("BEGIN",), "begin", undo=sql("ROLLBACK", "roll back")),
    sql("DELETE FROM t USING s", "delete the replaced rows", reports="rows updated"),
    sql("INSERT INTO t SELECT * FROM s", "insert", changes=1_000),
    sql("INSERT INTO ledger VALUES (:outcome)", "record"),
    Commit(("COMMIT",), "publish"),
)


def test_a_dml_row_count_is_recorded_and_must_equal_what_the_plan_expects() -> None:
    target = CountingTarget(changed=1_000)
    executor = Executor(target, dialect_for("redshift"))
    executor.run(publication(*MERGE_STEPS))  # type: ignore[arg-type]
    assert executor.outcome == ["rows updated: 1,000"]
    assert target.ran[-1] == "COMMIT"


@pytest.mark.parametrize(
    "changed,message",
    [
        (999, r"step 3 \(insert\): the statement changed 999 rows, expected 1,000"),
        (None, r"step 2 \(delete the replaced rows\): Redshift did not report how many rows"),
    ],
)
def test_a_wrong_or_missing_row_count_fails_the_publication_uncommitted(changed: int | None, message: str) -> None:
    target = CountingTarget(changed=changed)
    with pytest.raises(PublishFailed, match=message):
        Executor(target, dialect_for("redshift")).run(publication(*MERGE_STEPS))  # type: ignore[arg-type]
    assert "COMMIT" not in target.ran and target.ran[-1] == "ROLLBACK"


class ReshapedTarget(FakeTarget):
    """A table whose columns are whatever the test says they are now."""

    def __init__(self, columns: tuple[tuple[str, str], ...] | None) -> None:
        super().__init__(fail="never")
        self.columns = columns

    def table_state(self, relation: Any, *, exists: bool = False) -> Any:
        from publisher.model.target import ColumnState, TableState

        return None if self.columns is None else TableState(tuple(ColumnState(n, t) for n, t in self.columns))


PLANNED = (("id", "bigint"), ("amount", "numeric(10,2)"))


@pytest.mark.parametrize(
    ("now", "said"),
    [
        (PLANNED, None),
        ((("id", "bigint"), ("amount", "numeric(10,0)")), "amount numeric(10,0) now; no amount numeric(10,2)"),
        ((("amount", "numeric(10,2)"), ("id", "bigint")), "the same ones in another order"),
        (None, "is gone"),
    ],
)
def test_the_columns_read_at_plan_time_are_checked_before_any_change(
    now: tuple[tuple[str, str], ...] | None, said: str | None
) -> None:
    """A table recreated between plan and apply (a DECIMAL(10,2) made DECIMAL(10,0)) stops the
    publication before its first change: rows planned for one shape never go into another."""
    from publisher.model.plan import CheckColumns

    check = CheckColumns("dev", "public", "t", tuple(f"{n} {t}" for n, t in PLANNED), "check")
    target = ReshapedTarget(now)
    steps = (check, sql("INSERT INTO t SELECT 1", "change"))
    run = Executor(target, dialect_for("redshift"))
    if said is None:
        run.run(publication(*steps))  # type: ignore[arg-type]
        assert target.ran == ["INSERT INTO t SELECT 1"]
        return
    with pytest.raises(PublishFailed, match="since the plan was made; nothing was changed") as stopped:
        run.run(publication(*steps))  # type: ignore[arg-type]
    assert said in str(stopped.value) and target.ran == []


class MovingTarget(FakeTarget):
    """A Hive-like table whose SET LOCATION moves it in the metastore and then fails, as Spark's
    does when it lists a folder that is missing (PATH_NOT_FOUND), while ``broken`` says so."""

    def __init__(self, broken: set[str]) -> None:
        super().__init__(fail="never")
        self.at = {"t": "file:/w/t", "t__new": "file:/w/t__new"}
        self.broken = broken

    def execute(self, text: str) -> None:
        self.ran.append(text)
        if "SET LOCATION" in text:
            table = text.split("`")[3]
            target = text.split("'")[1]
            self.at[table] = target
            if target in self.broken:
                raise RuntimeError(f"[PATH_NOT_FOUND] Path does not exist: {target}")
        elif text.startswith("fail"):
            raise RuntimeError("cannot run it")

    def table_location(self, relation: Any) -> Location | None:
        found = self.at.get(relation.name)
        return None if found is None else Location.parse(found)


OLD, NEW = Location.parse("file:/w/t"), Location.parse("file:///w/t__new/")  # any spelling: one value


def swap_steps() -> tuple[Any, ...]:
    from publisher.model.plan import SetLocation

    return (
        SetLocation("db", "t", NEW, OLD, "point the table at the new rows", "point it back"),
        SetLocation("db", "t__new", OLD, NEW, "give the old rows to the twin", "give back"),
        sql("fail: drop the twin", "drop the twin, and with it the old rows"),
    )


def test_a_set_location_that_failed_after_moving_the_table_is_undone_from_where_it_is() -> None:
    """Never assume a failed statement changed nothing: the table moved, then the ALTER failed;
    its undo moves it back, and the undo's own failure after moving is no failure."""
    target = MovingTarget(broken={"file:/w/t__new"})
    with pytest.raises(PublishFailed, match=r"step 1 \(point the table at the new rows\) failed"):
        Executor(target, dialect_for("hive")).run(publication(*swap_steps()))  # type: ignore[arg-type]
    assert target.at == {"t": "file:/w/t", "t__new": "file:/w/t__new"}, "both back where they were"


def test_every_completed_move_is_undone_when_a_later_step_fails() -> None:
    target = MovingTarget(broken=set())
    with pytest.raises(PublishFailed, match="drop the twin"):
        Executor(target, dialect_for("hive")).run(publication(*swap_steps()))  # type: ignore[arg-type]
    assert target.at == {"t": "file:/w/t", "t__new": "file:/w/t__new"}
    assert [t.split("'")[1] for t in target.ran if "SET LOCATION" in t] == [
        "file:/w/t__new", "file:/w/t", "file:/w/t__new", "file:/w/t",
    ]  # fmt: skip


def test_a_serial_statement_runs_under_the_dialects_shared_insert_settings_set_back_after_a_failure() -> None:
    """Hive: a ledger record (a ``serial`` statement) runs with Hive's own writer, which stages
    each INSERT in a folder of its own (other processes record into the same ledger), and
    Spark's writer is set back after it, failed or not; the other statements run as they are."""
    hive = dialect_for("hive")
    record = LedgerRecord(("INSERT INTO ledger VALUES (1)",), "record the publication")
    target = FakeTarget(fail="INSERT")
    steps = (sql("SELECT 1", "something else"), record)
    with pytest.raises(PublishFailed):
        Executor(target, hive).run(publication(*steps))  # type: ignore[arg-type]
    before = [f"SET {key}={value}" for key, value, _ in hive.shared_insert_settings]
    after = [f"SET {key}={value}" for key, _, value in hive.shared_insert_settings]
    assert before and all(s.endswith("=false") for s in before) and all(s.endswith("=true") for s in after)
    assert target.ran == ["SELECT 1", *before, "INSERT INTO ledger VALUES (1)", *after]
    redshift = FakeTarget(fail="nothing")
    Executor(redshift, dialect_for("redshift")).run(publication(record))  # type: ignore[arg-type]
    assert redshift.ran == ["INSERT INTO ledger VALUES (1)"]


class CountsTarget(FakeTarget):
    """Answers each count query with the row ``counts`` gives for its text."""

    def __init__(self, counts: dict[str, tuple[int, ...]]) -> None:
        super().__init__(fail="never")
        self.counts = counts

    def fetch(self, text: str) -> list[tuple[Any, ...]]:
        self.execute(text)
        return [self.counts[text]]


def test_a_guard_that_finds_the_publication_stops_it_undone_not_failed() -> None:
    target = CountsTarget({"SELECT done": (1,)})
    steps = (STEPS[0], Guard(("SELECT done",), "skip if published"), sql("DROP TABLE t", "change"), STEPS[2])
    with pytest.raises(AlreadyPublished):
        Executor(target, dialect_for("redshift")).run(publication(*steps))  # type: ignore[arg-type]
    assert target.ran == ["BEGIN", "SELECT done", "ROLLBACK"]
    target = CountsTarget({"SELECT done": (0,)})
    Executor(target, dialect_for("redshift")).run(publication(*steps))  # type: ignore[arg-type]
    assert target.ran == ["BEGIN", "SELECT done", "DROP TABLE t", "COMMIT"]


@pytest.mark.parametrize(
    ("found", "error"),
    [
        ((1_000, 1_000), None),
        ((1_001, 1_000), "found 1,001 rows, expected 1,000"),
        ((1_000, 999), "999 non-NULL name, expected 1,000"),
    ],
)
def test_a_row_check_adds_what_was_captured_before_and_names_what_differs(
    found: tuple[int, int], error: str | None
) -> None:
    """rows: 995 results + 10 before - 5 replaced; name: 990 results' values + the 10 before."""
    target = CountsTarget({"SELECT before": (10, 10), "SELECT replaced": (5,), "SELECT after": found})
    steps = (
        RowCheck(("SELECT before",), "count the rows before", capture="before"),
        RowCheck(("SELECT replaced",), "count the replaced rows", capture="replaced"),
        RowCheck(
            ("SELECT after",), "check", checks=("rows", "name"), expect=(995, 990), plus="before", minus="replaced"
        ),
    )
    executor = Executor(target, dialect_for("redshift"))
    if error is None:
        executor.run(publication(*steps))  # type: ignore[arg-type]
    else:
        with pytest.raises(PublishFailed, match=error):
            executor.run(publication(*steps))  # type: ignore[arg-type]
    assert executor.captured == {"before": (10, 10), "replaced": (5,)}
