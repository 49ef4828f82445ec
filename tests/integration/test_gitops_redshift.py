"""GitOps on Redshift: concurrent applies publish exactly once, and two first applies create the
ledger once. What every target shows (re-apply, saved and stale plans, --force, a death at every
step) is in test_gitops.py and test_crash_recovery.py. Concurrent applies run
``python -m publisher`` in the project folder."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import scan_outputs
from tests.fixtures.redshift import RedshiftEngine, RedshiftProject
from tests.integration.test_apply_redshift import applied, expected, results, spec, table_rows
from tests.integration.test_gitops import summary

pytestmark = pytest.mark.redshift

PROCESS_TIMEOUT = 120


def start(project: RedshiftProject, *args: str) -> subprocess.Popen[str]:
    """``publisher ARGS`` in a process of its own, in the project folder."""
    return subprocess.Popen(
        [sys.executable, "-m", "publisher", *args],
        cwd=project.root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
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
