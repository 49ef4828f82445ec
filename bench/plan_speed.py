"""Benchmark 1: validate and offline-plan throughput over many specs with small results,
and the start-up of validating one.

Builds a temp project (embedded Hive connection, N specs, each over its own small Parquet
result of 1-3 part files) and times, as subprocesses a user would run, side by side:
publisher validate, publisher plan --offline, check-jsonschema, and the floor (a bare loop
of PyYAML's CSafeLoader and one compiled jsonschema validator over the same files). Then
start-up: `publisher validate` of one spec next to `python -c pass` and the start-up floor
(the interpreter, PyYAML and the spec schema compiled by fastjsonschema, one spec checked).

    python bench/plan_speed.py [--small] [--repeat N] [--profile]
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import pstats
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from common import REPO, baseline_missing, machine, median, run_timed, table, tool

SCHEMA = REPO / "schemas" / "publish-spec.schema.json"
ACTIONS = ("createAndLoad", "dropAndLoad", "truncateAndLoad", "load", "create")
GOALS = {"publisher validate": 0.25, "publisher plan --offline": 0.6}  # issue 15, goal 1
STARTUP_GOAL = 1.5  # publisher validate of one spec, x the start-up floor (issue 15, goal 1)

FLOOR = """
import json, sys, yaml, jsonschema
validator = jsonschema.Draft202012Validator(json.load(open(sys.argv[1])))
for path in sys.argv[2:]:
    with open(path, encoding="utf-8") as f:
        errors = list(validator.iter_errors(yaml.load(f, Loader=yaml.CSafeLoader)))
    assert not errors, (path, errors)
"""

# What validating one spec cannot avoid: the interpreter, PyYAML, the compiled schema, one check.
# The goal is judged against the fastjsonschema floor: the jsonschema one (as FLOOR above)
# spends ~50 ms importing jsonschema, which a valid project never needs.
STARTUP_FLOOR = """
import json, sys, yaml, fastjsonschema
validate = fastjsonschema.compile(json.load(open(sys.argv[1], encoding="utf-8")))
with open(sys.argv[2], encoding="utf-8") as f:
    validate(yaml.load(f, Loader=yaml.CSafeLoader))
"""
STARTUP_FLOOR_JSONSCHEMA = """
import json, sys, yaml, jsonschema
validator = jsonschema.Draft202012Validator(json.load(open(sys.argv[1], encoding="utf-8")))
with open(sys.argv[2], encoding="utf-8") as f:
    assert not list(validator.iter_errors(yaml.load(f, Loader=yaml.CSafeLoader)))
