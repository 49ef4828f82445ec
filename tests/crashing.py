"""How a test kills an apply at its N-th step: the one part of crash recovery that differs by
target. In this process (``crash_at``: the executor raises ``Crash``, which no ``except
Exception`` catches) where a child process cannot be used or adds nothing; a child process
SIGKILLed by itself (``killed_apply``: no undo, no clean-up, no ROLLBACK sent, the connection
dropped by the kernel) against the servers."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from publisher.apply.executor import Executor
from tests.conftest import Project, scan_outputs

IN_PROCESS = frozenset({"embedded", "postgres"})
"""Target kinds whose applies die in this process. The embedded Hive must: its Derby metastore
allows one process, the test's. PostgreSQL may: the crash closes the connection as a kill would
(the server rolls the open transaction back), at a fraction of a child process's start-up. Every
other kind (the HiveServer2, the Redshift stand-in, the Hive 4 servers) is killed for real."""

PROCESS_TIMEOUT = 300


class Crash(BaseException):
    """The process dies: no undo, no cleanup (BaseException passes every `except Exception`)."""


@contextlib.contextmanager
def crash_at(step_number: int, *, after: bool = False) -> Iterator[list[str]]:
    """Kills the apply when it reaches its ``step_number``-th executed statement (with ``after``,
    once that statement has run); every statement after that fails too, as it would in a dead
    process. Yields the purposes of what was reached."""
    original = Executor._execute
    ran: list[str] = []

    def execute(self: Executor, step: Any) -> Any:
        ran.append(step.purpose)
        if len(ran) > step_number or (len(ran) == step_number and not after):
            raise Crash(step.purpose)
        return original(self, step)

    Executor._execute = execute  # type: ignore[method-assign]
    try:
        yield ran
    finally:
        Executor._execute = original  # type: ignore[method-assign]


# Runs the CLI, killing its own process (SIGKILL) when the executor is about to run its
# PUBLISHER_CRASH_AT-th statement or object step, or, with PUBLISHER_CRASH_AFTER=1, just after.
KILLING_CLI = textwrap.dedent(
    """
    import os, signal, sys
    from publisher import cli
    from publisher.apply.executor import Executor

    crash_at = int(os.environ["PUBLISHER_CRASH_AT"])
    after = os.environ.get("PUBLISHER_CRASH_AFTER") == "1"
    original = Executor._execute
    ran = [0]

    def execute(self, step):
        ran[0] += 1
        if ran[0] == crash_at and not after:
            os.kill(os.getpid(), signal.SIGKILL)
        result = original(self, step)
        if ran[0] == crash_at and after:
            os.kill(os.getpid(), signal.SIGKILL)
        return result

    Executor._execute = execute
    sys.exit(cli.main(sys.argv[1:]))
    """
)


def killed_apply(root: Path, step_number: int, *, after: bool = False) -> None:
    """``publisher apply`` in a child process in ``root``, SIGKILLed at its ``step_number``-th step."""
    wrapper = root / "killing_cli.py"
    wrapper.write_text(KILLING_CLI)
    env = dict(os.environ, PUBLISHER_CRASH_AT=str(step_number), PUBLISHER_CRASH_AFTER="1" if after else "0")
    killed = subprocess.run(
        [sys.executable, str(wrapper), "apply"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=PROCESS_TIMEOUT,
    )
    assert killed.returncode == -signal.SIGKILL, f"not killed at step {step_number}: {killed.stdout}\n{killed.stderr}"
    scan_outputs(root, ["apply"], killed.stdout, killed.stderr)


def die_at(kind: str, project: Project, step_number: int, *, after: bool = False) -> None:
    """An apply of ``project`` dies at its ``step_number``-th step, the way target ``kind``'s do."""
    if kind in IN_PROCESS:
        with crash_at(step_number, after=after), contextlib.suppress(Crash):
            project.run("apply")
    else:
        killed_apply(project.root, step_number, after=after)


def pending_steps(project: Project) -> list[dict[str, Any]]:
    """The steps apply would run now, in order, as plan JSON writes them (kind, purpose, ...)."""
    result = project.run("plan", "--format", "json")
    assert result.code == 0, result.err
    plan = json.loads(result.out)
    return [s for p in plan["publications"] if p["status"] == "pending" for s in p["steps"]]


def steps_of(project: Project) -> int:
    return len(pending_steps(project))
