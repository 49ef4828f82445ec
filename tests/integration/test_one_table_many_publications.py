"""Several publications into one table in one apply, on both Hive engines and the Redshift
stand-in: every pair of actions, each publication planned against what the one before it
leaves. Afterwards the table is readable and holds exactly what the two actions, one after
the other, promise."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from publisher.model.vocabulary import ACTIONS
from publisher.planning.actions import STRATEGIES
from tests.conftest import HiveEngine, Project
from tests.fixtures.redshift import RedshiftEngine, RedshiftProject
from tests.integration.test_apply_hive import expected, spec, table_rows, use
from tests.integration.test_apply_redshift import applied as redshift_applied
from tests.integration.test_apply_redshift import expected as redshift_expected
from tests.integration.test_apply_redshift import results as redshift_results
from tests.integration.test_apply_redshift import spec as redshift_spec
from tests.integration.test_apply_redshift import table_rows as redshift_rows
from tests.resultfiles import write

PAIRS = [(a, b) for a in ACTIONS for b in ACTIONS]


def after(action: str, rows: list[dict[str, Any]], data: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What the table holds after ``action`` published ``data`` into it."""
    if action == "load":
        return rows + data
    if action in ("truncateAndLoad", "dropAndLoad"):
        return data
    if action == "merge":
        kept = {r["id"] for r in data}
        return [r for r in rows if r["id"] not in kept] + data
    return rows  # create, createAndLoad: a new table, this one untouched


@pytest.mark.hive
@pytest.mark.slow
def test_every_pair_of_actions_into_one_table_in_one_apply(project: Project, hive: HiveEngine) -> None:
    use(project, hive)
    old = write(project.results(1, 1), "pqt", 1, 5)
    spec(project, hive, "seed", "dropAndLoad", "pqt", 1, table="seed")
    assert project.run("apply").code == 0
    project.specs.clear()
    for path in (project.root / "specs").iterdir():
        path.unlink()
    firsts = {a: write(project.results(100 + i, 1), "pqt", 100 + 10 * i, 3) for i, a in enumerate(ACTIONS)}
    seconds = {b: write(project.results(200 + i, 1), "pqt", 200 + 10 * i, 4) for i, b in enumerate(ACTIONS)}
    for n, (a, b) in enumerate(PAIRS):
        table = f"p{n}"
        db = f"`{hive.database}`"
        hive.target.execute(f"CREATE TABLE {db}.`{table}` STORED AS PARQUET AS SELECT * FROM {db}.`seed`")
        # Spec files sort by name: the first publication of each pair is planned first.
        spec(project, hive, f"{n:02d}a", a, "pqt", 100 + ACTIONS.index(a), table=table)
        spec(project, hive, f"{n:02d}b", b, "pqt", 200 + ACTIONS.index(b), table=table)
    result = project.run("apply")
    assert result.code == 0, result.err
    assert f"{2 * len(PAIRS)} published" in result.out
    tables = hive.tables()
    for n, (a, b) in enumerate(PAIRS):
        want = after(b, after(a, old, firsts[a]), seconds[b])
        assert table_rows(hive, f"p{n}") == expected(want), f"{a} then {b}"
        made = [t for t in tables if t.startswith(f"p{n}_")]
        assert len(made) == sum(STRATEGIES[x].makes_timestamped_table for x in (a, b)), (a, b, made)
    assert f"0 published, {2 * len(PAIRS)} already published" in project.run("apply").out


@pytest.mark.redshift
def test_every_pair_of_actions_into_one_redshift_table_in_one_apply(
    redshift_project: RedshiftProject, redshift: RedshiftEngine, tmp_path: Path
) -> None:
    rs, project = redshift, redshift_project
    old = redshift_results(rs, tmp_path, "pqt", 1, 1, 5)
    firsts = {a: redshift_results(rs, tmp_path, "pqt", 100 + i, 100 + 10 * i, 3) for i, a in enumerate(ACTIONS)}
    seconds = {b: redshift_results(rs, tmp_path, "pqt", 200 + i, 200 + 10 * i, 4) for i, b in enumerate(ACTIONS)}
    for n in range(len(PAIRS)):
        redshift_spec(project, rs, f"seed{n:02d}", "dropAndLoad", "pqt", 1, table=f"p{n}")
    redshift_applied(project)
    for path in (project.root / "specs").iterdir():
        path.unlink()
    for n, (a, b) in enumerate(PAIRS):
        redshift_spec(project, rs, f"{n:02d}a", a, "pqt", 100 + ACTIONS.index(a), table=f"p{n}")
        redshift_spec(project, rs, f"{n:02d}b", b, "pqt", 200 + ACTIONS.index(b), table=f"p{n}")
    out = redshift_applied(project)
    assert f"{2 * len(PAIRS)} published" in out
    tables = rs.tables()
    for n, (a, b) in enumerate(PAIRS):
        want = after(b, after(a, old, firsts[a]), seconds[b])
        assert redshift_rows(rs, f"p{n}") == redshift_expected(want), f"{a} then {b}"
        made = [t for t in tables if t.startswith(f"p{n}_")]
        assert len(made) == sum(STRATEGIES[x].makes_timestamped_table for x in (a, b)), (a, b, made)
