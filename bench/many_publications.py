"""Many small publications in one apply: `publisher apply` serially and with
`--parallel N`, and a prototype of what is not in the publisher yet.

    python bench/many_publications.py [--small] [--specs N] [--threads 2 4] [--repeat R]
                                      [--targets redshift hive]

Needs the CI services running (bench/README.md says how). Input: N specs (default 50),
each truncateAndLoad of its own 1,000-row Parquet result into its own table (Redshift:
bench_many.tNN through S3; Hive: bench_many.tNN from a local folder). Every run uses new
jobGroups, so every publication is pending each time.

Rows, each a process of its own, interleaved, medians:

- `publisher apply specs/TARGET/ [--parallel N]`: the CLI as it is. Its summary line gives
  the apply phase; the rest is start-up, loading the specs and planning (serial).
- prototype, N threads: this file run with --worker, in the project folder. Planning
  reads what it needs (result footers, the target's catalog and ledger) on N threads, each
  with its own Pool, then runs workflow.make_plan unchanged on what was read; then
  workflow.apply_plan(parallel=N), as `apply --parallel N` does.

Redshift publications lock a table of their own per target table (not the ledger), so
publications into different tables overlap; the former "ledger LOCK late" prototype row is
gone with the ledger lock.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
FULL_SPECS, SMALL_SPECS = 50, 4
ROWS_EACH = 1_000
JOB_BASE = int(time.time()) * 1000
LEDGER = "bench_many_ledger"  # the Redshift schema and Hive database of the ledger


# --------------------------------------------------------------------------- worker (the prototype)


def prefetch_plan(config: Any, specs: list[Any], threads: int) -> Any:
    """make_plan, with its reads (results metadata and target views) done on ``threads``
    threads first. make_plan itself runs unchanged, served from what was read."""
    import threading
    from concurrent.futures import ThreadPoolExecutor
    from unittest import mock

    from publisher import workflow
    from publisher.engines.pool import Pool
    from publisher.planning.snapshot import Snapshot

    local = threading.local()
    pools: list[Pool] = []
    guard = threading.Lock()

    def read(spec: Any) -> tuple[Any, Any]:
        if not hasattr(local, "pool"):
            local.pool = Pool(config)
            local.snapshot = Snapshot(local.pool)
            with guard:
                pools.append(local.pool)
        try:
            results = workflow.inspect(spec, local.pool)
        except Exception as exc:  # make_plan reports it, in order, when it asks again
            return exc, None
        try:
            return results, local.snapshot.view(spec)
        except Exception as exc:
            return results, exc

    try:
        with ThreadPoolExecutor(threads) as ex:
            read_ = dict(zip(map(id, specs), ex.map(read, specs), strict=True))
    finally:
        for pool in pools:
            pool.close()

    def served(index: int) -> Any:
        def lookup(spec: Any, *args: Any) -> Any:
            value = read_[id(spec)][index]
            if isinstance(value, Exception):
                raise value
            return value

        return lookup

    pool = Pool(config)  # never opened: every read is served
    view = served(1)
    with (
        mock.patch.object(workflow, "inspect", served(0)),
        mock.patch.object(Snapshot, "view", lambda self, spec: view(spec)),
    ):
        return workflow.make_plan(config, specs, pool, offline=False)


class RoundTrips:
    """Statements sent to the targets, and seconds spent waiting for them, per phase."""

    def __init__(self) -> None:
        import threading

        self.phase = "plan"
        self.calls: dict[str, int] = {"plan": 0, "apply": 0}
        self.seconds: dict[str, float] = {"plan": 0.0, "apply": 0.0}
        self._lock = threading.Lock()
        from publisher.engines.hiveserver2 import HiveServer
        from publisher.engines.redshift import RedshiftTarget

        # Each of these sends one statement (_inspect: one SQLAlchemy inspector call).
        for cls, name in ((HiveServer, "_cursor_run"), (HiveServer, "_inspect"), (RedshiftTarget, "_cursor")):
            self._wrap(cls, name)

    def _wrap(self, cls: Any, name: str) -> None:
        original = getattr(cls, name)

        def timed(target: Any, *args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return original(target, *args, **kwargs)
            finally:
                with self._lock:
                    self.calls[self.phase] += 1
                    self.seconds[self.phase] += time.perf_counter() - started

        setattr(cls, name, timed)


def worker(folder: str, threads: int) -> None:
    started = time.perf_counter()
    from publisher.engines.pool import Pool
    from publisher.inputs.project import load_project
    from publisher.workflow import apply_plan, make_plan

    config, specs = load_project(None, [folder])
    assert config is not None
    trips = RoundTrips()
    loaded = time.perf_counter()
    if threads == 1:
        pool = Pool(config)
        plan = make_plan(config, specs, pool, offline=False)
        pool.close()
    else:
        plan = prefetch_plan(config, specs, threads)
    planned = time.perf_counter()
    trips.phase = "apply"
    pool = Pool(config)
    try:
        outcomes = apply_plan(plan, config, pool, parallel=threads)
    finally:
        pool.close()
    applied = time.perf_counter()
    failed = [str(o.error) for o in outcomes if o.error]
    report = {
        "start": loaded - started,
        "plan": planned - loaded,
        "apply": applied - planned,
        "published": sum(1 for o in outcomes if not o.error and not o.skipped),
        "failed": failed[:3],
        "calls": trips.calls,
        "call_seconds": trips.seconds,
    }
    print("WORKER " + json.dumps(report))


# --------------------------------------------------------------------------- orchestration


@dataclass
class Config:
    target: str  # redshift | hive
    label: str
    threads: int  # 0: the CLI
    parallel: int = 1  # the CLI's --parallel
    walls: list[float] = field(default_factory=list)
    plans: list[float] = field(default_factory=list)
    applies: list[float] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    trips: list[dict[str, Any]] = field(default_factory=list)  # prototype: statements per phase
    cpus: list[float] = field(default_factory=list)  # the publisher's own CPU seconds
    engine_cpus: list[float] = field(default_factory=list)  # the engine's CPU seconds meanwhile


class Bench:
    def __init__(self, specs: int, targets: list[str]) -> None:
        from live import OUT, fresh_ledgers, hive_connect, hive_run, postgres_connect, services, write_project

        self.n = specs
        self.svc = services()
        self.root = OUT / "many-publications"
        write_project(self.root / "project", self.svc, ledger=LEDGER)
        fresh_ledgers(self.svc, LEDGER, targets)
        self.project = self.root / "project"
        self.run_no = 0
        self.results = self._results()
        folder = self.results[0]  # the tables' definitions: every result has the same schema
        if "redshift" in targets:
            from live import create_table_sql, upload

            self.uris = [upload(self.svc, path, f"many/s{i:02d}") for i, path in enumerate(self.results)]
            pg = postgres_connect(self.svc)
            pg.execute("CREATE SCHEMA IF NOT EXISTS bench_many")
            for i in range(self.n):
                pg.execute(f"DROP TABLE IF EXISTS bench_many.t{i:02d}")
                pg.execute(create_table_sql("redshift", f"bench_many.t{i:02d}", folder))
            self.pg = pg
        if "hive" in targets:
            from live import create_table_sql

            conn = hive_connect(self.svc)
            hive_run(conn, "CREATE DATABASE IF NOT EXISTS bench_many")
            for i in range(self.n):
                hive_run(
                    conn,
                    f"DROP TABLE IF EXISTS bench_many.t{i:02d}",
                    create_table_sql("hive", f"bench_many.t{i:02d}", folder),
                )
            self.hive = conn

    def _results(self) -> list[Path]:
        """One folder of one 1,000-row Parquet file (and _SUCCESS) per spec; made once."""
        import pyarrow.parquet as pq
        from live import make_part

        folders = []
        for i in range(self.n):
            folder = self.root / "results" / f"s{i:02d}"
            if not (folder / "_SUCCESS").exists():
                folder.mkdir(parents=True, exist_ok=True)
                pq.write_table(make_part(i * ROWS_EACH, ROWS_EACH, seed=i), folder / "part-00000.snappy.parquet")
                (folder / "_SUCCESS").write_bytes(b"")
            folders.append(folder)
        return folders

    def write_specs(self, target: str) -> str:
        """Fresh specs (new jobGroup: all pending) for every table; the folder to apply."""
        from live import write_spec

        self.run_no += 1
        folder = self.project / "specs" / target
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob("*.yaml"):
            old.unlink()
        for i in range(self.n):
            common = {
                "jobGroup": JOB_BASE + self.run_no,
                "flowNodeId": i + 1,
                "action": "truncateAndLoad",
                "inputFormat": "pqt",
            }
            if target == "redshift":
                keys = {
                    **common,
                    "connection": {"name": "redshift"},
                    "path": ["dev"],
                    "table": f"bench_many.t{i:02d}",
                    "source": self.uris[i],
                }
            else:
                keys = {
                    **common,
                    "connection": {"name": "hive"},
                    "path": ["bench_many"],
                    "table": f"t{i:02d}",
                    "source": str(self.results[i]),
                }
            write_spec(self.project, f"{target}/s{i:02d}", **keys)
        return f"specs/{target}"

    def check(self, target: str) -> str | None:
        """Every table holds exactly its result's rows."""
        from live import hive_run

        if target == "redshift":
            union = " UNION ALL ".join(f"SELECT COUNT(*) FROM bench_many.t{i:02d}" for i in range(self.n))
            counts = [int(r[0]) for r in self.pg.execute(union).fetchall()]
        else:
            counts = []
            for i in range(self.n):
                name = f"bench_many.t{i:02d}"
                counts.append(int(hive_run(self.hive, f"REFRESH TABLE {name}", f"SELECT COUNT(*) FROM {name}")[0][0]))
        wrong = [f"t{i:02d}: {c}" for i, c in enumerate(counts) if c != ROWS_EACH]
        return f"tables with other than {ROWS_EACH} rows: {', '.join(wrong[:5])}" if wrong else None

    def run(self, cfg: Config) -> None:
        import re

        from live import engine_cpu_seconds, publisher_cmd, run_child

        specs = self.write_specs(cfg.target)
        if cfg.threads == 0:
            cmd = [*publisher_cmd(), "apply", specs] + (["--parallel", str(cfg.parallel)] if cfg.parallel > 1 else [])
        else:
            cmd = [sys.executable, str(HERE / "many_publications.py"), "--worker", specs, "--threads", str(cfg.threads)]
        engine_before = engine_cpu_seconds(cfg.target)
        measured = run_child(cmd, env=self.svc.env, cwd=self.project, check=False)
        assert measured is not None
        cfg.engine_cpus.append(engine_cpu_seconds(cfg.target) - engine_before)
        cfg.cpus.append(measured.cpu)
        out = measured.stdout
        if cfg.threads == 0:
            found = re.search(r"(\d+) published, (\d+) already published, (\d+) failed, in ([0-9.]+)s", out)
            published = int(found[1]) if found else 0
            apply = float(found[4]) if found else float("nan")
        else:
            line = next((x for x in out.splitlines() if x.startswith("WORKER ")), None)
            report = json.loads(line[7:]) if line else {"published": 0, "plan": 0, "apply": 0, "failed": [out[-500:]]}
            published, apply = report["published"], report["apply"]
            cfg.problems += report["failed"]
            if "calls" in report:
                cfg.trips.append(report)
        plan = measured.wall - apply  # start-up, loading the specs and planning
        if published != self.n:
            cfg.problems.append(f"{published} of {self.n} published: {out[-400:]}")
        wrong = self.check(cfg.target)
        if wrong:
            cfg.problems.append(wrong)
        cfg.walls.append(measured.wall)
        cfg.plans.append(plan)
        cfg.applies.append(apply)
        print(
            f"  {cfg.target}: {cfg.label}: {measured.wall:.1f}s (plan {plan:.1f}s, apply {apply:.1f}s)"
            + (f" PROBLEM: {cfg.problems[-1][:200]}" if cfg.problems else ""),
            file=sys.stderr,
        )


