"""Several front doors at once: two `publisher serve` processes and a CLI `publisher apply` on
one project, publishing overlapping sets of publications into the same tables (design: "several
servers side by side, or a server and a CI apply, agree on what is published and publish each
publication once").

On each target where two processes can share the engine (the HiveServer2 and the Redshift
stand-in; not the embedded Hive: one Derby metastore per JVM):

- ten tables are made first by one setup apply (a dropAndLoad each);
- then, at the same time, server A and server B are sent PUTs (three clients each, in a
  shuffled order) and an `apply --parallel 2` runs over spec files: every publication goes
  through one, two or all three doors, into tables of `load` (a publication published twice
  would show as duplicated rows), `merge` (keys of the table updated, new keys inserted) and
  `truncateAndLoad` (the table must hold the rows of the publication recorded last);
- server A is killed (SIGKILL) once half of its publications are settled, started again on the
  same project, and sent again every PUT whose session it had not finished or never answered;
- then by value: each table's rows are its publications' results applied once each; the ledger
  holds one 'done' row per publication, written by the session or run that says it published
  it; no lock, staging or set-aside table (nor COPY manifest) is left; every PUT was answered
  200 JobStarted or AlreadyPublished, every session finished Complete without an error, the
  apply exited 0.

Measured here (2 cores shared with other engine runs): the stand-in ~13 s in all (the
concurrent phase 8-12 s); the HiveServer2 ~2.5-3 min (the concurrent phase 100-145 s: each
publication is 2-9 s of Spark jobs, one table's run one at a time), so Hive keeps all 50.

Found and fixed: a Hive truncateAndLoad or merge planned before another process swapped the
table broke the table (now it stops under the lock and is planned again); a lock table dropped
and taken again between a waiter's two reads failed the waiter; two processes recording into
the Hive ledger at once lost a record (Spark's writer: test_ledger_writers.py); a server's PUTs
stopped answering once the Thrift Server kept a session's close unanswered (SPARK-51041: the
publisher's close now gives up after a few seconds).
"""

from __future__ import annotations

import contextlib
import http.client
import importlib.util
import os
import random
import secrets
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import HiveEngine, scan_outputs
from tests.fixtures.hive import _server, _unavailable, server_address
from tests.resultfiles import write
from tests.serving import ROOT, TOKEN_ENV, Reply, Served, start, stop

pytestmark = [pytest.mark.server, pytest.mark.slow]

FLOW = 1
LOADS, MERGES, SWAPS = 6, 2, 2  # tables of load, merge and truncateAndLoad publications: 10 tables
COUNTS = {"redshift": 50, "hiveserver2": 50}
"""Publications sent through the doors (besides the ten that make the tables); 50 on Hive too:
its run takes about 2.5 minutes here."""
DOORS = ({"A", "B", "apply"}, {"A", "B"}, {"A", "apply"}, {"B", "apply"}, {"A"}, {"B"}, {"apply"})
"""Which doors publication i goes through: DOORS[i % 7]; the first four overlap."""
DEADLINE = 600.0
"""Seconds for the whole concurrent phase, kill and restart included."""
ALLOWED_NOTES = ("already published", "published before, finished now")
"""What a Complete session may note: another door (or a killed session) published it first."""


@dataclass(frozen=True)
class Publication:
    job: int
    table: str
    action: str
    first: int
    count: int
    doors: frozenset[str]

    @property
    def tricky(self) -> bool:
        return self.action == "merge"  # other names for the keys it updates


@dataclass
class Engine:
    """One target as the test sees it: where results go, what a body names, what the engine holds."""

    kind: str
    root: Path
    database: str
    table_name: Callable[[str], str]
    upload: Callable[[Path, int], None]
    table_rows: Callable[[str], list[tuple[Any, ...]]]
    expected: Callable[[list[dict[str, Any]]], list[tuple[Any, ...]]]
    done: Callable[[], list[tuple[int, str, str]]]  # the ledger's 'done' rows: job, run id, when
    tables: Callable[[], set[str]]
    extra_checks: Callable[[list[Publication]], None]

    def results(self, job: int, first: int, count: int, tricky: bool = False) -> list[dict[str, Any]]:
        folder = self.root / "results" / str(job) / str(FLOW)
        data = write(folder, "pqt", first, count, 2, tricky=tricky)
        self.upload(folder, job)
        return data

    def body(self, table: str, action: str) -> dict[str, Any]:
        keys: dict[str, Any] = {"connection": {"id": 1}, "path": [self.database], "table": self.table_name(table)}
        keys |= {"action": action, "inputFormat": "pqt", "flowNodeId": FLOW}
        return keys | ({"mergeKeys": ["id"]} if action == "merge" else {})

    def spec(self, folder: str, job: int, table: str, action: str) -> None:
        path = self.root / folder / f"job_{job}.yaml"
        path.parent.mkdir(exist_ok=True)
        path.write_text(yaml.safe_dump({"jobGroup": job, **self.body(table, action)}, sort_keys=False))


