"""A bounded load on `publisher serve`: many PUTs from concurrent clients into the Redshift
stand-in, every publication exactly once.

    python bench/serve_load.py [--small] [--puts N] [--clients C] [--tables T] [--concurrency K]

Needs the stand-in running (bench/README.md says how). Input: T tables (bench_serve.tNN, made
from the results' schema, emptied at start) and N publications, each `load` of its own
1,000-row Parquet result (the same file under N prefixes) into table k mod T, each with a
jobGroup of its own. A `publisher serve` process (concurrency K) is started on a free port;
C client threads (http.client, one keep-alive connection each) PUT the N bodies as fast as
the server answers; one more thread polls each job group's status string, as platform clients
do, until all are final. Then every publication is PUT again (each answered AlreadyPublished,
nothing published), and the ledger and the tables are checked: one `done` row per
publication, each table exactly (its publications x 1,000) rows.

Prints the PUT latency (p50, p99, max), the wall time from the first PUT to the last
"Complete", and publications per second over that time.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
ROWS_EACH = 1_000
LEDGER = "bench_serve_ledger"
SCHEMA = "bench_serve"
TOKEN_ENV = "PUBLISHER_BENCH_TOKEN"


@dataclass
class Round:
    label: str
    latencies: list[float] = field(default_factory=list)  # seconds per PUT
    reasons: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    wall: float = 0.0  # first PUT to the last final status


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Client:
    """One keep-alive HTTP connection, as a platform script's session would hold."""

    def __init__(self, port: int, token: str) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        self.connection.request(method, path, body=data, headers=self.headers)
        response = self.connection.getresponse()
        return response.status, json.loads(response.read() or b"null")


