"""Benchmark 2: planning cost does not grow with data.

Plans one spec offline over a ~1 GiB Parquet result (several files, several row groups,
mixed types; generated once into bench/out/) and over a tiny result of the same schema,
and prints the time ratio: in-process (inspect_results, make_plan) and as the CLI.
Only footers are read, so the cost follows the number of files, not their size: a
control result with as many files as the large one, of 3 rows each, separates the two.

    python bench/plan_data_size.py [--small] [--repeat N]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from common import OUT, machine, median, run_timed, table, tool

GOAL = 1.1
RESULTS = {"tiny": 2, "files": 3, "big": 1}  # spec name: its jobGroup
SIZES = {  # name: (target bytes, rows per file, rows per row group)
    "full": (1 << 30, 8_000_000, 2_000_000),
    "small": (10 << 20, 100_000, 25_000),
}


def batch(rows: int, seed: int) -> pa.Table:
    """Rows of an orders-like result: ints, floats, strings, timestamps, dates, decimals."""
    rng = np.random.default_rng(seed)  # fixed input
    names = np.array([f"customer-{i:06d}" for i in range(20_000)], dtype=object)
    return pa.table(
        {
            "order_id": pa.array(np.arange(seed * rows, (seed + 1) * rows, dtype=np.int64)),
            "customer_id": pa.array(rng.integers(0, 1_000_000, rows, dtype=np.int32)),
            "customer": pa.array(names[rng.integers(0, len(names), rows)], pa.string()),
            "status": pa.array(
                np.array(["new", "paid", "shipped", "returned"], dtype=object)[rng.integers(0, 4, rows)]
            ),
            "amount": pa.array(rng.random(rows) * 1000),
            "price": pa.array(rng.integers(0, 10**7, rows, dtype=np.int32)).cast(pa.decimal128(12, 2)),
            "created_at": pa.array(rng.integers(16 * 10**14, 17 * 10**14, rows), pa.timestamp("us", "UTC")),
            "day": pa.array(rng.integers(18_000, 20_000, rows, dtype=np.int32), pa.date32()),
            "active": pa.array(rng.random(rows) < 0.5),
        }
    )


def build_project(root: Path, size: str) -> None:
    """publisher.yaml and specs/{big,tiny,files}.yaml over results/{1,2,3}/1; big generated once."""
    target, file_rows, group_rows = SIZES[size]
    big = root / "results" / "1" / "1"
    if not (big / "_SUCCESS").exists():
        print(f"generating {target >> 20} MiB of Parquet into {big} (once) ...", file=sys.stderr)
        big.mkdir(parents=True, exist_ok=True)
        total, part = 0, 0
        while total < target:
            path = big / f"part-{part:05d}.snappy.parquet"
            with pq.ParquetWriter(path, batch(1, 0).schema) as writer:
                for g in range(file_rows // group_rows):
                    writer.write_table(batch(group_rows, part * 1000 + g), row_group_size=group_rows)
            total, part = total + path.stat().st_size, part + 1
        (big / "_SUCCESS").touch()
    for job_group, parts in ((2, 1), (3, sum(1 for f in big.iterdir() if f.name.startswith("part-")))):
        small = root / "results" / str(job_group) / "1"
        small.mkdir(parents=True, exist_ok=True)
        for part in range(parts):
            pq.write_table(batch(3, part), small / f"part-{part:05d}.snappy.parquet")
    (root / "publisher.yaml").write_text(
        "results: results/{jobGroup}/{flowNodeId}/\n"
        "connections:\n  - {id: 1, name: local, type: hive, embedded: true}\n"
    )
    (root / "specs").mkdir(exist_ok=True)
    for name, job_group in RESULTS.items():
        (root / "specs" / f"{name}.yaml").write_text(
            f"jobGroup: {job_group}\nflowNodeId: 1\nconnection: {{id: 1}}\npath: [default]\n"
            f"table: orders_{name}\naction: createAndLoad\ninputFormat: pqt\n"
        )


def describe(folder: Path) -> str:
    files = [f for f in folder.iterdir() if not f.name.startswith("_")]
    size = sum(f.stat().st_size for f in files)
    meta = [pq.read_metadata(f) for f in files]
    rows, groups = sum(m.num_rows for m in meta), sum(m.num_row_groups for m in meta)
    shown = f"{size / (1 << 20):,.1f} MiB" if size > 1 << 20 else f"{size:,} B"
    return f"{shown}, {len(files)} file(s), {groups} row group(s), {rows:,} rows"


def in_process(root: Path, repeat: int) -> list[list[str]]:
    """Median seconds per call of inspect_results and make_plan, big and tiny interleaved."""
    from publisher.engines.pool import Pool
    from publisher.inputs.project import load_project
    from publisher.inputs.spec import Spec
    from publisher.results import inspect_results
    from publisher.workflow import make_plan

    config, specs = load_project(root / "publisher.yaml", [str(root / "specs")])
    assert config is not None
    pool = Pool(config)
    by_name = {Path(s.file).stem: s for s in specs}
    work: dict[str, Callable[[Spec], object]] = {
        "inspect_results": lambda s: inspect_results(s.source, s.input_format),
        "make_plan --offline": lambda s: make_plan(config, [s], pool, offline=True),
    }
    rows = []
    for label, call in work.items():
        times: dict[str, list[float]] = {name: [] for name in RESULTS}
        for i in range(repeat + 3):  # the first 3 rounds warm up
            for name in times:
                start = time.perf_counter()
                call(by_name[name])
                if i >= 3:
                    times[name].append(time.perf_counter() - start)
        rows.append(row(f"in-process {label} ({repeat}x)", times, 1e3, "ms"))
    pool.close()
    return rows


def row(label: str, times: dict[str, list[float]], scale: float, unit: str) -> list[str]:
    m = {name: median(ts) for name, ts in times.items()}
    ratio = m["big"] / m["tiny"]
    return [
        label,
        *(f"{m[name] * scale:.2f} {unit}" for name in RESULTS),
        f"{ratio:.3f}x ({'met' if ratio <= GOAL else 'NOT met'})",
        f"{m['big'] / m['files']:.3f}x",
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--small", action="store_true", help="smoke size for CI: a 10 MiB result")
    ap.add_argument("--repeat", type=int, help="CLI runs per result (default 21, --small 5); in-process: 20x")
    args = ap.parse_args()
    size = "small" if args.small else "full"
    repeat = args.repeat or (5 if args.small else 21)
    root = OUT / f"data-size-{size}"
    build_project(root, size)

    cli: dict[str, list[float]] = {name: [] for name in RESULTS}
    for i in range(repeat + 1):  # the first round warms up
        for name in cli:
            cmd = [tool("publisher"), "plan", "--offline", f"specs/{name}.yaml", "-o", "/dev/null"]
            elapsed, _ = run_timed(cmd, root)
            if i:
                cli[name].append(elapsed)
    rows = in_process(root, repeat * 20)
    rows.append(row(f"CLI publisher plan --offline ({repeat}x)", cli, 1, "s"))

    print(f"## Offline plan of one spec: tiny result vs ~{SIZES[size][0] >> 20} MiB result (median)\n")
    print(machine() + "\n")
    for name, job_group in RESULTS.items():
        print(f"- {name}: {describe(root / 'results' / str(job_group) / '1')}")
    header = ["measure", *RESULTS, f"big / tiny (goal <= {GOAL}x)", "big / files"]
    print("\n" + table(header, rows))


if __name__ == "__main__":
    main()
