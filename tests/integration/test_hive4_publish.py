"""The publisher on the Hive 4 flavour (.ci/hive4/): the ``target`` fixture asked for
"hive4" by name, as any shared test can be. What these tests pin is where the publisher's
tables land and what their type is when the metastore translates them."""

from __future__ import annotations

import pytest

from tests.fixtures.hive4 import local_path
from tests.integration.conftest import Target

pytestmark = [pytest.mark.hive, pytest.mark.hive4]
ON_HIVE4 = pytest.mark.parametrize("target", ["hive4"], indirect=True)


def location_and_type(target: Target, table: str) -> tuple[str, str]:
    rows = {str(r[0]): str(r[1]) for r in target.fetch(f"DESCRIBE FORMATTED `{target.database}`.`{table}`")}
    return rows["Location"], rows["Type"]


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
