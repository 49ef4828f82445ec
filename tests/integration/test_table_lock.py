"""One writer per Hive table: a lock table taken before the first change, released after
the last; a second apply waits for a live holder and takes over the lock of one that is
gone. Two real processes against the HiveServer2, and the takeover on both Hive engines."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time

import pytest

from tests.conftest import HiveEngine, Project, scan_outputs
from tests.integration.test_apply_hive import expected, spec, table_rows, use
from tests.resultfiles import write

pytestmark = pytest.mark.hive


def hold(hive: HiveEngine, pid: int, *, host: str | None = None, expires: float | None = None) -> None:
    """A lock on table t as another apply leaves it: run, host, process, lease."""
    props = {
        "publisher.run": "other-run",
        "publisher.host": host or socket.gethostname(),
        "publisher.pid": str(pid),
        "publisher.since": "2026-12-02 00:00:00",
        "publisher.expires": str(int(expires if expires is not None else time.time() + 3600)),
    }
    listed = ", ".join(f"'{k}'='{v}'" for k, v in props.items())
    hive.target.execute(f"CREATE TABLE `{hive.database}`.`t__lock` (held_by STRING) TBLPROPERTIES ({listed})")


def seeded(project: Project, hive: HiveEngine) -> list[dict[str, object]]:
    use(project, hive)
    base = write(project.results(1, 1), "pqt", 1, 5)
    spec(project, hive, "a_base", "dropAndLoad", "pqt", 1)
    assert project.run("apply").code == 0
    return base


def test_the_lock_of_a_holder_that_is_gone_is_taken_over(project: Project, hive: HiveEngine) -> None:
    base = seeded(project, hive)
    ended = subprocess.Popen(["true"])
    ended.wait()
    hold(hive, ended.pid)  # its process has ended on this host
    new = write(project.results(2, 1), "pqt", 100, 3)
    spec(project, hive, "b", "load", "pqt", 2)
    result = project.run("apply")
    assert result.code == 0, result.err
    assert "took over the lock" in result.err and "other-run" in result.err
    assert table_rows(hive, "t") == expected(base + new)
    assert "t__lock" not in hive.tables(), "released after the last change"
    # A holder on another host is honoured until its lease ends.
    hold(hive, 1, host="elsewhere.example", expires=time.time() - 1)
    more = write(project.results(3, 1), "pqt", 200, 2)
    spec(project, hive, "c", "load", "pqt", 3)
    result = project.run("apply")
    assert result.code == 0, result.err
    assert "took over the lock" in result.err
    assert table_rows(hive, "t") == expected(base + new + more)


def test_a_live_holder_is_waited_for_and_named(project: Project, hive: HiveEngine) -> None:
    base = seeded(project, hive)
    holder = subprocess.Popen(["sleep", "4"])
    # Reaped as soon as it ends, as init reaps another apply's process: a zombie child of
    # this test would still answer kill(pid, 0).
    reaper = threading.Thread(target=holder.wait)
    reaper.start()
    hold(hive, holder.pid)
    new = write(project.results(2, 1), "pqt", 100, 3)
    spec(project, hive, "b", "load", "pqt", 2)
    started = time.monotonic()
    result = project.run("apply")
    reaper.join()
    assert result.code == 0, result.err
    assert time.monotonic() - started >= 2, "it waited while the holder lived"
    assert f"waiting for run other-run on {socket.gethostname()} (pid {holder.pid})" in result.err
    assert table_rows(hive, "t") == expected(base + new)


def test_a_table_named_like_a_lock_that_publisher_did_not_take_is_left_alone(
    project: Project, hive: HiveEngine
) -> None:
    base = seeded(project, hive)
    hive.target.execute(f"CREATE TABLE `{hive.database}`.`t__lock` (x INT)")
    write(project.results(2, 1), "pqt", 100, 3)
    spec(project, hive, "b", "load", "pqt", 2)
    result = project.run("apply")
    assert result.code == 1
    assert "t__lock exists and is not a lock publisher took" in result.err
    assert "t__lock" in hive.tables()
    assert table_rows(hive, "t") == expected(base)


@pytest.mark.slow
def test_two_applies_at_once_publish_one_publication_once_and_two_one_after_the_other(
    project: Project, hive: HiveEngine
) -> None:
    """Real processes against the HiveServer2: the same load twice at once appends once;
    two loads into one table from two applies both land, one after the other."""
    if hive.kind != "server":
        pytest.skip("two processes need the server: the embedded metastore allows one")
    base = seeded(project, hive)
    (project.root / "specs" / "a_base.yaml").unlink()
    once = write(project.results(2, 1), "pqt", 100, 4)
    spec(project, hive, "b", "load", "pqt", 2)
    other = write(project.results(3, 1), "pqt", 300, 2)
    spec(project, hive, "c", "load", "pqt", 3)
    command = [sys.executable, "-m", "publisher", "apply"]
    runs = [
        subprocess.Popen(
            [*command, *files], cwd=project.root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for files in (["specs/b.yaml"], ["specs/b.yaml", "specs/c.yaml"], ["specs/c.yaml"])
    ]
    outputs = [run.communicate(timeout=600) for run in runs]
    for out, err in outputs:
        scan_outputs(project.root, ["apply"], out, err)
    for run, (out, err) in zip(runs, outputs, strict=True):
        assert run.returncode == 0, f"{out[-3000:]}\n{err[-3000:]}"
    assert table_rows(hive, "t") == expected(base + once + other), "each publication exactly once"
    ledger = hive.target.fetch(
        f"SELECT job_group, COUNT(*) FROM `{hive.database}`.`publications` WHERE state = 'done' GROUP BY job_group"
    )
    assert sorted((int(j), int(n)) for j, n in ledger) == [(1, 1), (2, 1), (3, 1)]
