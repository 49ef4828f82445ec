"""The Hive 4 flavour's emulation itself (.ci/hive4/): Apache Hive 4's metastore rules, as
the listeners impose them on Spark's metastore, seen through a HiveServer2 session; and the
same tests on a real Apache Hive 4 (``[hive4real]``, .ci/services/hive4_real.sh), which shows
the emulation follows Hive 4 where it claims to.

The last tests pin how Spark itself behaves on the tables the rules make (translated
external tables): what a publisher running against this flavour meets.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from publisher.engines.hive_describe import _split_describe, parse_describe_formatted, table_properties
from publisher.engines.hive_errors import HiveError
from publisher.model.location import Location
from publisher.model.relation import Relation
from publisher.model.target import HiveTable, Target
from tests.fixtures.hive4 import REAL_HIVE, Warehouses, create_as_cdp, local_path

pytestmark = [pytest.mark.hive, pytest.mark.hive4]

REFUSED = "An external table's location should not be located within managed warehouse root directory"

SPARK_ONLY = "Spark's behaviour, or a listener's device: not a rule of Hive 4's"


def describe(target: Target, database: str, table: str) -> tuple[str, dict[str, str], Location]:
    """The table's type ("MANAGED", "EXTERNAL"), parameters (keys lower-cased) and location.
    Spark prints the type as "Type" and the parameters in one cell ([k=v, k2=v2]), leaving
    EXTERNAL=TRUE out; Hive as "Table Type:" (MANAGED_TABLE, EXTERNAL_TABLE) and one
    ('', key, value) row per parameter."""
    rows = target.fetch(f"DESCRIBE FORMATTED `{database}`.`{table}`")
    details = _split_describe(rows)[1]
    params = table_properties(details)
    kind = (details.get("type") or details.get("table type") or "").upper().removesuffix("_TABLE")
    state = parse_describe_formatted(rows)
    assert state.location is not None
    assert state.of(HiveTable).managed == (kind == "MANAGED")
    return kind, params, state.location


def data_files(folder: Path) -> list[Path]:
    """The data files under ``folder``. Hidden folders are left out, and walked past safely:
    Apache Hive writes through .hive-staging_* folders in the table's folder and deletes them
    while a test may be listing it."""
    found = []
    for root, dirs, names in os.walk(folder):  # os.walk skips a folder that vanished
        dirs[:] = [d for d in dirs if not d.startswith((".", "_"))]
        found += [Path(root) / n for n in names if not n.startswith((".", "_"))]
    return found


def files(folder: Path) -> set[tuple[str, str, int]]:
    """Each data file's path, content hash and modification time."""
    return {(str(p), hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns) for p in data_files(folder)}


# Through HiveServer2 the real Hive 4.0.1 accepts an external table inside the managed
# warehouse, on CREATE and on SET LOCATION: its MetastoreDefaultTransformer checks table paths
# (validateTablePaths) only for clients that declare no capabilities, and HiveServer2 declares
# them. A client without them (Spark against a Hive 4 metastore, which the emulation stands
# for) is refused.
CAPABLE_CLIENT = "HiveServer2 is a client with capabilities: Hive 4 does not check its table paths"


def test_plain_create_table_becomes_external_with_purge_in_the_external_warehouse(
    hive4_target: Target, hive4_database: str, hive4_warehouses: Warehouses
) -> None:
    hive4_target.execute(f"CREATE TABLE `{hive4_database}`.t (id INT, name STRING) STORED AS PARQUET")

    kind, params, location = describe(hive4_target, hive4_database, "t")
    # Spark shows the metastore's EXTERNAL=TRUE as the table's type and leaves it out of the
    # properties it prints.
    assert kind == "EXTERNAL"
    assert {k: params.get(k) for k in ("external.table.purge", "translated_to_external")} == {
        "external.table.purge": "true",
        "translated_to_external": "true",
    }
    assert local_path(location) == hive4_warehouses.database(hive4_database) / "t"
    assert local_path(location).is_dir()
    assert not (hive4_warehouses.managed / f"{hive4_database}.db" / "t").exists()


