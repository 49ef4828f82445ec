"""The Hive ledger's compaction, on both engines: the closed days' rows rewritten as one file,
the copies dropped only once the compaction is settled, every row kept, and an interrupted
publish whose 'pending' row was compacted still recovered by the next apply."""

from __future__ import annotations

import contextlib
import json
import socket
import time
from datetime import UTC, datetime, timedelta

import pytest

from publisher.apply import ledger_compaction
from publisher.dialects import dialect_for
from publisher.model.relation import Relation
from publisher.planning import ledger
from tests.conftest import HiveEngine, Project
from tests.crashing import Crash, crash_at
from tests.integration.test_apply_hive import expected, spec, table_rows, use
from tests.resultfiles import write

pytestmark = pytest.mark.hive

HIVE = dialect_for("hive")


def home(hive: HiveEngine) -> Relation:
    return Relation(hive.database, None, "publications")


def partitions(hive: HiveEngine) -> list[str]:
    return sorted(str(r[0]).partition("=")[2] for r in hive.target.fetch(f"SHOW PARTITIONS {HIVE.table(home(hive))}"))


def ledger_rows(hive: HiveEngine) -> list[tuple[object, ...]]:
    hive.fresh("publications")
    return sorted((tuple(r) for r in hive.target.fetch(ledger.select_all(HIVE, home(hive)))), key=str)


def files(hive: HiveEngine, partition: str) -> int:
    table = hive.fresh("publications")
    where = f"`written` = {HIVE.literal(partition)}"
    return len(
        hive.target.fetch(f"SELECT DISTINCT f FROM (SELECT input_file_name() AS f FROM {table} WHERE {where}) x")
    )


def compact(hive: HiveEngine, now: datetime, run: str = "compaction-test") -> str:
    step = ledger.compact(HIVE, home(hive))
    return ledger_compaction.compact(hive.target, HIVE, step, run, lambda _: None, now=now)


def test_compaction_keeps_every_row_in_one_file_and_recovery_still_works(project: Project, hive: HiveEngine) -> None:
    use(project, hive)
    base = write(project.results(10, 1), "pqt", 1, 20)
    spec(project, hive, "a", "dropAndLoad", "pqt", 10)
    assert project.run("apply").code == 0
    for job in (11, 12):  # a few more publications: a few more files in today's partition
        write(project.results(job, 1), "pqt", 100 * job, 3)
        spec(project, hive, "b", "load", "pqt", job)
        assert project.run("apply").code == 0
    # An interrupted publish: killed after its rows were copied into the table's twin.
    new = write(project.results(13, 1), "pqt", 500, 7)
    spec(project, hive, "a", "truncateAndLoad", "pqt", 13)
    steps = json.loads(project.run("plan", "--format", "json").out)["publications"][0]["steps"]
    copied = [s["purpose"] for s in steps].index("copy the rows")
    with crash_at(copied + 2) as ran, contextlib.suppress(Crash):
        project.run("apply")
    assert ran[-2] == "copy the rows", ran
    today = datetime.now(UTC).strftime("%Y-%m-%d")
    assert partitions(hive) == [today]
    before = ledger_rows(hive)
    assert files(hive, today) == len(before) > 6  # one file an INSERT

    # Three days on, today is closed: its rows are copied into one file, and kept for now.
    later = datetime.now(UTC) + timedelta(days=3)
    said = compact(hive, later)
    made = [p for p in partitions(hive) if p.startswith("compacted-")]
    assert len(made) == 1 and made[0].startswith(f"compacted-{today}-"), (said, partitions(hive))
    assert f"{len(before)} rows" in said
    assert files(hive, made[0]) == 1
    assert partitions(hive) == sorted([today, made[0]])
    assert ledger.parse(ledger_rows(hive)) == ledger.parse(before)  # each row read once
    assert compact(hive, later + timedelta(minutes=30)) == "nothing to compact"  # not settled: no drop

    # Settled: the copied day is dropped; every row is still there, once.
    said = compact(hive, later + timedelta(hours=2))
    assert "dropped 1 partition" in said, said
    assert partitions(hive) == made
    assert ledger_rows(hive) == before

    # The next apply finds the interrupted publish in the compacted rows and finishes it.
    planned = json.loads(project.run("plan", "--format", "json").out)["publications"]
    recovering = [s["purpose"] for p in planned if p["id"]["job_group"] == 13 for s in p["steps"]]
    assert any("interrupted publish" in purpose for purpose in recovering), recovering
    result = project.run("apply")
    assert result.code == 0, result.err
    assert table_rows(hive, "t") == expected(new)
    # As the planner orders them: by time (to the second), 'done' after 'pending' within one.
    job13 = sorted(
        (e for e in ledger.parse(ledger_rows(hive)) if e.job_group == 13),
        key=lambda e: (str(e.published_at), e.state == "done"),
    )
    assert [e.state for e in job13] == [
        "pending",
        "pending",
        "done",
    ]  # the interrupted one, compacted; then the re-apply
    assert project.run("apply").code == 0  # nothing left to do
    assert table_rows(hive, "t") == expected(new)  # job 13's rows replaced the base's, once
    assert base


