"""Whose files a Hive table's folder holds, planned: the publisher swaps or drops only a
managed table in its own folder under its database's; a managed table moved elsewhere
(SET LOCATION '/shared/t') may share that folder with others' files, and is refused at plan
time by every action that would delete the folder."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from publisher.model.errors import InvalidInput
from publisher.model.location import Location
from publisher.model.plan import SetLocation
from publisher.model.target import HiveTable
from publisher.planning.planner import plan_publication
from tests.test_partition_plans import live, make_spec, table
from tests.test_planner_golden import HIVE_DATABASE_LOCATION, NOW, make_results

REPLACING = ("truncateAndLoad", "merge", "dropAndLoad")


def extra(action: str) -> dict[str, object]:
    return {"mergeKeys": ["order_id"]} if action == "merge" else {}


@pytest.mark.parametrize("action", REPLACING)
@pytest.mark.parametrize(
    "where",
    [
        f"{HIVE_DATABASE_LOCATION}/orders",
        f"{HIVE_DATABASE_LOCATION}/orders/",
        f"{HIVE_DATABASE_LOCATION}/orders__new_20261127100000",  # after an earlier swap
    ],
)
def test_a_managed_table_in_its_own_folder_is_replaced(tmp_path: Path, action: str, where: str) -> None:
    spec = make_spec(tmp_path, action, **extra(action))
    state = replace(table(()), location=Location.parse(where))
    publication = plan_publication(spec, make_results("hive", "pqt"), live(state), NOW)
    assert publication.steps


@pytest.mark.parametrize("action", REPLACING)
@pytest.mark.parametrize(
    "where",
    [
        "hdfs://warehouse/shared/orders",  # moved out of the warehouse
        f"{HIVE_DATABASE_LOCATION}/other_team",  # another table's folder
        f"{HIVE_DATABASE_LOCATION}",  # the database's folder itself
        f"{HIVE_DATABASE_LOCATION}/orders/sub",
        f"{HIVE_DATABASE_LOCATION}/orders__new_2026",  # not a stamp the publisher writes
    ],
)
def test_a_managed_table_stored_elsewhere_is_refused_before_anything_runs(
    tmp_path: Path, action: str, where: str
) -> None:
    spec = make_spec(tmp_path, action, **extra(action))
    state = replace(table(()), location=Location.parse(where))
    with pytest.raises(InvalidInput) as refused:
        plan_publication(spec, make_results("hive", "pqt"), live(state), NOW)
    message = str(refused.value)
    assert f"is managed but stored at {where}" in message and "\n" not in message
    assert "would delete files the publisher did not write" in message


@pytest.mark.parametrize("action", REPLACING)
def test_an_owned_external_table_as_hive_4_makes_it_is_published_like_a_managed_one(
    tmp_path: Path, action: str
) -> None:
    """Hive 4 turns a plain CREATE TABLE into EXTERNAL with external.table.purge: its files are
    the table's, and it is swapped (or dropped) as a managed table is; the plan names its kind."""
    spec = make_spec(tmp_path, action, **extra(action))
    state = table(()).with_own(HiveTable, managed=False, kind="external-owned")
    if action == "dropAndLoad":  # its managed replacement would be renamed into the same folder
        with pytest.raises(InvalidInput, match="the folder its managed replacement would be renamed into"):
            plan_publication(spec, make_results("hive", "pqt"), live(state), NOW)
        state = replace(state, location=HIVE_DATABASE_LOCATION.child("orders__new_20261127100000"))
    publication = plan_publication(spec, make_results("hive", "pqt"), live(state), NOW)
    assert "table default.orders is external, owned (external.table.purge=true: DROP deletes its files)" in (
        publication.notes
    )
    if action != "dropAndLoad":
        assert any(isinstance(s, SetLocation) for s in publication.steps), "swapped to a loaded twin"


@pytest.mark.parametrize("action", ["truncateAndLoad", "merge"])
@pytest.mark.parametrize(
    ("kind", "words"),
    [
        ("external-foreign", "is external, foreign (no purge"),
        ("acid", "is full ACID (transactional=true)"),
        ("acid-insert-only", "is insert-only ACID (transactional_properties=insert_only)"),
    ],
)
def test_foreign_and_acid_tables_are_refused_naming_their_kind(
    tmp_path: Path, action: str, kind: str, words: str
) -> None:
    spec = make_spec(tmp_path, action, **extra(action))
    state = table(()).with_own(
        HiveTable, managed=kind.startswith("acid"), kind=kind, transactional=kind.startswith("acid")
    )
    with pytest.raises(InvalidInput) as refused:
        plan_publication(spec, make_results("hive", "pqt"), live(state), NOW)
    assert words in str(refused.value) and "\n" not in str(refused.value)