def test_insert_and_select_use_the_external_warehouse(
    hive4_target: Target, hive4_database: str, hive4_warehouses: Warehouses, hive4_flavour: str
) -> None:
    t = f"`{hive4_database}`.t"
    hive4_target.execute(f"CREATE TABLE {t} (id INT, name STRING) STORED AS PARQUET")
    hive4_target.execute(f"INSERT INTO {t} VALUES (1, 'a'), (2, 'b')")
    hive4_target.execute(f"INSERT INTO {t} VALUES (3, 'c')")

    assert sorted(hive4_target.fetch(f"SELECT id, name FROM {t}")) == [(1, "a"), (2, "b"), (3, "c")]
    moved = hive4_warehouses.database(hive4_database) / "t"
    inserted = files(moved)
    assert inserted
    assert data_files(hive4_warehouses.managed / f"{hive4_database}.db") == []

    hive4_target.execute(f"INSERT OVERWRITE TABLE {t} SELECT 9, 'z'")
    if hive4_flavour not in REAL_HIVE:
        hive4_target.execute(f"REFRESH TABLE {t}")  # Spark's cached file list; Hive has none
    assert hive4_target.fetch(f"SELECT id, name FROM {t}") == [(9, "z")]
    overwritten = files(moved)
    # Not one file kept: Hive writes 000000_0 again, with other bytes; Spark new names.
    assert overwritten and not overwritten & inserted


@pytest.mark.parametrize("using", ["STORED AS PARQUET", "USING parquet"])
def test_create_table_as_select_writes_into_the_external_warehouse(
    hive4_target: Target, hive4_database: str, hive4_warehouses: Warehouses, using: str, hive4_flavour: str
) -> None:
    if using.startswith("USING") and hive4_flavour in REAL_HIVE:
        pytest.skip("USING is Spark's datasource syntax; Hive's grammar has no such clause")
    # A Hive table is created, then written; a Spark datasource table (USING) is written
    # first, at the managed default, and moved by the listener with its files.
    hive4_target.execute(f"CREATE TABLE `{hive4_database}`.c {using} AS SELECT 1 AS id, 'a' AS name")

    kind, params, location = describe(hive4_target, hive4_database, "c")
    assert (kind, params.get("translated_to_external")) == ("EXTERNAL", "true")
    assert local_path(location) == hive4_warehouses.database(hive4_database) / "c"
    assert hive4_target.fetch(f"SELECT id, name FROM `{hive4_database}`.c") == [(1, "a")]
    assert data_files(local_path(location))
    assert data_files(hive4_warehouses.managed / f"{hive4_database}.db") == []


def test_external_table_inside_the_managed_warehouse_is_refused(
    hive4_target: Target, hive4_database: str, hive4_warehouses: Warehouses, hive4_flavour: str
) -> None:
    inside = hive4_warehouses.managed / "somewhere" / "x"
    if hive4_flavour in REAL_HIVE:
        create = f"CREATE EXTERNAL TABLE `{hive4_database}`.x (id INT) STORED AS PARQUET LOCATION '{inside}'"
        hive4_target.execute(create)  # CAPABLE_CLIENT
        assert hive4_target.table_names(Relation(hive4_database, None, "x")) == {"x"}
        return
    with pytest.raises(HiveError, match=REFUSED) as refused:
        hive4_target.execute(
            f"CREATE EXTERNAL TABLE `{hive4_database}`.x (id INT) STORED AS PARQUET LOCATION '{inside}'"
        )
    assert "\n" not in str(refused.value)  # one clean line reaches the caller
    assert hive4_target.table_names(Relation(hive4_database, None, "x")) == set()