def test_compaction_is_skipped_while_another_apply_holds_its_lock(project: Project, hive: HiveEngine) -> None:
    use(project, hive)
    write(project.results(10, 1), "pqt", 1, 5)
    spec(project, hive, "a", "dropAndLoad", "pqt", 10)
    assert project.run("apply").code == 0
    # A live holder on another host, its lease running.
    lock = HIVE.table(Relation(hive.database, None, "publications__compaction"))
    props = {
        "publisher.run": "elsewhere",
        "publisher.host": f"not-{socket.gethostname()}",
        "publisher.pid": "1",
        "publisher.since": "2026-01-01 00:00:00",
        "publisher.expires": str(int(time.time()) + 3600),
    }
    listed = ", ".join(f"{HIVE.literal(k)}={HIVE.literal(v)}" for k, v in props.items())
    hive.target.execute(f"CREATE TABLE {lock} (held_by STRING) TBLPROPERTIES ({listed})")
    today = datetime.now(UTC).strftime("%Y-%m-%d")
    said = compact(hive, datetime.now(UTC) + timedelta(days=3))
    assert said.startswith("skipped"), said
    assert "elsewhere" in said
    assert partitions(hive) == [today]
    assert "publications__compaction" in hive.tables()  # another's lock is left alone
    hive.target.execute(f"DROP TABLE {lock}")
    assert "copied" in compact(hive, datetime.now(UTC) + timedelta(days=3))
    assert "publications__compaction" not in hive.tables()  # released


def test_a_row_written_late_into_a_copied_day_is_never_dropped(hive: HiveEngine) -> None:
    """A writer whose clock is a day behind writes into a day a compaction already copied:
    the drop's count check finds the row missing from the compaction, drops nothing, and the
    next compaction holds it too."""
    for step in ledger.ensure(HIVE, home(hive)):
        hive.target.execute(step.text)  # type: ignore[union-attr]

    def insert(day: str, job: int) -> None:
        values = [job, 1, 1, hive.database, "t", "load", "done", "t", 1, None, "20250101000000", None]
        values += ["s.yaml", "h", "e30=", f"run{job}", "CAST('2025-01-01 00:00:00' AS TIMESTAMP)", None, None]
        assert len(values) == len(ledger.NAMES)
        shown = ", ".join(v if isinstance(v, str) and v.startswith("CAST") else HIVE.literal(v) for v in values)
        table = HIVE.table(home(hive))
        hive.target.execute(f"INSERT INTO TABLE {table} PARTITION (`written` = '{day}') VALUES ({shown})")

    insert("2025-01-01", 1)
    insert("2025-01-02", 2)
    now = datetime.now(UTC)
    assert "2 rows" in compact(hive, now)
    insert("2025-01-02", 3)  # late, into a day the compaction copied
    said = compact(hive, now + timedelta(hours=2))
    assert "lacks rows" in said and "3 rows" in said, said
    assert sorted(e.job_group for e in ledger.parse(ledger_rows(hive))) == [1, 2, 3]
    said = compact(hive, now + timedelta(hours=4))
    assert "dropped 3 partition(s)" in said, said  # both days and the first compaction: the second holds them
    assert len(partitions(hive)) == 1
    assert sorted(e.job_group for e in ledger.parse(ledger_rows(hive))) == [1, 2, 3]
