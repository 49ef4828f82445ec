"""The publisher on Hive 4: the emulation (.ci/hive4/, "hive4") and a real Apache Hive 4
HiveServer2 (.ci/services/hive4_real.sh, "hive4real"), the ``target`` fixture asked for each
by name, as any shared test can be. What these tests pin is where the publisher's tables land
and what their type is when the metastore translates them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from publisher.engines.hive_describe import parse_describe_formatted
from publisher.model.location import Location
from publisher.model.target import HiveTable
from tests.fixtures.hive4 import REAL_HIVE, local_path
from tests.integration.conftest import Target
from tests.integration.test_hive4_emulation import files

pytestmark = [pytest.mark.hive, pytest.mark.hive4]
ON_HIVE4 = pytest.mark.parametrize("target", ["hive4", "hive4real"], indirect=True)


def location_and_type(target: Target, table: str) -> tuple[Location, str]:
    """Location and EXTERNAL or MANAGED, from DESCRIBE FORMATTED as each engine prints it
    (Spark: "Location", "Type"; Hive: "Location:", "Table Type:" padded with spaces)."""
    state = parse_describe_formatted(target.fetch(f"DESCRIBE FORMATTED `{target.database}`.`{table}`"))
    managed = state.of(HiveTable).managed
    assert state.location is not None and managed is not None
    return state.location, "MANAGED" if managed else "EXTERNAL"


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
    assert "/warehouse/" not in location.path  # the external warehouse, not the managed one
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
    # The engine read at connect, named in the header: Spark's Thrift Server or Apache Hive.
    product = "Apache Hive" if target.kind in REAL_HIVE else "Spark SQL"
    assert re.search(rf"^Engines: hive: {product} \d+\.\d+", plan.out, re.M), plan.out
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


# Focused: the ACID configuration (Cloudera-like: managed tables ACID, insert-only for Parquet)
# and foreign external tables, on the real Apache Hive 4.
ON_HIVE4_ACID = pytest.mark.parametrize("target", ["hive4acid"], indirect=True)


def parameters(target: Target, table: str) -> dict[str, str]:
    from publisher.engines.hive_describe import _split_describe, table_properties

    return table_properties(_split_describe(target.fetch(f"DESCRIBE FORMATTED `{target.database}`.`{table}`"))[1])


@ON_HIVE4_ACID
def test_on_acid_hive_the_publishers_table_is_external_and_every_action_publishes_into_it(target: Target) -> None:
    """Where managed tables are ACID, a plain CREATE TABLE ... STORED AS PARQUET would come out
    insert-only ACID, and every later write refused. The publisher declares its tables (and
    their twins) EXTERNAL with purge on Apache Hive: load, truncateAndLoad and merge publish
    into it, the old rows' folders go with the dropped twins, and none is left behind."""
    rows = target.results(1, 1, 4)
    target.spec("a", "dropAndLoad", 1)
    assert (run := target.project.run("apply")).code == 0, run.err
    params = parameters(target, "t")
    assert params.get("external") == "true" and params.get("external.table.purge") == "true", params
    assert "transactional" not in params, params
    folder = local_path(location_and_type(target, "t")[0]).parent

    for n, action in enumerate(("load", "truncateAndLoad", "merge"), start=2):
        batch = target.results(n, 2 * n, 3)  # overlaps the rows before it: merge replaces those
        extra = {"mergeKeys": ["id"]} if action == "merge" else {}
        target.spec(f"s{n}", action, n, **extra)
        assert (run := target.project.run("apply")).code == 0, run.out + run.err
        if action == "load":
            rows = rows + batch
        elif action == "truncateAndLoad":
            rows = batch
        else:
            rows = [r for r in rows if r["id"] not in {b["id"] for b in batch}] + batch
        assert sorted(target.rows("t")) == sorted(target.expected(rows)), action
        assert "transactional" not in parameters(target, "t")
    in_use = {local_path(location_and_type(target, name)[0]) for name in target.tables()}
    left = {p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")}
    assert left <= in_use, f"folders no table uses (a swap's old rows not purged): {left - in_use}"
    assert local_path(location_and_type(target, "t")[0]) in left


@ON_HIVE4_ACID
@pytest.mark.parametrize("kind", ["insert_only", "default"])
def test_on_acid_hive_a_hand_made_acid_table_takes_loads_and_refuses_replacements(target: Target, kind: str) -> None:
    """An ACID table Hive made (insert-only for Parquet, full ACID for ORC): load appends under
    Hive's transactions; truncateAndLoad and merge are refused at plan time naming its kind,
    and its rows are unchanged."""
    stored = "PARQUET" if kind == "insert_only" else "ORC"
    target.execute(
        f"CREATE TABLE `{target.database}`.t (id BIGINT, name STRING, amount DECIMAL(10,2), at TIMESTAMP, "
        f"day DATE, tags ARRAY<STRING>) STORED AS {stored}"
    )
    params = parameters(target, "t")
    assert params.get("transactional") == "true", params
    words = "insert-only ACID" if kind == "insert_only" else "full ACID"
    data = target.results(1, 1, 4)
    target.spec("a", "load", 1)
    assert (run := target.project.run("apply")).code == 0, run.out + run.err
    assert sorted(target.rows("t")) == sorted(target.expected(data))

    for n, action in enumerate(("truncateAndLoad", "merge"), start=2):
        target.results(n, 10 * n, 2)
        extra = {"mergeKeys": ["id"]} if action == "merge" else {}
        spec = target.spec(f"s{n}", action, n, **extra)
        plan = target.project.run("plan")
        spec.unlink()
        target.project.specs.remove(spec)
        assert plan.code != 0, plan.out
        said = plan.out + plan.err
        assert words in said and "before they could be checked" in said and "Spark" not in said, said
    assert sorted(target.rows("t")) == sorted(target.expected(data))


@pytest.mark.parametrize("target", ["hive4", "hive4real"], indirect=True)
@pytest.mark.parametrize("action", ["truncateAndLoad", "merge"])
def test_a_foreign_external_table_is_refused_and_its_files_kept(target: Target, action: str, tmp_path: Path) -> None:
    """An external table without purge, made by hand outside the warehouses: its files belong
    to whoever wrote them, so truncateAndLoad and merge are refused and nothing is touched."""
    folder = tmp_path / "theirs"
    target.execute(
        f"CREATE EXTERNAL TABLE `{target.database}`.t (id BIGINT, name STRING, amount DECIMAL(10,2),"
        f" at TIMESTAMP, day DATE, tags ARRAY<STRING>) STORED AS PARQUET LOCATION '{folder.as_uri()}'"
    )
    target.execute(f"INSERT INTO `{target.database}`.t SELECT 1, 'x', 1.5, NULL, NULL, array('a')")
    before = files(folder)
    target.results(2, 3, 4)
    extra = {"mergeKeys": ["id"]} if action == "merge" else {}
    target.spec("b", action, 2, **extra)
    run = target.project.run("apply")
    assert run.code != 0
    assert "external, foreign (no purge" in run.out + run.err, run.out + run.err
    assert files(folder) == before
    assert target.count("t") == 1