def test_set_location_inside_the_managed_warehouse_is_refused(
    hive4_target: Target, hive4_database: str, hive4_warehouses: Warehouses, tmp_path: Path, hive4_flavour: str
) -> None:
    outside = tmp_path / "outside"
    t = f"`{hive4_database}`.e"
    hive4_target.execute(f"CREATE EXTERNAL TABLE {t} (id INT) STORED AS PARQUET LOCATION '{outside}'")
    if hive4_flavour in REAL_HIVE:
        hive4_target.execute(f"ALTER TABLE {t} SET LOCATION '{hive4_warehouses.managed / 'x'}'")  # CAPABLE_CLIENT
        assert local_path(describe(hive4_target, hive4_database, "e")[2]) == hive4_warehouses.managed / "x"
        return

    with pytest.raises(HiveError, match=REFUSED):
        hive4_target.execute(f"ALTER TABLE {t} SET LOCATION '{hive4_warehouses.managed / 'x'}'")
    assert local_path(describe(hive4_target, hive4_database, "e")[2]) == outside

    # A translated table is no exception: into the managed warehouse it may not go either.
    hive4_target.execute(f"CREATE TABLE `{hive4_database}`.p (id INT) STORED AS PARQUET")
    with pytest.raises(HiveError, match=REFUSED):
        hive4_target.execute(
            f"ALTER TABLE `{hive4_database}`.p SET LOCATION '{hive4_warehouses.managed / hive4_database / 'p'}'"
        )

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()  # Spark fails SET LOCATION to a missing folder (after changing it)
    hive4_target.execute(f"ALTER TABLE {t} SET LOCATION '{elsewhere}'")
    assert local_path(describe(hive4_target, hive4_database, "e")[2]) == elsewhere


def test_drop_of_a_purge_table_deletes_its_folder(
    hive4_target: Target, hive4_database: str, hive4_warehouses: Warehouses, tmp_path: Path
) -> None:
    hive4_target.execute(f"CREATE TABLE `{hive4_database}`.t (id INT) STORED AS PARQUET")
    hive4_target.execute(f"INSERT INTO `{hive4_database}`.t VALUES (1)")
    folder = hive4_warehouses.database(hive4_database) / "t"
    assert data_files(folder)

    # And an external table the user made with purge, outside the warehouses.
    chosen = tmp_path / "chosen"
    hive4_target.execute(
        f"CREATE EXTERNAL TABLE `{hive4_database}`.u (id INT) STORED AS PARQUET LOCATION '{chosen}'"
        " TBLPROPERTIES ('external.table.purge' = 'true')"
    )
    hive4_target.execute(f"INSERT INTO `{hive4_database}`.u VALUES (1)")
    assert data_files(chosen)

    hive4_target.execute(f"DROP TABLE `{hive4_database}`.t")
    hive4_target.execute(f"DROP TABLE `{hive4_database}`.u")
    assert not folder.exists()
    assert not chosen.exists()


def test_drop_of_an_external_table_without_purge_keeps_its_folder(
    hive4_target: Target, hive4_database: str, tmp_path: Path
) -> None:
    for name, purge in (("unset", ""), ("false", " TBLPROPERTIES ('external.table.purge' = 'false')")):
        kept = tmp_path / name
        hive4_target.execute(
            f"CREATE EXTERNAL TABLE `{hive4_database}`.e (id INT) STORED AS PARQUET LOCATION '{kept}'{purge}"
        )
        hive4_target.execute(f"INSERT INTO `{hive4_database}`.e VALUES (1)")
        written = set(data_files(kept))
        hive4_target.execute(f"DROP TABLE `{hive4_database}`.e")
        assert written and set(data_files(kept)) == written


def test_create_as_cdp_makes_an_insert_only_acid_table(
    hive4_target: Target, hive4_database: str, hive4_flavour: str
) -> None:
    if hive4_flavour in REAL_HIVE:
        pytest.skip(SPARK_ONLY)
    create_as_cdp(hive4_target, hive4_database, "acid", "id INT, name STRING")

    kind, params, _ = describe(hive4_target, hive4_database, "acid")
    assert kind == "MANAGED"
    assert (params.get("transactional"), params.get("transactional_properties")) == ("true", "insert_only")
    assert "publisher.test.make-as" not in params
    state = parse_describe_formatted(hive4_target.fetch(f"DESCRIBE FORMATTED `{hive4_database}`.acid"))
    assert (state.of(HiveTable).managed, state.of(HiveTable).transactional) == (True, True)


def test_a_cdp_table_refuses_every_alter(hive4_target: Target, hive4_database: str, hive4_flavour: str) -> None:
    if hive4_flavour in REAL_HIVE:
        pytest.skip(SPARK_ONLY)
    # Hive 2.3's TransactionalValidationListener checks ALTERs: only plans, not applies,
    # can be tested against such a table.
    create_as_cdp(hive4_target, hive4_database, "acid", "id INT")
    with pytest.raises(HiveError, match="must be bucketed and stored using an ACID compliant format"):
        hive4_target.execute(f"ALTER TABLE `{hive4_database}`.acid ADD COLUMNS (b INT)")


