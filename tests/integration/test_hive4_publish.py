"""The publisher on Hive 4: the emulation (.ci/hive4/, "hive4") and a real Apache Hive 4
HiveServer2 (.ci/services/hive4_real.sh, "hive4real"), the ``target`` fixture asked for each
by name, as any shared test can be. What these tests pin is where the publisher's tables land
and what their type is when the metastore translates them."""

from __future__ import annotations

import pytest

from publisher.engines.hive_describe import parse_describe_formatted
from tests.fixtures.hive4 import local_path
from tests.integration.conftest import Target

pytestmark = [pytest.mark.hive, pytest.mark.hive4]
ON_HIVE4 = pytest.mark.parametrize("target", ["hive4", "hive4real"], indirect=True)


def location_and_type(target: Target, table: str) -> tuple[str, str]:
    """Location and EXTERNAL or MANAGED, from DESCRIBE FORMATTED as each engine prints it
    (Spark: "Location", "Type"; Hive: "Location:", "Table Type:" padded with spaces)."""
    state = parse_describe_formatted(target.fetch(f"DESCRIBE FORMATTED `{target.database}`.`{table}`"))
    assert state.location is not None and state.managed is not None
    return state.location, "MANAGED" if state.managed else "EXTERNAL"


@ON_HIVE4
def test_create_and_load_publishes_a_translated_table(target: Target) -> None:
    data = target.results(1, 1, 4)
    target.spec("a", "createAndLoad", 1, table="orders")
    run = target.project.run("apply")
    assert run.code == 0, run.err

    (created,) = [t for t in target.tables() if t.startswith("orders_")]
    location, kind = location_and_type(target, created)
    assert kind == "EXTERNAL"
    assert local_path(location).parent.name == f"{target.database}.db"
    assert "/warehouse/" not in location  # the external warehouse, not the managed one
    assert target.rows(created) == target.expected(data)


@ON_HIVE4
def test_drop_and_load_then_load_on_a_translated_table(target: Target) -> None:
    first = target.results(1, 1, 4)
    target.spec("a", "dropAndLoad", 1)
    assert (run := target.project.run("apply")).code == 0, run.err
    second = target.results(2, 10, 3)
    target.spec("b", "load", 2)
    assert (run := target.project.run("apply")).code == 0, run.err

    assert sorted(target.rows("t")) == sorted(target.expected(first) + target.expected(second))
    assert location_and_type(target, "t")[1] == "EXTERNAL"


@ON_HIVE4
@pytest.mark.parametrize("action", ["truncateAndLoad", "merge"])
def test_the_publishers_own_translated_table_is_replaced_and_its_old_folder_purged(target: Target, action: str) -> None:
    """Hive 4 makes the publisher's plain CREATE TABLE external with purge: the next
    truncateAndLoad or merge publishes into it as into a managed table (it was refused as
    external), its twin beside it in the external warehouse, and the old rows' folder goes when
    the twin is dropped (purge), while no folder in use is deleted."""
    first = target.results(1, 1, 4)
    target.spec("a", "dropAndLoad", 1)
    assert (run := target.project.run("apply")).code == 0, run.err
    before, kind = location_and_type(target, "t")
    assert kind == "EXTERNAL"
    second = target.results(2, 3, 4)  # ids 3..6: two overlap the first publication's
    extra = {"mergeKeys": ["id"]} if action == "merge" else {}
    target.spec("b", action, 2, **extra)
    plan = target.project.run("plan")
    assert "is external, owned (external.table.purge=true" in plan.out, plan.out + plan.err
    assert (run := target.project.run("apply")).code == 0, run.err
    if action == "truncateAndLoad":
        want = target.expected(second)
    else:
        kept = [r for r in first if r["id"] not in {n["id"] for n in second}]
        want = target.expected(kept + second)
    assert sorted(target.rows("t")) == sorted(want)
    after, _ = location_and_type(target, "t")
    assert after != before and local_path(after).parent == local_path(before).parent
    assert local_path(after).is_dir(), "the table's folder is in use"
    assert not local_path(before).exists(), "the old rows' folder was purged with the twin"
    assert not [n for n in target.tables() if "__" in n]