class Bench:
    def __init__(self, puts: int, tables: int, concurrency: int) -> None:
        from live import BUCKET, postgres_connect, services, upload

        self.svc = services()
        self.puts, self.tables = puts, tables
        self.root = HERE / "out" / "serve-load"
        self.project = self.root / "project"
        self.project.mkdir(parents=True, exist_ok=True)
        self.job_base = int(time.time()) * 1000
        folder = self._result()
        started = time.perf_counter()
        self.prefix = f"serve/{self.job_base}"
        for k in range(puts):  # one prefix per publication: {jobGroup}/{flowNodeId}/
            upload(self.svc, folder, f"{self.prefix}/{self.job_base + k}/1")
        print(f"(uploaded {puts} results in {time.perf_counter() - started:.1f}s)", file=sys.stderr)
        self._write_config(f"s3://{BUCKET}/{self.prefix}/{{jobGroup}}/{{flowNodeId}}/", concurrency)
        self.pg = postgres_connect(self.svc)
        self._tables(folder)

    def _result(self) -> Path:
        import pyarrow.parquet as pq
        from live import make_part

        folder = self.root / "result"
        if not (folder / "_SUCCESS").exists():
            folder.mkdir(parents=True, exist_ok=True)
            pq.write_table(make_part(0, ROWS_EACH, seed=7), folder / "part-00000.snappy.parquet")
            (folder / "_SUCCESS").write_bytes(b"")
        return folder

    def _write_config(self, results: str, concurrency: int) -> None:
        from live import IAM_ROLE

        config = {
            "results": results,
            "resultsConnection": "results",
            "connections": [
                {
                    "id": 1,
                    "name": "redshift",
                    "type": "redshift",
                    "host": self.svc.redshift_host,
                    "port": self.svc.redshift_port,
                    "database": "dev",
                    "user": "publisher",
                    "password": "${PUBLISHER_BENCH_PASSWORD}",
                    "iamRole": IAM_ROLE,
                    "s3": "results",
                    "ledger": {"database": LEDGER, "table": "publications"},
                },
                {"id": 2, "name": "results", "type": "s3", "endpointUrl": self.svc.s3_endpoint, "region": "us-east-1"},
            ],
            "server": {"tokens": [f"${{{TOKEN_ENV}}}"], "concurrency": concurrency},
        }
        (self.project / "publisher.yaml").write_text(yaml.safe_dump(config, sort_keys=False))

    def _tables(self, folder: Path) -> None:
        """Empty tables of the results' schema, and a fresh ledger (planning reads all of it)."""
        from live import create_table_sql

        self.pg.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
        self.pg.execute(f"CREATE SCHEMA IF NOT EXISTS {LEDGER}")
        self.pg.execute(f"DROP TABLE IF EXISTS {LEDGER}.publications")
        for i in range(self.tables):
            self.pg.execute(f"DROP TABLE IF EXISTS {SCHEMA}.t{i:02d}")
            self.pg.execute(create_table_sql("redshift", f"{SCHEMA}.t{i:02d}", folder))

    def body(self, k: int) -> dict[str, Any]:
        return {
            "connection": {"id": 1},
            "path": ["dev"],
            "table": f"{SCHEMA}.t{k % self.tables:02d}",
            "action": "load",
            "inputFormat": "pqt",
            "flowNodeId": 1,
        }

    def start_server(self, token: str) -> tuple[subprocess.Popen[bytes], int, Path]:
        port = free_port()
        log = self.root / "server.log"
        env = {**self.svc.env, TOKEN_ENV: token}
        env["PYTHONPATH"] = os.pathsep.join(p for p in (os.environ.get("PYTHONPATH"), str(HERE.parent)) if p)
        with log.open("wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "publisher", "serve", "--config", "publisher.yaml", "--port", str(port)],
                cwd=self.project,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if process.poll() is not None:
                sys.exit(f"publisher serve exited: {log.read_text()[-2000:]}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    return process, port, log
            except OSError:
                time.sleep(0.2)
        process.kill()
        sys.exit("publisher serve did not start in 60 s")

    def run(self, round_: Round, port: int, token: str, clients: int, expect: str) -> None:
        """Every publication PUT once by ``clients`` threads; then polled until final."""
        queue = list(range(self.puts))
        guard = threading.Lock()
        sessions: dict[int, str] = {}

        def put_all() -> None:
            client = Client(port, token)
            while True:
                with guard:
                    if not queue:
                        return
                    k = queue.pop(0)
                started = time.perf_counter()
                status, reply = client.call("PUT", f"/v4/jobGroups/{self.job_base + k}/publish", self.body(k))
                took = time.perf_counter() - started
                with guard:
                    round_.latencies.append(took)
                    reason = reply.get("reason") if status == 200 else f"HTTP {status}"
                    round_.reasons[reason] = round_.reasons.get(reason, 0) + 1
                    if status == 200:
                        sessions[k] = reply["sessionId"]
                    else:
                        round_.problems.append(f"PUT {k}: {status} {str(reply)[:200]}")

        started = time.perf_counter()
        threads = [threading.Thread(target=put_all) for _ in range(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        poller = Client(port, token)
        waiting = set(sessions)
        deadline = time.monotonic() + 1800
        while waiting and time.monotonic() < deadline:
            for k in sorted(waiting):
                status, state = poller.call("GET", f"/v4/jobGroups/{self.job_base + k}/status")
                if state in ("Complete", "Failed"):
                    waiting.discard(k)
                    if state != expect:
                        _, detail = poller.call("GET", f"/v4/sessions/{sessions[k]}")
                        round_.problems.append(f"job {k}: {state}: {str(detail.get('error'))[:200]}")
            if waiting:
                time.sleep(0.2)
        round_.wall = time.perf_counter() - started
        if waiting:
            round_.problems.append(f"{len(waiting)} publications not final after 30 min")

    def check(self) -> list[str]:
        """One done ledger row per publication; each table holds its publications' rows, once."""
        problems = []
        rows = self.pg.execute(
            f"SELECT job_group, COUNT(*) FROM {LEDGER}.publications WHERE state = 'done' "
            "AND job_group >= %s AND job_group < %s GROUP BY job_group",
            (self.job_base, self.job_base + self.puts),
        ).fetchall()
        done = {int(j): int(n) for j, n in rows}
        if len(done) != self.puts or set(done.values()) != {1}:
            twice = sum(1 for n in done.values() if n > 1)
            problems.append(f"ledger: {len(done)} of {self.puts} publications done, {twice} more than once")
        union = " UNION ALL ".join(f"SELECT {i}, COUNT(*) FROM {SCHEMA}.t{i:02d}" for i in range(self.tables))
        for i, count in self.pg.execute(union).fetchall():
            want = sum(1 for k in range(self.puts) if k % self.tables == i) * ROWS_EACH
            if count != want:
                problems.append(f"t{i:02d}: {count} rows, not {want}")
        return problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small", action="store_true", help="CI smoke size: 20 PUTs, 5 clients, 5 tables")
    parser.add_argument("--puts", type=int, help="publications, one PUT each (default 200)")
    parser.add_argument("--clients", type=int, help="concurrent clients (default 20)")
    parser.add_argument("--tables", type=int, help="tables the publications go to (default 50)")
    parser.add_argument("--concurrency", type=int, default=2, help="the server's concurrency (default 2)")
    args = parser.parse_args()

    from common import machine, table
    from live import code_version

    started = time.perf_counter()
    puts = args.puts or (20 if args.small else 200)
    clients = args.clients or (5 if args.small else 20)
    tables = args.tables or (5 if args.small else 50)
    bench = Bench(puts, tables, args.concurrency)
    token = secrets.token_hex(24)
    process, port, log = bench.start_server(token)
    rounds = [Round("PUT, new publications (JobStarted)"), Round("PUT again, all published (AlreadyPublished)")]
    try:
        bench.run(rounds[0], port, token, clients, "Complete")
        bench.run(rounds[1], port, token, clients, "Complete")
    finally:
        process.terminate()
        process.wait(120)
    problems = bench.check()
    text = log.read_text(errors="replace")
    if token in text or bench.svc.password in text:
        problems.append("a secret in the server's log")
    if " 500 " in text:
        problems.append("a 500 in the server's log")
    rows = []
    for r in rounds:
        reasons = ", ".join(f"{n} {reason}" for reason, n in sorted(r.reasons.items()))
        rows.append(
            [
                r.label,
                len(r.latencies),
                f"{statistics.median(r.latencies) * 1000:.0f}",
                f"{percentile(r.latencies, 0.99) * 1000:.0f}",
                f"{max(r.latencies) * 1000:.0f}",
                f"{r.wall:.1f}",
                f"{puts / r.wall:.1f}" if r is rounds[0] else "-",
                reasons,
                "; ".join(r.problems[:3]),
            ]
        )
    print(f"## serve_load.py{' --small' if args.small else ''}\n")
    print(
        f"Machine: {machine()}. {code_version()}. Redshift stand-in; {puts} `load` publications of "
        f"{ROWS_EACH:,} rows into {tables} tables, PUT by {clients} concurrent clients; server concurrency "
        f"{args.concurrency}.\n"
    )
    header = ["round", "PUTs", "p50 ms", "p99 ms", "max ms", "wall s", "publications/s", "answers", "problems"]
    print(table(header, rows))
    print(f"\nExactly once (ledger: one done row each; tables: each publication's rows once): {problems or 'yes'}")
    print(f"\n(run time {time.perf_counter() - started:.0f}s)")
    if problems or any(r.problems for r in rounds):
        sys.exit(1)


if __name__ == "__main__":
    main()