# How Spark behaves on translated tables: facts a publisher meets on this flavour.


def test_spark_refuses_truncate_of_a_translated_table(
    hive4_target: Target, hive4_database: str, hive4_flavour: str
) -> None:
    hive4_target.execute(f"CREATE TABLE `{hive4_database}`.t (id INT) STORED AS PARQUET")
    if hive4_flavour in REAL_HIVE:
        # Hive 4 truncates an external table with external.table.purge=true; Spark refuses.
        hive4_target.execute(f"INSERT INTO `{hive4_database}`.t VALUES (1)")
        hive4_target.execute(f"TRUNCATE TABLE `{hive4_database}`.t")
        assert hive4_target.fetch(f"SELECT COUNT(*) FROM `{hive4_database}`.t") == [(0,)]
        return
    with pytest.raises(HiveError, match="CANNOT_TRUNCATE_EXTERNAL_TABLE|external table"):
        hive4_target.execute(f"TRUNCATE TABLE `{hive4_database}`.t")


def test_rename_of_a_translated_table_moves_its_folder(
    hive4_target: Target, hive4_database: str, hive4_warehouses: Warehouses
) -> None:
    # Hive 4's metastore.metadata.transformer.translated.to.external.follows.renames (default
    # true); Spark's own metastore would leave the files in t's folder.
    db = hive4_warehouses.database(hive4_database)
    hive4_target.execute(f"CREATE TABLE `{hive4_database}`.t (id INT) STORED AS PARQUET")
    hive4_target.execute(f"INSERT INTO `{hive4_database}`.t VALUES (1)")
    hive4_target.execute(f"ALTER TABLE `{hive4_database}`.t RENAME TO `{hive4_database}`.r")

    assert local_path(describe(hive4_target, hive4_database, "r")[2]) == db / "r"
    assert not (db / "t").exists() and data_files(db / "r")
    assert hive4_target.fetch(f"SELECT id FROM `{hive4_database}`.r") == [(1,)]

    # A new t gets a folder of its own, and r's files stay r's.
    hive4_target.execute(f"CREATE TABLE `{hive4_database}`.t (id INT) STORED AS PARQUET")
    assert hive4_target.fetch(f"SELECT id FROM `{hive4_database}`.t") == []

    # Hive refuses a rename whose new default folder exists already.
    (db / "taken").mkdir()
    with pytest.raises(HiveError, match="already exists"):
        hive4_target.execute(f"ALTER TABLE `{hive4_database}`.t RENAME TO `{hive4_database}`.taken")


def test_rename_of_a_partitioned_translated_table_keeps_its_folder(
    hive4_target: Target, hive4_database: str, hive4_warehouses: Warehouses, hive4_flavour: str
) -> None:
    if hive4_flavour in REAL_HIVE:
        pytest.skip("an emulation gap: Hive 4 moves the partitions' folders too (HIVE-26158)")
    # Not emulated: Hive 4 moves the partitions' folders too (HIVE-26158).
    db = hive4_warehouses.database(hive4_database)
    hive4_target.execute(f"CREATE TABLE `{hive4_database}`.t (id INT) PARTITIONED BY (dt STRING) STORED AS PARQUET")
    hive4_target.execute(f"INSERT INTO `{hive4_database}`.t PARTITION (dt = 'a') VALUES (1)")
    hive4_target.execute(f"ALTER TABLE `{hive4_database}`.t RENAME TO `{hive4_database}`.r")

    assert local_path(describe(hive4_target, hive4_database, "r")[2]) == db / "t"
    assert hive4_target.fetch(f"SELECT id, dt FROM `{hive4_database}`.r") == [(1, "a")]


def test_spark_create_table_like_a_translated_table_is_translated_too(
    hive4_target: Target, hive4_database: str, hive4_warehouses: Warehouses
) -> None:
    hive4_target.execute(f"CREATE TABLE `{hive4_database}`.t (id INT) STORED AS PARQUET")
    hive4_target.execute(f"CREATE TABLE `{hive4_database}`.l LIKE `{hive4_database}`.t")

    kind, params, location = describe(hive4_target, hive4_database, "l")
    assert (kind, params.get("translated_to_external")) == ("EXTERNAL", "true")
    assert local_path(location) == hive4_warehouses.database(hive4_database) / "l"
