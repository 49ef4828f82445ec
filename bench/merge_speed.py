"""Merge (upsert) of 1% changed rows into a table of N rows: `publisher apply` with
`action: merge` next to the hand-written minimal statements, on the Redshift stand-in and
on HiveServer2.

    python bench/merge_speed.py [--rows N ...] [--small] [--repeat R] [--targets redshift hive]
                                [--time-limit S]

Needs the CI services running (bench/README.md says how). The table is load_speed.py's
seeded orders table (bench/out/load-data/), N rows in a table of this benchmark's own
(`mbench_merge.orders_N`). The results (bench/out/merge-data/, made once from the table's
files) are the rows of 1% of its keys (order_id % 100 == 7) with two columns changed
(customer_id negated, comment 'merged'), plus NEW_KEYS keys the table lacks.

Merging the same results again changes nothing, so the runs need no restore: the table is
filled and merged once, untimed, then every run finds it in the same state. Each publisher
run has a jobGroup of its own (the ledger would otherwise say "already published"). After
each run the table must hold N + NEW_KEYS rows, a changed row its new values, an unchanged
row its old ones, and a new key its row. Runs alternate, the order rotating each repeat;
the table gives medians.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from common import OUT, machine, median, table
from live import (
    COLUMNS,
    IAM_ROLE,
    Measured,
    Services,
    apply_spec,
    code_version,
    create_table_sql,
    data_files,
    dataset,
    fmt_s,
    fresh_ledgers,
    hive_connect,
    hive_run,
    postgres_connect,
    run_child,
    services,
    step_seconds,
    upload,
    write_project,
)

BASELINES = str(Path(__file__).resolve().parent / "baselines.py")
FULL_ROWS = (1_000_000, 10_000_000)
SMALL_ROWS = (10_000,)
KEY = "order_id"
NEW_KEYS = 10  # keys N .. N + 9: the merge inserts them the first time
JOB_BASE = int(time.time()) * 1000
SCHEMA = "mbench_merge"  # the Redshift schema and the Hive database of the tables
LEDGER = "mbench_merge_ledger"

# Steps of the publisher's plan that do what the hand-written statements do; the rest is its
# own (key and row checks, counts, ledger, the location swap's checks).
MERGE_PURPOSES = (
    "stage the results",
    "a table shaped like the results",
    "load the manifest's files",
    "delete the rows the results replace",
    "insert the results' rows",
    "an empty twin",
    "copy the table's rows the results do not replace",
    "copy the rows",
    "point the table",
    "give the old rows",
    "drop the twin",
)


# --------------------------------------------------------------------------- the results


@dataclass(frozen=True)
class Expected:
    """What the table must read after a merge: a changed key, an unchanged one and a new one."""

    rows: int
    results: int  # rows in the results (changed + new)
    values: dict[int, tuple[int, str | None]]  # order_id -> (customer_id, comment)


def merge_results(rows: int) -> tuple[Path, Expected]:
    """The results folder for a table of ``rows`` rows (made once), and what a merge leaves."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq
    from live import make_part

    base = dataset(rows)
    folder = OUT / "merge-data" / f"rows-{rows}"
    changed, unchanged, new = 7, 8, rows
    if not (folder / "_SUCCESS").exists():
        folder.mkdir(parents=True, exist_ok=True)
        for i, path in enumerate(data_files(base)):
            part = pq.read_table(path)
            # 1% of the keys, spread over the whole table.
            picked = part.filter(pa.array(part[KEY].to_numpy() % 100 == 7))
            picked = picked.set_column(
                picked.schema.get_field_index("customer_id"),
                "customer_id",
                pc.subtract(pc.negate(picked["customer_id"]), pa.scalar(1, pa.int32())),
            )
            picked = picked.set_column(
                picked.schema.get_field_index("comment"),
                "comment",
                pa.array(["merged"] * picked.num_rows, pa.string()),
            )
            pq.write_table(picked, folder / f"part-{i:05d}.snappy.parquet")
        fresh = make_part(rows, NEW_KEYS, seed=7)
        pq.write_table(fresh, folder / "part-new.snappy.parquet")
        (folder / "_SUCCESS").write_bytes(b"")
    results = pq.read_table(folder)
    before = pq.read_table(base, filters=[(KEY, "=", unchanged)])
    values: dict[int, tuple[int, str | None]] = {}
    for t, key in ((results, changed), (before, unchanged), (results, new)):
        row = t.filter(pc.equal(t[KEY], key)).select(["customer_id", "comment"]).to_pylist()[0]
        values[key] = (row["customer_id"], row["comment"])
    return folder, Expected(rows + NEW_KEYS, results.num_rows, values)