"""
FLOOR_FAST = "floor: python + PyYAML + fastjsonschema's compiled schema"
FLOOR_FULL = "floor: python + PyYAML + jsonschema's compiled schema"


def result_tables(rng: random.Random) -> list[pa.Table]:
    """Three result shapes, mixed types, as small job outputs look."""
    n = 50
    ids = pa.array(range(n), pa.int64())
    names = pa.array([f"name-{rng.randrange(10**6)}" for _ in range(n)])
    amounts = pa.array([rng.random() * 1000 for _ in range(n)])
    when = pa.array([1_700_000_000_000_000 + i for i in range(n)], pa.timestamp("us", "UTC"))
    flags = pa.array([i % 3 == 0 for i in range(n)])
    tags = pa.array([["a", "b"][: i % 3] for i in range(n)], pa.list_(pa.string()))
    day = pa.array([19000 + i for i in range(n)], pa.date32())
    return [
        pa.table({"id": ids, "name": names, "amount": amounts, "created_at": when}),
        pa.table({"id": ids, "name": names, "amount": amounts, "active": flags, "tags": tags, "day": day}),
        pa.table({"id": ids, "amount": amounts, "created_at": when, "active": flags, "region": names}),
    ]


def build_project(root: Path, n: int) -> list[Path]:
    """publisher.yaml, n specs and their results under ``root``; the spec files, sorted."""
    rng = random.Random(1)  # fixed input
    (root / "publisher.yaml").write_text(
        "results: results/{jobGroup}/{flowNodeId}/\n"
        "connections:\n  - {id: 1, name: local, type: hive, embedded: true}\n"
    )
    (root / "specs").mkdir()
    shapes = result_tables(rng)
    files = []
    for i in range(n):
        job_group, flow_node = 1000 + i // 4, 1 + i % 4
        folder = root / "results" / str(job_group) / str(flow_node)
        folder.mkdir(parents=True)
        data = shapes[i % len(shapes)]
        for part in range(1 + i % 3):
            pq.write_table(data.slice(0, rng.randrange(5, 50)), folder / f"part-{part:05d}.snappy.parquet")
        (folder / "_SUCCESS").touch()
        lines = [
            "# yaml-language-server: $schema=../../schemas/publish-spec.schema.json",
            f"jobGroup: {job_group}",
            f"flowNodeId: {flow_node}",
            "connection: {id: 1}" if i % 2 else "connection: {name: local}",
            "path: [default]",
            f"table: t_{i:05d}",
            f"action: {ACTIONS[i % len(ACTIONS)]}",
            "inputFormat: pqt",
        ]
        if i % 3 == 0:
            lines.append(f"description: Output {flow_node} of job {job_group}, published nightly.")
        if i % 5 == 0:
            lines.append('columnTypes: {amount: "DECIMAL(18,2)"}')
        path = root / "specs" / f"{i:05d}.yaml"
        path.write_text("\n".join(lines) + "\n")
        files.append(path)
    return files


def commands(files: list[Path], small: bool) -> dict[str, list[str]]:
    rel = [str(f.relative_to(f.parent.parent)) for f in files]
    cmds = {
        "publisher validate": [tool("publisher"), "validate", "specs/"],
        "publisher plan --offline": [tool("publisher"), "plan", "--offline", "specs/", "-o", "/dev/null"],
        "floor: CSafeLoader + jsonschema": [sys.executable, "-c", FLOOR, str(SCHEMA), *rel],
    }
    if not baseline_missing("check_jsonschema", small):
        cmds["check-jsonschema"] = [tool("check-jsonschema"), "--schemafile", str(SCHEMA), *rel]
    return cmds


def startup_commands(files: list[Path]) -> dict[str, list[str]]:
    one = str(files[0].relative_to(files[0].parent.parent))
    return {
        "python -c pass": [sys.executable, "-c", "pass"],
        FLOOR_FAST: [sys.executable, "-c", STARTUP_FLOOR, str(SCHEMA), one],
        FLOOR_FULL: [sys.executable, "-c", STARTUP_FLOOR_JSONSCHEMA, str(SCHEMA), one],
        "publisher validate (1 spec)": [tool("publisher"), "validate", one],
    }


def startup(root: Path, files: list[Path], repeat: int) -> None:
    """Start-up rows: one spec, where imports and schema compilation are the whole cost."""
    cmds = startup_commands(files)
    for cmd in cmds.values():
        run_timed(cmd, root)
    wall: dict[str, list[float]] = {name: [] for name in cmds}
    cpu: dict[str, list[float]] = {name: [] for name in cmds}
    for _ in range(repeat):
        for name, cmd in cmds.items():
            w, c = run_timed(cmd, root)
            wall[name].append(w)
            cpu[name].append(c)
    rows = []
    for name, ts in wall.items():
        ratio = median(ts) / median(wall[FLOOR_FAST])
        verdict = ""
        if name.startswith("publisher"):
            verdict = f"<= {STARTUP_GOAL}x: {'met' if ratio <= STARTUP_GOAL else 'NOT met'}"
        other = f"{median(ts) / median(wall[FLOOR_FULL]):.2f}x"
        rows.append(
            [name, f"{median(ts):.3f}", f"{min(ts):.3f}", f"{median(cpu[name]):.3f}", f"{ratio:.2f}x", other, verdict]
        )
    print(f"\n## Start-up: validate one spec, in the project with its publisher.yaml ({repeat} runs each)\n")
    header = ["command", "wall median s", "wall min s", "CPU median s"]
    header += ["vs fastjsonschema floor", "vs jsonschema floor", "goal"]
    print(table(header, rows))


def profile(root: Path) -> None:
    """Where publisher's time goes: imports (-X importtime), phases and cProfile in-process."""
    for argv in (["validate", "specs/"], ["plan", "--offline", "specs/", "-o", "/dev/null"]):
        done = subprocess.run(
            [sys.executable, "-X", "importtime", "-m", "publisher", *argv], cwd=root, capture_output=True, text=True
        )
        lines = [line.split("|") for line in done.stderr.splitlines() if line.startswith("import time:")][1:]
        total = sum(int(cols[0].split(":")[1]) for cols in lines) / 1e6
        # Keep the tree's indentation: markdown would collapse plain spaces.
        heavy = [[c[2].rstrip().replace(" ", "\u00a0"), f"{int(c[1]) / 1e6:.3f}"] for c in lines if int(c[1]) >= 15_000]
        print(f"\n### publisher {argv[0]}: imports take {total:.3f} s; those >= 15 ms (a child before its parent)\n")
        print(table(["module", "cumulative s"], heavy))

    from publisher.cli import main as cli
    from publisher.engines.pool import Pool
    from publisher.inputs.project import load_project
    from publisher.model.plan import plan_to_json
    from publisher.reports.render import plan_text
    from publisher.workflow import make_plan

    config_file, spec_dir = root / "publisher.yaml", str(root / "specs")
    phases: list[tuple[str, Callable[[], object]]] = [
        ("load_project, as validate", lambda: load_project(config_file, [spec_dir], need_config=False)),
        ("load_project, as plan", lambda: load_project(config_file, [spec_dir])),
    ]
    config, specs = load_project(config_file, [spec_dir])
    assert config is not None
    plan = make_plan(config, specs, Pool(config), offline=True)
    phases += [
        ("make_plan --offline", lambda: make_plan(config, specs, Pool(config), offline=True)),
        ("plan_to_json (-o)", lambda: plan_to_json(plan)),
        ("plan_text (stdout)", lambda: plan_text(plan)),
    ]
    rows = []
    for name, call in phases:
        cpu = []
        for _ in range(5):
            start = time.process_time()
            call()
            cpu.append(time.process_time() - start)
        rows.append([name, f"{median(cpu):.3f}"])
    print("\n### In-process phases, imports done (CPU seconds, median of 5)\n")
    print(table(["phase", "CPU s"], rows))

    prof = cProfile.Profile()
    with contextlib.redirect_stdout(io.StringIO()):
        prof.runcall(cli, ["plan", "--offline", spec_dir, "--config", str(config_file), "-o", "/dev/null"])
    text = io.StringIO()
    pstats.Stats(prof, stream=text).sort_stats("tottime").print_stats(15)
    print("\n### cProfile of publisher plan --offline, in-process, by own time\n```")
    print("\n".join(text.getvalue().strip().splitlines()[-16:]) + "\n```")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--small", action="store_true", help="smoke size for CI: 50 specs")
    ap.add_argument("--repeat", type=int, help="runs per tool (default 7, --small 3)")
    ap.add_argument("--profile", action="store_true", help="also print import times and a cProfile")
    args = ap.parse_args()
    n = 50 if args.small else 1000
    repeat = args.repeat or (3 if args.small else 7)

    with tempfile.TemporaryDirectory(prefix="publisher-bench-") as tmp:
        root = Path(tmp)
        files = build_project(root, n)
        cmds = commands(files, args.small)
        for cmd in cmds.values():  # warm the page cache and the bytecode caches
            run_timed(cmd, root)
        said = subprocess.run(cmds["publisher validate"], cwd=root, capture_output=True, text=True).stdout
        assert f"{n} spec(s) valid" in said, said  # measure real work, not an early error
        wall: dict[str, list[float]] = {name: [] for name in cmds}
        cpu: dict[str, list[float]] = {name: [] for name in cmds}
        for _ in range(repeat):  # interleaved, so drift hits every tool alike
            for name, cmd in cmds.items():
                w, c = run_timed(cmd, root)
                wall[name].append(w)
                cpu[name].append(c)
        base = median(wall["check-jsonschema"]) if "check-jsonschema" in wall else None
        rows = []
        for name, ts in wall.items():
            ratio = median(ts) / base if base else float("nan")
            goal = GOALS.get(name)
            verdict = "" if goal is None or not base else f"<= {goal}x: {'met' if ratio <= goal else 'NOT met'}"
            rows.append(
                [
                    name,
                    f"{median(ts):.3f}",
                    f"{min(ts):.3f}",
                    f"{median(cpu[name]):.3f}",
                    f"{n / median(ts):,.0f}",
                    f"{ratio:.2f}x" if base else "- (not installed)",
                    verdict,
                ]
            )
        print(f"## Validate and plan {n} specs over small Parquet results ({repeat} runs each)\n")
        print(machine() + "\n")
        header = ["tool", "wall median s", "wall min s", "CPU median s", "specs/s", "vs check-jsonschema", "goal"]
        print(table(header, rows))
        startup(root, files, 3 * repeat)
        if args.profile:
            profile(root)


if __name__ == "__main__":
    main()