def _config(root: Path, connections: list[dict[str, Any]], results: str, s3: bool) -> None:
    config: dict[str, Any] = {"results": results, **({"resultsConnection": "s3"} if s3 else {})}
    config |= {"connections": connections, "server": {"tokens": [f"${{{TOKEN_ENV}}}"], "concurrency": 2}}
    (root / "publisher.yaml").write_text(yaml.safe_dump(config, sort_keys=False))


def _redshift(request: pytest.FixtureRequest, root: Path) -> Iterator[Engine]:
    from tests.integration.test_apply_redshift import expected, table_rows

    rs = request.getfixturevalue("redshift")
    _config(root, rs.connections, rs.results_template, s3=True)

    def done() -> list[tuple[int, str, str]]:
        return [(int(r["job_group"]), str(r["run_id"]), str(r["published_at"])) for r in rs.ledger("done")]

    def upload(folder: Path, job: int) -> None:
        rs.upload(folder, job, FLOW)

    def extra_checks(publications: list[Publication]) -> None:
        assert rs.manifests() == [], "a COPY manifest was left"
        # The lock tables stay (one per target table, beside the ledger) and hold each 'done'
        # publication into their table once; no transaction is left holding one.
        held: Counter[tuple[str, int]] = Counter()
        for lock in rs.lock_tables():
            for (job,) in rs.fetch(f"SELECT job_group FROM {rs.qualified(lock)} WHERE state = 'done'"):
                held[(lock.split("_", 2)[2], int(job))] += 1
        assert held == Counter((p.table, p.job) for p in publications), "the lock tables' rows"
        waiting = rs.fetch("SELECT COUNT(*) FROM pg_catalog.pg_locks WHERE NOT granted")
        assert waiting == [(0,)]

    yield Engine(
        "redshift",
        root,
        "dev",
        rs.table_name,
        upload,
        lambda table: table_rows(rs, table),
        expected,
        done,
        rs.tables,
        extra_checks,
    )


def _hiveserver2(root: Path) -> Iterator[Engine]:
    from tests.integration.test_apply_hive import expected, table_rows

    target = _server()
    database = f"pubtest_{secrets.token_hex(5)}"
    target.execute(f"CREATE DATABASE `{database}`")
    host, port = server_address()
    connection = {"id": 1, "name": "hive", "type": "hive", "host": host, "port": port, "auth": "NONE"}
    connection |= {"username": "publisher", "ledger": {"database": database, "table": "publications"}}
    hive = HiveEngine("server", connection, target, database)
    _config(root, [connection], "results/{jobGroup}/{flowNodeId}/", s3=False)

    def done() -> list[tuple[int, str, str]]:
        sql = f"SELECT job_group, run_id, CAST(published_at AS STRING) FROM {hive.fresh('publications')}"
        return [(int(j), str(r), str(w)) for j, r, w in target.fetch(sql + " WHERE state = 'done'")]

    try:
        yield Engine(
            "hiveserver2",
            root,
            database,
            lambda table: table,
            lambda folder, job: None,
            lambda table: table_rows(hive, table),
            expected,
            done,
            hive.tables,
            lambda publications: None,
        )
    finally:
        with contextlib.suppress(Exception):
            target.execute(f"DROP DATABASE IF EXISTS `{database}` CASCADE")
        target.close()