def configs(target: str, threads: list[int]) -> list[Config]:
    out = [Config(target, "`publisher apply`", 0, parallel=1)]
    out += [Config(target, f"`publisher apply --parallel {n}`", 0, parallel=n) for n in threads]
    out += [Config(target, f"prototype: reads of planning on {n} threads + `--parallel {n}`", n) for n in threads]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small", action="store_true", help=f"CI smoke size: {SMALL_SPECS} specs, 2 threads, one run")
    parser.add_argument("--specs", type=int, help=f"publications (default {FULL_SPECS})")
    parser.add_argument("--threads", type=int, nargs="+", help="thread counts to try (default 2 4)")
    parser.add_argument("--repeat", type=int, help="runs of each row (default 2; --small 1)")
    parser.add_argument("--targets", nargs="+", choices=("redshift", "hive"), default=["redshift", "hive"])
    parser.add_argument("--worker", metavar="SPECS", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.threads[0])
        return

    from common import machine, median, table
    from live import code_version

    started = time.perf_counter()
    n = args.specs or (SMALL_SPECS if args.small else FULL_SPECS)
    threads = args.threads or ([2] if args.small else [2, 4])
    repeat = args.repeat or (1 if args.small else 2)
    bench = Bench(n, args.targets)
    rows: list[list[str]] = []
    trip_rows: list[list[str]] = []
    done: list[Config] = []
    for target in args.targets:
        cfgs = configs(target, threads)
        done += cfgs
        bench.run(Config(target, "warm-up", 0))  # ledger and first-query costs, untimed
        for r in range(repeat):
            for i in range(len(cfgs)):
                bench.run(cfgs[(i + r) % len(cfgs)])
        serial = median(cfgs[0].walls)
        name = "Redshift stand-in" if target == "redshift" else "HiveServer2"
        for c in cfgs:
            if c.trips:
                for phase in ("plan", "apply"):
                    calls = median([t["calls"][phase] for t in c.trips])
                    waited = median([t["call_seconds"][phase] for t in c.trips])
                    trip_rows.append([name, c.label, phase, f"{calls:.0f}", f"{calls / n:.1f}", f"{waited:.1f}"])
        for c in cfgs:
            wall = median(c.walls)
            rows.append(
                [
                    name,
                    c.label,
                    f"{wall:.1f}",
                    f"{min(c.walls):.1f}",
                    f"{median(c.plans):.1f}",
                    f"{median(c.applies):.1f}",
                    f"{n / wall:.2f}",
                    f"{serial / wall:.2f}",
                    f"{median(c.cpus):.1f}",
                    f"{median(c.engine_cpus):.1f}",
                    "; ".join(sorted(set(p[:160] for p in c.problems))) or "",
                ]
            )
    raw = [{"target": c.target, "how": c.label, "walls": c.walls, "plans": c.plans, "applies": c.applies} for c in done]
    (bench.root / "runs.json").write_text(json.dumps(raw, indent=1))  # every run, for a second look
    print(f"## many_publications.py{' --small' if args.small else ''}\n")
    print(
        f"Machine: {machine()}. {code_version()}. {n} truncateAndLoad publications of {ROWS_EACH:,} rows each, "
        f"one table each; {repeat} run(s) of each row, interleaved; medians.\n"
    )
    header = ["target", "how", "wall s", "min", "start + plan s", "apply s", "publications/s", "speed-up"]
    header += ["publisher CPU s", "engine CPU s", "problems"]
    print(table(header, rows))
    print(
        f"\nThe machine has {os.cpu_count()} cores, shared by the engine and the publisher: a speed-up is bounded by "
        "(wall x cores) / (publisher CPU + engine CPU); where the two CPU columns add up to about wall x cores, "
        "the cores are the bottleneck, not the publisher."
    )
    print("\n### Statements sent to the target (prototype, measured in-process)\n")
    print(table(["target", "how", "phase", "statements", "per publication", "seconds waiting for them"], trip_rows))
    print(f"\n(run time {time.perf_counter() - started:.0f}s)")


if __name__ == "__main__":
    main()