def check(expected: Expected, count: int, found: dict[int, tuple[int, str | None]]) -> str | None:
    """What is wrong with the table after a merge, or None."""
    wrong = []
    if count != expected.rows:
        wrong.append(f"{count:,} rows, not {expected.rows:,}")
    for key, want in expected.values.items():
        if found.get(key) != want:
            wrong.append(f"order_id {key} reads {found.get(key)}, not {want}")
    return "; ".join(wrong) or None


# --------------------------------------------------------------------------- targets


@dataclass
class Result:
    target: str
    method: str
    rows: int
    runs: list[Measured] = field(default_factory=list)
    timeouts: int = 0
    wrong: list[str] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return median([m.wall for m in self.runs])


class Target:
    name = ""
    hand_label = ""
    short = ""

    def __init__(self, svc: Services, project: Path) -> None:
        self.svc, self.project = svc, project
        self.expected: dict[int, Expected] = {}
        self.results: dict[int, Path] = {}
        self.run_no = 0

    def qualified(self, rows: int) -> str:
        return f"{SCHEMA}.orders_{rows}"

    def verify(self, rows: int) -> str | None:
        values = ", ".join(str(k) for k in self.expected[rows].values)
        q = self.qualified(rows)
        count = self.query(f"SELECT COUNT(*) FROM {q}")[0][0]
        found = self.query(f"SELECT {KEY}, customer_id, comment FROM {q} WHERE {KEY} IN ({values})")
        return check(self.expected[rows], int(count), {int(k): (int(c), m) for k, c, m in found})

    def setup(self, rows: int) -> None:
        """The table filled and merged once (untimed), unless it already reads as after a merge."""
        self.results[rows], self.expected[rows] = merge_results(rows)
        try:
            if self.verify(rows) is None:
                return
        except Exception:  # noqa: BLE001 - no table yet, or an old one of another shape
            pass
        started = time.perf_counter()
        self.fill(rows)
        run_child(self.hand(rows), env=self.svc.env)
        problem = self.verify(rows)
        if problem:
            sys.exit(f"{self.name}: the table after the first merge: {problem}")
        print(
            f"  {self.name}: {rows:,} rows filled and merged once, {time.perf_counter() - started:.0f}s",
            file=sys.stderr,
        )

    def spec(self, rows: int, offset: int, connection: str, table_name: str, path: str, source: str) -> list[str]:
        self.run_no += 1
        name, job = f"{self.short}-merge-{rows}-{self.run_no}", JOB_BASE + offset + self.run_no
        # A new job each run, also across invocations: the ledger never says "already published".
        return apply_spec(self.project, name, job, connection, path, table_name, "merge", source, mergeKeys=[KEY])

    def prepare(self, rows: int) -> None:
        """Untimed, before each run."""

    # Overridden per target.
    def query(self, sql: str) -> list[tuple[Any, ...]]:
        raise NotImplementedError

    def fill(self, rows: int) -> None:
        raise NotImplementedError

    def hand(self, rows: int) -> list[str]:
        raise NotImplementedError

    def publisher(self, rows: int) -> list[str]:
        raise NotImplementedError


