"""Two publications into one table in one plan: the second is planned against what the
first will leave (existence, columns, location), never against the table as it was read.
Every pair of actions, on both targets, planned with a fixed clock (the engine suites
run the same pairs: tests/integration/test_one_table_many_publications.py)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from publisher.model.plan import Publication, SetLocation, Statement
from publisher.model.vocabulary import ACTIONS, TARGET_TYPES
from publisher.planning.planner import PlanInput, plan_all
from tests.test_planner_golden import HIVE_DATABASE_LOCATION, HIVE_LOCATION, NOW, make_results, make_spec, view

PAIRS = [(t, a, b) for t in TARGET_TYPES for a in ACTIONS for b in ACTIONS]


def two(tmp_path: Path, target: str, first: str, second: str) -> list[PlanInput]:
    fmt = "pqt"
    inputs = []
    for job, action in ((31, first), (32, second)):
        spec = make_spec(tmp_path, target, action, fmt)
        spec = replace(spec, job_group=job, file=f"spec{job}.yaml")
        inputs.append(PlanInput(spec, make_results(target, fmt), view(target, "load")))  # the table exists
    return inputs


def made(publication: Publication) -> set[str]:
    """The tables a publication creates; not CREATE TABLE IF NOT EXISTS, of the lock table of
    the target table, which publications into it share by design."""
    creates = (s.text for s in publication.steps if isinstance(s, Statement) and s.text.startswith("CREATE TABLE "))
    return {text.split()[2] for text in creates if not text.startswith("CREATE TABLE IF NOT EXISTS")}


@pytest.mark.parametrize(("target", "first", "second"), PAIRS, ids=["-".join(p) for p in PAIRS])
def test_every_pair_of_actions_into_one_table_plans(tmp_path: Path, target: str, first: str, second: str) -> None:
    publications, problems = plan_all(two(tmp_path, target, first, second), NOW)
    assert problems == []
    a, b = publications
    made_a, made_b = made(a), made(b)
    assert not made_a & made_b, "the second publication makes a table the first makes too"
    if target == "hive" and second == "truncateAndLoad":
        # The second gives the table's current folder to its twin, to be dropped: that must
        # be the folder the first leaves the table in, not the one read before the first ran.
        give = next(s for s in b.steps if s.purpose == "give the old rows to the twin")
        assert isinstance(give, SetLocation)
        swapped = first in ("truncateAndLoad", "merge")  # both swap the table to their twin's folder
        left_in = HIVE_DATABASE_LOCATION.child(f"orders__new_{a.stamp}") if swapped else HIVE_LOCATION
        assert give.location == left_in, give


def test_a_load_after_a_drop_and_load_fits_the_new_columns(tmp_path: Path) -> None:
    """The table read has other columns than the results; the dropAndLoad before the load
    recreates it with the results' columns, so the load plans (a plan of the load alone fails)."""
    inputs = two(tmp_path, "hive", "dropAndLoad", "load")
    assert inputs[0].view is not None and inputs[0].view.table is not None
    odd = replace(inputs[0].view.table, columns=inputs[0].view.table.columns[:2])
    inputs = [replace(i, view=replace(i.view, table=odd)) for i in inputs if i.view is not None]
    publications, problems = plan_all(inputs, NOW)
    assert problems == [] and len(publications) == 2
    _, alone = plan_all(inputs[1:], NOW)
    assert len(alone) == 1 and "does not match the results" in alone[0].message


@pytest.mark.parametrize("target", TARGET_TYPES)
def test_columns_one_publication_adds_are_there_for_the_next(tmp_path: Path, target: str) -> None:
    """onSchemaChange: addColumns, twice into a table that lacks the results' status column in
    one plan: the first adds it, the second finds it there (adding it again would fail at apply)."""
    inputs = two(tmp_path, target, "load", "load")
    evolving = [replace(i, spec=replace(i.spec, on_schema_change="addColumns")) for i in inputs]
    narrow = [
        replace(i, view=replace(i.view, table=replace(i.view.table, columns=i.view.table.columns[:-1])))
        for i in evolving
        if i.view and i.view.table
    ]
    publications, problems = plan_all(narrow, NOW)
    assert problems == []
    first, second = (
        [s.text for s in p.steps if isinstance(s, Statement) and "ADD COLUMN" in s.text] for p in publications
    )
    assert len(first) == 1 and "status" in first[0]
    assert second == []