@pytest.fixture(
    params=[
        # A load killed while pending, then another door's append into the same table: the
        # recovery counts the loads the ledger recorded since (planning/actions/load.py recover).
        pytest.param("hiveserver2", marks=pytest.mark.hive),
        pytest.param("redshift", marks=pytest.mark.redshift),
    ]
)
def engine(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    for module in ("starlette", "uvicorn"):
        if importlib.util.find_spec(module) is None:
            _unavailable(f"publisher serve needs {module} (pip install 'warehouse-publisher[server]')")
    monkeypatch.setenv(TOKEN_ENV, secrets.token_hex(20))  # every reply and log is scanned for it
    made = _redshift(request, tmp_path) if request.param == "redshift" else _hiveserver2(tmp_path)
    yield from made


# --- the doors ---------------------------------------------------------------------------------


@dataclass
class Door:
    """A server and what it was asked and answered."""

    name: str
    served: Served
    replies: list[tuple[int, Reply]] = field(default_factory=list)
    sessions: dict[int, str] = field(default_factory=dict)  # job -> JobStarted session
    states: dict[str, dict[str, Any]] = field(default_factory=dict)  # session -> last seen
    unanswered: list[int] = field(default_factory=list)  # PUTs the kill cut off or kept from sending
    lock: threading.Lock = field(default_factory=threading.Lock)

    def put(self, engine: Engine, publication: Publication, killed: threading.Event | None = None) -> None:
        if killed is not None and killed.is_set():
            with self.lock:
                self.unanswered.append(publication.job)
            return
        try:
            reply = self.served.put(publication.job, engine.body(publication.table, publication.action))
        except (OSError, http.client.HTTPException):
            if killed is None or not killed.is_set():
                raise
            with self.lock:
                self.unanswered.append(publication.job)
            return
        with self.lock:
            self.replies.append((publication.job, reply))
            if reply.status == 200 and reply.body["reason"] == "JobStarted":
                self.sessions[publication.job] = reply.body["sessionId"]

    def poll(self) -> int:
        """Reads every unfinished session once; how many are settled (finished, or answered
        AlreadyPublished)."""
        with self.lock:
            pending = [s for s in self.sessions.values() if self.states.get(s, {}).get("state") not in FINAL]
            settled = sum(1 for _, r in self.replies if r.status != 200 or r.body["reason"] != "JobStarted")
        for sid in pending:
            self.states[sid] = self.served.session(sid)
        return settled + sum(1 for s in self.states.values() if s["state"] in FINAL)

    def unfinished(self) -> list[str]:
        return [s for s in self.sessions.values() if self.states.get(s, {}).get("state") not in FINAL]


FINAL = ("Complete", "Failed")


def plan_publications(count: int) -> tuple[list[Publication], list[Publication]]:
    """The ten table-making publications (ids 0..19 of their table), and ``count`` publications
    spread over the tables, each with ids of its own; a merge's are 2 + 4n .. 5 + 4n: it updates
    the table's rows of those ids (other names) and inserts those past 19."""
    tables = [f"load_{i}" for i in range(LOADS)] + [f"merge_{i}" for i in range(MERGES)]
    tables += [f"swap_{i}" for i in range(SWAPS)]
    action = {
        t: "load" if t.startswith("load") else "merge" if t.startswith("merge") else "truncateAndLoad" for t in tables
    }
    base = [Publication(1 + i, t, "dropAndLoad", 10_000 * (i + 1), 20, frozenset()) for i, t in enumerate(tables)]
    publications, per_table = [], Counter[str]()
    for i in range(count):
        table = tables[i % len(tables)]
        n = per_table[table]
        per_table[table] += 1
        first = 10_000 * (tables.index(table) + 1) + (2 + 4 * n if action[table] == "merge" else 100 + 10 * n)
        size = 4 if action[table] == "merge" else 4 + i % 3
        publications.append(Publication(101 + i, table, action[table], first, size, frozenset(DOORS[i % len(DOORS)])))
    return base, publications


def merged(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[dict[str, Any]]:
    ids = {r["id"] for r in new}
    return [r for r in old if r["id"] not in ids] + new


def run_apply(root: Path, folder: str, *options: str) -> subprocess.Popen[str]:
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "publisher", "apply", folder, *options]
    return subprocess.Popen(
        command, cwd=root, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def finished_apply(process: subprocess.Popen[str], root: Path, timeout: float, *, check: bool = True) -> str:
    out, err = process.communicate(timeout=timeout)
    scan_outputs(root, ["apply"], out, err)
    assert process.returncode == 0 or not check, f"{out[-4000:]}\n{err[-4000:]}"
    return out + err


def test_two_servers_and_an_apply_publish_each_publication_once(engine: Engine) -> None:
    clock = time.monotonic()
    timings: dict[str, float] = {}
    base, publications = plan_publications(COUNTS[engine.kind])
    data: dict[int, list[dict[str, Any]]] = {}
    for p in [*base, *publications]:
        data[p.job] = engine.results(p.job, p.first, p.count, p.tricky)
        if p in base:
            engine.spec("base", p.job, p.table, p.action)
        elif "apply" in p.doors:
            engine.spec("specs", p.job, p.table, p.action)
    finished_apply(run_apply(engine.root, "base"), engine.root, 300)
    timings["setup"] = time.monotonic() - clock

    token = os.environ[TOKEN_ENV]
    a = Door("A", start(engine.root, token, "a.log"))
    b = Door("B", start(engine.root, token, "b.log"))
    restarted: Door | None = None
    shuffled = random.Random(23)
    killed = threading.Event()
    started = time.monotonic()
    try:
        applying = run_apply(engine.root, "specs", "--parallel", "2")
        to_a = shuffled.sample([p for p in publications if "A" in p.doors], k=sum("A" in p.doors for p in publications))
        to_b = shuffled.sample([p for p in publications if "B" in p.doors], k=sum("B" in p.doors for p in publications))
        with ThreadPoolExecutor(3) as a_clients, ThreadPoolExecutor(3) as b_clients:
            a_puts = [a_clients.submit(a.put, engine, p, killed) for p in to_a]
            b_puts = [b_clients.submit(b.put, engine, p) for p in to_b]
            # Halfway: half of A's publications settled (finished, or answered as published).
            while a.poll() < len(to_a) // 2:
                for future in a_puts:
                    if future.done() and future.exception() is not None:
                        future.result()
                assert time.monotonic() - started < DEADLINE, "server A never got halfway"
                time.sleep(0.1)
            running = sum(1 for s in a.states.values() if s["state"] == "InProgress")
            killed.set()
            a.served.process.send_signal(signal.SIGKILL)
            assert a.served.process.wait(60) == -signal.SIGKILL
            timings["killed A after"] = time.monotonic() - started
            for future in [*a_puts, *b_puts]:
                future.result()
        cut_off = sorted({*a.unanswered, *(j for j, s in a.sessions.items() if s in a.unfinished())})
        stop(a.served)  # the log scanned for secrets

        restarted = Door("A again", start(engine.root, token, "a-again.log"))
        again = {p.job: p for p in to_a if p.job in cut_off}
        with ThreadPoolExecutor(3) as clients:
            list(clients.map(lambda p: restarted.put(engine, p), again.values()))
        for door in (b, restarted):
            while door.unfinished():
                assert time.monotonic() - started < DEADLINE, f"server {door.name}: {door.unfinished()} unfinished"
                door.poll()
                time.sleep(0.2)
        applied = finished_apply(applying, engine.root, max(1.0, DEADLINE - (time.monotonic() - started)), check=False)
        timings["all published after"] = time.monotonic() - started
    finally:
        for door in (a, b, restarted):
            if door is not None:
                stop(door.served)
    failed = [line for line in applied.splitlines() if line.startswith("error:") or ": error:" in line]
    failed += [
        s["error"] or "" for door in (a, b, restarted) if door for s in door.states.values() if s["state"] == "Failed"
    ]
    assert failed == [], failed[:5]
    assert applying.returncode == 0, applied[-6000:]
    done = engine.done()
    by_job = Counter(job for job, _, _ in done)
    run_of = {job: str(uuid.UUID(run)) for job, run, _ in done}  # the CLI's run id: hex without dashes
    doors = (a, b, restarted)
    door_of = {sid: door.name for door in doors for sid in door.sessions.values()}
    print(
        f"\n{engine.kind}: {len(publications)} publications; A killed with {running} running and {len(cut_off)} "
        f"to send again; published by {dict(Counter(door_of.get(run_of[p.job], 'apply') for p in publications))}; "
        + ", ".join(f"{k} {v:.1f}s" for k, v in timings.items())
    )

    # Every reply a clean success: JobStarted, or AlreadyPublished naming the session that did.
    for door in doors:
        for job, reply in door.replies:
            assert reply.status == 200 and reply.body["reason"] in ("JobStarted", "AlreadyPublished"), reply.text
            if reply.body["reason"] == "AlreadyPublished":
                assert reply.body["sessionId"] == run_of[job], (door.name, reply.text)
        for job, sid in door.sessions.items():
            if door is a and job in cut_off:
                continue  # killed with the server: sent again
            session = door.states[sid]
            assert session["state"] == "Complete" and session["error"] is None, (door.name, session)
            note = session["note"]
            assert note is None or note.startswith(ALLOWED_NOTES), (door.name, session)
            if note is None:
                assert run_of[job] == sid, f"session {sid} of {door.name} says it published job {job}"
        log = door.served.log.read_text(errors="replace")
        assert "internal error" not in log and "Traceback" not in log, log[-4000:]
    assert " 0 failed" in applied, applied

    # The ledger: one 'done' row per publication, the table-making ones included.
    assert by_job == Counter({p.job: 1 for p in [*base, *publications]}), "one 'done' row each"

    # Each table by value: its publications applied once each.
    when = {job: at for job, _, at in done}
    for made in base:
        mine = [p for p in publications if p.table == made.table]
        want = data[made.job]
        if made.table.startswith("load"):
            want = want + [row for p in mine for row in data[p.job]]
        elif made.table.startswith("merge"):
            for p in mine:
                want = merged(want, data[p.job])
        got = engine.table_rows(made.table)
        if made.table.startswith("swap"):
            last = max(when[p.job] for p in mine)
            candidates = [engine.expected(data[p.job]) for p in mine if when[p.job] == last]
            assert got in candidates, f"{made.table} holds the rows of the publication recorded last ({last})"
        else:
            assert got == engine.expected(want), made.table

    # Nothing left behind: no lock, staging, new or set-aside table.
    assert engine.tables() == {made.table for made in base} | {"publications"}
    engine.extra_checks([*base, *publications])