class Redshift(Target):
    name = "Redshift stand-in"
    hand_label = "hand-written: TEMP stage, COPY, DELETE USING, INSERT, one transaction"
    short = "rs"

    def __init__(self, svc: Services, project: Path) -> None:
        super().__init__(svc, project)
        self.pg = postgres_connect(svc)
        self.pg.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
        self.uris: dict[int, str] = {}

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        return [tuple(r) for r in self.pg.execute(sql).fetchall()]

    def setup(self, rows: int) -> None:
        self.uris[rows] = upload(self.svc, merge_results(rows)[0], f"merge-data/rows-{rows}")
        super().setup(rows)

    def fill(self, rows: int) -> None:
        q, folder = self.qualified(rows), dataset(rows)
        self.pg.execute(f"DROP TABLE IF EXISTS {q}")
        self.pg.execute(create_table_sql("redshift", q, folder))
        uri = upload(self.svc, folder, f"load-data/rows-{rows}")
        s = self.svc
        argv = [BASELINES, "redshift-copy", q, uri, s.redshift_host, str(s.redshift_port), s.s3_endpoint, IAM_ROLE]
        run_child([sys.executable, *argv, "append"], env=s.env)

    def prepare(self, rows: int) -> None:
        # Each merge leaves 1% dead rows (DELETE): vacuum now, not in the middle of a timed run.
        self.pg.execute(f"VACUUM ANALYZE {self.qualified(rows)}")

    def hand(self, rows: int) -> list[str]:
        s = self.svc
        return [
            sys.executable,
            BASELINES,
            "redshift-merge",
            self.qualified(rows),
            self.uris[rows],
            s.redshift_host,
            str(s.redshift_port),
            s.s3_endpoint,
            IAM_ROLE,
            KEY,
        ]

    def publisher(self, rows: int) -> list[str]:
        return self.spec(rows, 0, "redshift", self.qualified(rows), "dev", self.uris[rows])


class Hive(Target):
    name = "HiveServer2"
    hand_label = "hand-written: twin LIKE t, INSERT anti-join UNION ALL results, location swap"
    short = "hv"

    def __init__(self, svc: Services, project: Path) -> None:
        super().__init__(svc, project)
        self.conn = hive_connect(svc)
        hive_run(self.conn, f"CREATE DATABASE IF NOT EXISTS {SCHEMA}")

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        # This session caches the table's file list: after another session swapped the table's
        # location, reading through the stale list fails with FILE_NOT_EXIST.
        table_name = re.search(r"FROM (\S+)", sql)
        assert table_name
        return hive_run(self.conn, f"REFRESH TABLE {table_name[1]}", sql)

    def fill(self, rows: int) -> None:
        q, folder = self.qualified(rows), dataset(rows)
        hive_run(self.conn, f"DROP TABLE IF EXISTS {q}", create_table_sql("hive", q, folder))
        argv = [BASELINES, "hive-insert", q, str(folder), str(self.svc.hive_port), "append", COLUMNS]
        run_child([sys.executable, *argv], env=self.svc.env)

    def hand(self, rows: int) -> list[str]:
        folder = str(self.results[rows])
        return [
            sys.executable,
            BASELINES,
            "hive-merge",
            self.qualified(rows),
            folder,
            str(self.svc.hive_port),
            COLUMNS,
            KEY,
        ]

    def publisher(self, rows: int) -> list[str]:
        return self.spec(rows, 500, "hive", f"orders_{rows}", SCHEMA, str(self.results[rows]))


# --------------------------------------------------------------------------- running


def measure(targets: list[Target], sizes: tuple[int, ...], repeat: int, time_limit: float) -> list[Result]:
    results: list[Result] = []
    for target in targets:
        for rows in sizes:
            target.setup(rows)
            pub = Result(target.name, "publisher apply, action merge", rows)
            hand = Result(target.name, target.hand_label, rows)
            commands: list[tuple[Result, Callable[[int], list[str]], Path | None]] = [
                (pub, target.publisher, target.project),
                (hand, target.hand, None),
            ]
            results += [pub, hand]
            for r in range(repeat):
                for i in range(len(commands)):
                    result, command, cwd = commands[(i + r) % len(commands)]
                    if result.timeouts:
                        continue  # it ran past the limit once: it will again
                    target.prepare(rows)
                    run = run_child(command(rows), env=target.svc.env, cwd=cwd, timeout=time_limit)
                    label = f"{target.name}: {result.method}, {rows:,} rows"
                    if run is None:
                        result.timeouts += 1
                        print(f"  {label}: over the {time_limit:.0f}s limit, stopped", file=sys.stderr)
                        continue
                    result.runs.append(run)
                    if cwd:  # the publisher's progress output, for a second look
                        (OUT / "merge-speed" / f"last-{target.short}-{rows}.txt").write_text(run.stdout)
                    problem = target.verify(rows)
                    if problem:
                        result.wrong.append(problem)
                    print(f"  {label}: {run.wall:.1f}s" + (f" (WRONG: {problem})" if problem else ""), file=sys.stderr)
    return results


