"""Helpers shared by the benchmark scripts: the machine, timed subprocesses, tables."""

from __future__ import annotations

import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "bench" / "out"  # gitignored


def machine() -> str:
    """One line naming what the numbers were measured on."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    load = os.getloadavg()[0]  # other work on the machine makes wall times noisy
    return f"nproc {os.cpu_count()}, {cpu}, Python {platform.python_version()}, load average {load:.1f}"


def tool(name: str) -> str:
    """A console script of the running venv, as a user would call it."""
    path = Path(sys.executable).parent / name
    if path.exists():
        return str(path)
    # A baseline may live in a venv of its own (installing it here could move shared packages).
    found = shutil.which(name)
    if name == "publisher" or found is None:
        sys.exit(f"{name} not found next to {sys.executable}: install it into this venv")
    print(f"note: {name} from {found}, not from this venv", file=sys.stderr)
    return found


def baseline_missing(module: str, small: bool) -> bool:
    """Whether a baseline's package is missing: fine for a --small smoke run (CI checks that the
    script runs; the [bench] extra holds the baselines), which leaves its rows out; else an exit."""
    import importlib.util

    if importlib.util.find_spec(module) is not None or shutil.which(module.replace("_", "-")):
        return False
    if not small:
        sys.exit(f"{module} is not installed: pip install -e '.[bench]' (or run with --small to leave it out)")
    print(f"note: {module} is not installed; its rows are left out (pip install -e '.[bench]')", file=sys.stderr)
    return True


def run_timed(cmd: Sequence[str], cwd: Path) -> tuple[float, float]:
    """Wall and CPU (user + sys) seconds of one run, interpreter start and imports included.

    CPU time is the steadier of the two on a busy machine; wall time is what users wait.
    """
    # As users run: with bytecode caches. A shell that sets PYTHONDONTWRITEBYTECODE (some CI images
    # do) would have every changed module compiled again on every run, and time that instead.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        sys.exit(f"failed ({done.returncode}): {' '.join(cmd[:4])} ...\n{done.stderr[-2000:]}")
    return wall, after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime


def median(xs: list[float]) -> float:
    return statistics.median(xs)


def table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)
