"""GitOps on Redshift: concurrent applies and killed applies publish exactly once, and two first
applies create the ledger once. What every target shows (re-apply, saved and stale plans,
--force) is in test_gitops.py. Applies that must be separate processes
(concurrent, killed) run ``python -m publisher`` in the project folder."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import scan_outputs
from tests.fixtures.redshift import RedshiftEngine, RedshiftProject
from tests.integration.test_apply_redshift import applied, expected, results, spec, table_rows
from tests.integration.test_gitops import summary

pytestmark = pytest.mark.redshift

PROCESS_TIMEOUT = 120

# Runs the CLI, killing its own process (SIGKILL: no undo, no clean-up, no ROLLBACK sent)
# when the executor is about to run its PUBLISHER_CRASH_AT-th statement or object step,
# or, with PUBLISHER_CRASH_AFTER=1, just after that step has run.
CRASHING_CLI = textwrap.dedent(
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


def start(
    project: RedshiftProject, *args: str, crash_at: int | None = None, after: bool = False
) -> subprocess.Popen[str]:
    """``publisher ARGS`` in a process of its own, in the project folder."""
    env = dict(os.environ)
    if crash_at is None:
        command = [sys.executable, "-m", "publisher", *args]
    else:
        wrapper = project.root / "crashing_cli.py"
        wrapper.write_text(CRASHING_CLI)
        command = [sys.executable, str(wrapper), *args]
        env.update(PUBLISHER_CRASH_AT=str(crash_at), PUBLISHER_CRASH_AFTER="1" if after else "0")
    return subprocess.Popen(
        command, cwd=project.root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def finish(process: subprocess.Popen[str]) -> tuple[int, str, str]:
    try:
        out, err = process.communicate(timeout=PROCESS_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
        pytest.fail(f"publisher did not finish in {PROCESS_TIMEOUT}s: {out[-2000:]} {err[-2000:]}")
    scan_outputs(Path(), [str(a) for a in process.args[2:]], out, err)  # type: ignore[index]
    return process.returncode, out, err


def done_rows(rs: RedshiftEngine) -> dict[tuple[Any, ...], int]:
    """How many 'done' ledger rows each publication has."""
    counts: dict[tuple[Any, ...], int] = {}
    for row in rs.ledger("done"):
        key = (row["job_group"], row["flow_node_id"], row["table_name"], row["action"])
        counts[key] = counts.get(key, 0) + 1
    return counts


def pending_steps(project: RedshiftProject, *paths: str) -> list[str]:
    """The purposes of the steps apply would run now, in order."""
    result = project.run("plan", "--format", "json", *paths)
    assert result.code == 0, result.err
    plan = json.loads(result.out)
    return [s["purpose"] for p in plan["publications"] if p["status"] == "pending" for s in p["steps"]]


# --- concurrent applies ---------------------------------------------------------------------


@pytest.mark.parametrize("fresh_ledger", [False, True], ids=["ledger-exists", "first-apply"])
def test_concurrent_applies_publish_once(
    redshift_project: RedshiftProject, redshift: RedshiftEngine, tmp_path: Path, fresh_ledger: bool
) -> None:
    """Two `publisher apply` processes started together on the same specs: each
    publication runs once (the ledger's LOCK serializes them, the loser's guard skips)."""
    rs, project = redshift, redshift_project
    rs.execute(
        f"CREATE TABLE {rs.qualified('t')} (id BIGINT, name VARCHAR(65535), amount DECIMAL(10,2), "
        "at TIMESTAMPTZ, day DATE, tags SUPER)"
    )
    if not fresh_ledger:
        results(rs, tmp_path, "pqt", 9, 900, 3)
        spec(project, rs, "0_other", "createAndLoad", "pqt", 9, table="other")
        applied(project)
    load = results(rs, tmp_path, "pqt", 11, 1, 40)
    made = results(rs, tmp_path, "avro", 12, 100, 30)
    replaced = results(rs, tmp_path, "json", 13, 200, 20)
    spec(project, rs, "a_load", "load", "pqt", 11)
    spec(project, rs, "b_create", "createAndLoad", "avro", 12, table="c")
    spec(project, rs, "c_replace", "dropAndLoad", "json", 13, table="r")
    before = rs.tables()

    processes = [
        start(project, "apply", "specs/a_load.yaml", "specs/b_create.yaml", "specs/c_replace.yaml") for _ in range(2)
    ]
    outcomes = [finish(p) for p in processes]
    for code, out, err in outcomes:
        assert code == 0, f"{out[-3000:]}\n{err[-3000:]}"
    counts = [summary(out) for _, out, _ in outcomes]
    assert sum(c[0] for c in counts) == 3 and all(c[2] == 0 for c in counts), counts

    assert table_rows(rs, "t") == expected(load), "the load's rows exactly once"
    (created,) = [n for n in rs.tables() - before if n.startswith("c_")]
    assert table_rows(rs, created) == expected(made)
    assert table_rows(rs, "r") == expected(replaced)
    assert not [n for n in rs.tables() if "__" in n]
    mine = {k: v for k, v in done_rows(rs).items() if k[0] in (11, 12, 13)}
    assert sorted(mine.values()) == [1, 1, 1], mine
    assert rs.manifests() == []


# --- killed applies -------------------------------------------------------------------------


def crash_then_reapply(project: RedshiftProject, crash_at: int, *, after: bool = False) -> str:
    """Kills an apply at its ``crash_at``-th step, then applies again (in this process)."""
    code, out, err = finish(start(project, "apply", crash_at=crash_at, after=after))
    assert code == -signal.SIGKILL, f"the apply was not killed at step {crash_at}: {code}\n{out}\n{err}"
    result = project.run("apply")
    assert result.code == 0, f"re-apply after a kill at step {crash_at} failed:\n{result.err}\n{result.out[-2000:]}"
    return result.out


@pytest.mark.slow
@pytest.mark.parametrize("action", ["load", "truncateAndLoad", "dropAndLoad", "createAndLoad"])
def test_killed_apply_then_reapply_publishes_exactly_once(
    redshift_project: RedshiftProject, redshift: RedshiftEngine, tmp_path: Path, action: str
) -> None:
    """SIGKILL before each step of the publication in turn (and once after its COMMIT);
    the next apply publishes it exactly once, and leaves no staging or old table behind."""
    rs, project = redshift, redshift_project
    base = results(rs, tmp_path, "pqt", 10, 1, 20)
    spec(project, rs, "a_base", "dropAndLoad", "pqt", 10)
    applied(project)
    results(rs, tmp_path, "pqt", 100, 500, 7)
    spec(project, rs, "b_change", action, "pqt", 100)
    steps = pending_steps(project, "specs/b_change.yaml")
    # The publication's COMMIT: the last step, or (dropAndLoad) followed by the old table's drop.
    commit_at = next(i for i, s in enumerate(steps, start=1) if s.startswith("publish"))
    assert len(steps) >= 9 and steps[commit_at:] in ([], steps[-3:]), steps

    rounds = [(k, False) for k in range(1, len(steps) + 1)] + [(commit_at, True)]
    for number, (crash_at, after) in enumerate(rounds, start=1):
        # Each round publishes a new job's results (a new publication) onto the base table.
        job = 100 + number
        new = results(rs, tmp_path, "pqt", job, 500 + number * 10, 7)
        spec(project, rs, "b_change", action, "pqt", job)
        tables_before = rs.tables()
        where = f"kill {'after' if after else 'before'} step {crash_at} ({steps[crash_at - 1]})"
        out = crash_then_reapply(project, crash_at, after=after)
        if crash_at > commit_at or after:
            assert summary(out)[0] == 0, f"{where}: the killed apply had committed"
        if action == "load":
            assert table_rows(rs, "t") == expected(base + new), where
        elif action in ("truncateAndLoad", "dropAndLoad"):
            assert table_rows(rs, "t") == expected(new), where
        else:
            made = rs.tables() - tables_before
            assert len(made) == 1, (where, made)
            (name,) = made
            assert table_rows(rs, name) == expected(new), where
            rs.execute(f"DROP TABLE {rs.qualified(name)}")
        assert not [n for n in rs.tables() if "__" in n], f"leftovers after a {where}"
        assert done_rows(rs).get((job, 1, rs.table_name("t"), action)) == 1, (where, done_rows(rs))
        # Back to the base table for the next round.
        assert project.run("apply", "--force", "specs/a_base.yaml").code == 0


# --- the ledger -----------------------------------------------------------------------------


def test_concurrent_first_applies_create_the_ledger_once(redshift: RedshiftEngine) -> None:
    """Two first applies both run the ledger's CREATE SCHEMA / CREATE TABLE IF NOT EXISTS;
    on PostgreSQL (and Redshift) the one that loses the race fails unless retried."""
    import threading

    from publisher.dialects import dialect_for
    from publisher.engines.redshift import RedshiftTarget
    from publisher.model.plan import Statement
    from publisher.model.relation import Relation
    from publisher.planning import ledger

    endpoint = redshift.endpoint
    targets = [
        RedshiftTarget(
            host=endpoint.host,
            port=endpoint.port,
            database="dev",
            user="publisher",
            password=endpoint.password,
            ssl=endpoint.ca is not None,
        )
        for _ in range(2)
    ]
    errors: list[str] = []
    try:
        for round_ in range(15):
            home = Relation("dev", f"{redshift.schema}_l{round_}", "publications")
            statements = [s.text for s in ledger.ensure(dialect_for("redshift"), home) if isinstance(s, Statement)]
            barrier = threading.Barrier(2)

            def run(target: RedshiftTarget, statements: list[str] = statements, barrier: Any = barrier) -> None:
                for sql in statements:
                    barrier.wait()
                    try:
                        target.execute(sql)
                    except Exception as exc:
                        errors.append(str(exc))

            threads = [threading.Thread(target=run, args=(t,)) for t in targets]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(60)
            assert "publications" in {
                r[0]
                for r in redshift.fetch(
                    "SELECT tablename FROM pg_catalog.pg_tables WHERE schemaname = %s", (home.schema,)
                )
            }
    finally:
        for round_ in range(15):
            redshift.execute(f'DROP SCHEMA IF EXISTS "{redshift.schema}_l{round_}" CASCADE')
        for target in targets:
            target.close()
    assert errors == []