def speed_table(results: list[Result], expected: dict[int, Expected], time_limit: float) -> str:
    hand = {(r.target, r.rows): r for r in results if not r.method.startswith("publisher") and r.runs}
    out = []
    for r in results:
        changed = f"{expected[r.rows].results - NEW_KEYS:,} + {NEW_KEYS} new"
        if not r.runs:
            out.append(
                [r.target, r.method, f"{r.rows:,}", changed, f"> {time_limit:.0f}", "-", "-", "over the time limit"]
            )
            continue
        notes = []
        if r.method.startswith("publisher"):
            found = [re.search(r"failed, in ([0-9.]+)s", m.stdout) for m in r.runs]
            applies = [float(f[1]) for f in found if f]
            if applies:
                engine = median([step_seconds(m.stdout, MERGE_PURPOSES) for m in r.runs])
                notes.append(
                    f"start-up + plan {r.seconds - median(applies):.1f}s, the merge statements {engine:.1f}s, "
                    f"its checks and ledger {median(applies) - engine:.1f}s"
                )
        notes.append("every run verified" if not r.wrong else f"WRONG after a run: {r.wrong[0]}")
        base = hand.get((r.target, r.rows))
        ratio = f"{r.seconds / base.seconds:.2f}" if base else "-"
        out.append(
            [
                r.target,
                r.method,
                f"{r.rows:,}",
                changed,
                fmt_s(r.seconds),
                fmt_s(min(m.wall for m in r.runs)),
                ratio,
                "; ".join(notes),
            ]
        )
    header = ["target", "method", "table rows", "results rows", "seconds (median)", "min", "x hand-written", "notes"]
    return table(header, out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--rows", type=int, nargs="+", help=f"table sizes (default {', '.join(f'{r:,}' for r in FULL_ROWS)})"
    )
    parser.add_argument("--small", action="store_true", help="CI smoke size: a table of 10,000 rows, one run each")
    parser.add_argument("--repeat", type=int, help="runs of each method per size (default 3; --small 1)")
    parser.add_argument("--targets", nargs="+", choices=("redshift", "hive"), default=["redshift", "hive"])
    parser.add_argument("--time-limit", type=float, default=900, help="stop a run after this many seconds")
    args = parser.parse_args()
    sizes = tuple(sorted(args.rows or (SMALL_ROWS if args.small else FULL_ROWS)))
    repeat = args.repeat or (1 if args.small else 3)

    started = time.perf_counter()
    svc = services()
    project = OUT / "merge-speed" / "project"
    write_project(project, svc, ledger=LEDGER)
    fresh_ledgers(svc, LEDGER, args.targets)
    for old in (project / "specs").glob("*.yaml"):
        old.unlink()
    targets: list[Target] = []
    if "redshift" in args.targets:
        targets.append(Redshift(svc, project))
    if "hive" in args.targets:
        targets.append(Hive(svc, project))
    results = measure(targets, sizes, repeat, args.time_limit)
    raw = [
        {"target": r.target, "method": r.method, "rows": r.rows, "runs": [[m.wall, m.cpu] for m in r.runs]}
        for r in results
    ]
    (OUT / "merge-speed" / "runs.json").write_text(json.dumps(raw, indent=1))  # every run, for a second look

    print(f"## merge_speed.py{' --small' if args.small else ''}\n")
    print(f"Machine: {machine()}. {code_version()}. {repeat} run(s) of each method per size, alternating; medians.\n")
    expected = {rows: e for t in targets for rows, e in t.expected.items()}
    print(speed_table(results, expected, args.time_limit))
    print(f"\n(run time {time.perf_counter() - started:.0f}s)")


if __name__ == "__main__":
    main()