@pytest.mark.parametrize(("engine", "refused"), [("Apache Hive 4.0.1", False), ("Spark SQL 4.3.0", True), (None, True)])
def test_drop_and_load_over_a_table_hive_4_translated_is_refused_only_where_a_rename_keeps_its_folder(
    tmp_path: Path, engine: str | None, refused: bool
) -> None:
    """Apache Hive 4's own metastore moves a translated table's folder with a RENAME, which frees
    <database>/<name> for the replacement; Spark's metastore keeps an external table's folder."""
    spec = make_spec(tmp_path, "dropAndLoad")
    state = table(()).with_own(HiveTable, managed=False, kind="external-owned", translated=True)
    view = replace(live(state), engine=engine)
    if refused:
        with pytest.raises(InvalidInput, match="the folder its managed replacement would be renamed into"):
            plan_publication(spec, make_results("hive", "pqt"), view, NOW)
    else:
        publication = plan_publication(spec, make_results("hive", "pqt"), view, NOW)
        assert any("RENAME TO" in getattr(s, "text", "") for s in publication.steps)


SPARK, APACHE = "Spark SQL 4.3.0", "Apache Hive 4.0.1"


def texts(publication: object) -> list[str]:
    return [getattr(s, "text", "") for s in getattr(publication, "steps")]  # noqa: B009


@pytest.mark.parametrize("action", ["createAndLoad", "dropAndLoad"])
def test_on_apache_hive_the_tables_the_publisher_creates_are_external_with_purge(tmp_path: Path, action: str) -> None:
    """Where managed tables are ACID (Cloudera), a plain CREATE TABLE comes out insert-only
    ACID, which every later publication would refuse: on Apache Hive the publisher declares
    its tables EXTERNAL with external.table.purge; on Spark's metastore, which ignores purge,
    they stay managed."""
    spec = make_spec(tmp_path, action)
    state = table(()) if action == "dropAndLoad" else None
    for engine, external in ((APACHE, True), (SPARK, False), (None, False)):
        view = replace(live(state), engine=engine)
        creates = [t for t in texts(plan_publication(spec, make_results("hive", "pqt"), view, NOW)) if "CREATE" in t]
        made = [t for t in creates if "TABLE" in t and "__stage" not in t.split("(")[0]]
        assert made, creates
        for text in made:
            assert text.startswith("CREATE EXTERNAL TABLE") == external, (engine, text)
            assert ("'external.table.purge'='true'" in text) == external, (engine, text)
            assert "LOCATION" not in text  # the database's folder, wherever the metastore keeps it


@pytest.mark.parametrize("action", ["truncateAndLoad", "merge"])
def test_on_apache_hive_a_twin_is_made_external_with_purge_like_its_table(tmp_path: Path, action: str) -> None:
    """Made LIKE an external table, a Hive 4 twin is managed, so ACID under Cloudera's defaults."""
    spec = make_spec(tmp_path, action, **extra(action))
    state = table(()).with_own(HiveTable, managed=False, kind="external-owned")
    for engine, external in ((APACHE, True), (SPARK, False)):
        view = replace(live(state), engine=engine)
        likes = [t for t in texts(plan_publication(spec, make_results("hive", "pqt"), view, NOW)) if " LIKE " in t]
        assert likes
        for text in likes:
            assert text.startswith("CREATE EXTERNAL TABLE") == external, text
            assert text.endswith("TBLPROPERTIES ('external.table.purge'='true')") == external, text


def test_only_spark_is_asked_to_refresh_its_file_lists(tmp_path: Path) -> None:
    """REFRESH TABLE is Spark's (a per-session cache of file lists); Apache Hive has no such
    statement, so its lock step names none."""
    from publisher.model.plan import TakeLock

    spec = make_spec(tmp_path, "load")
    for engine, refreshed in ((SPARK, True), (APACHE, False)):
        publication = plan_publication(spec, make_results("hive", "pqt"), replace(live(table(())), engine=engine), NOW)
        (lock,) = [s for s in publication.steps if isinstance(s, TakeLock)]
        assert bool(lock.refresh) == refreshed, engine


@pytest.mark.parametrize("kind", ["acid", "acid-insert-only"])
def test_acid_tables_take_a_load_on_apache_hive_and_are_refused_a_replacement(tmp_path: Path, kind: str) -> None:
    """INSERT INTO an ACID table commits under Hive's own transactions (Apache Hive); replacing
    its rows (INSERT OVERWRITE, MERGE) would commit them before the publisher counts them, and
    Spark cannot write such a table at all: each refusal says which."""
    state = table(()).with_own(HiveTable, managed=True, kind=kind, transactional=True)
    load = make_spec(tmp_path, "load")
    publication = plan_publication(load, make_results("hive", "pqt"), replace(live(state), engine=APACHE), NOW)
    assert any(t.startswith("INSERT INTO") for t in texts(publication))
    with pytest.raises(InvalidInput, match="Spark cannot read or write it"):
        plan_publication(load, make_results("hive", "pqt"), replace(live(state), engine=SPARK), NOW)
    for action in ("truncateAndLoad", "merge"):
        spec = make_spec(tmp_path, action, **extra(action))
        with pytest.raises(InvalidInput) as refused:
            plan_publication(spec, make_results("hive", "pqt"), replace(live(state), engine=APACHE), NOW)
        message = str(refused.value)
        assert "replaced under Hive's transactions before they could be checked" in message, message
        assert "Spark" not in message and "dropAndLoad" in message
