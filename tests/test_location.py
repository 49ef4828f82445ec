"""A location is a value: parsed once in the spelling an engine printed it, normalised (scheme,
percent-encoding, trailing slash), compared by value, rendered back as Hive reads it."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from publisher.dialects import dialect_for
from publisher.dialects.hive import java_uri_refuses
from publisher.engines.hive_describe import parse_database_location, parse_describe_formatted, parse_location
from publisher.model import location
from publisher.model.location import Location
from publisher.model.plan import CheckLocation, SetLocation, SwitchPartitions
from publisher.model.relation import Relation

AWKWARD = " %'$#{}ü/\\:;@&=+,!~*()[]?\"<>^`|ñ中"
NAMES = st.text(alphabet=st.sampled_from(AWKWARD + "abc0_.-"), min_size=1, max_size=12).filter(
    lambda n: n.strip("/") == n and "/" not in n and n not in (".", "..")
)
# Engines pad DESCRIBE's cells with spaces: a last name ending in one cannot be told from padding.
FOLDERS = (
    st.lists(NAMES, min_size=1, max_size=4).map(lambda names: "/" + "/".join(names)).filter(lambda f: f == f.rstrip())
)


@pytest.mark.parametrize(
    "spelling",
    [
        "file:/w/it's a dir/t",
        "file:///w/it's a dir/t",
        "file://localhost/w/it's a dir/t/",
        "/w/it's a dir/t",
        "file:/w//it's a dir///t/",
    ],
)
def test_every_spelling_of_one_local_folder_is_one_value(spelling: str) -> None:
    assert Location.parse(spelling) == Location("file", "", "/w/it's a dir/t")
    assert str(Location.parse(spelling)) == "file:/w/it's a dir/t"


def test_schemes_and_authorities_are_kept_apart() -> None:
    hdfs = Location.parse("hdfs://nn:8020/w/t/")
    assert (hdfs.scheme, hdfs.authority, hdfs.path, str(hdfs)) == ("hdfs", "nn:8020", "/w/t", "hdfs://nn:8020/w/t")
    assert Location.parse("HDFS://nn:8020/w/t") == hdfs, "a scheme is case-insensitive"
    assert Location.parse("hdfs://other:8020/w/t") != hdfs
    s3a = Location.parse("s3a://bucket/key/t")
    assert (s3a.scheme, s3a.authority, s3a.path) == ("s3a", "bucket", "/key/t")
    assert s3a != Location.parse("s3://bucket/key/t"), "two file systems, two values"
    assert Location.parse("file:/w/t") != Location.parse("hdfs:/w/t")


def test_percent_encoding_is_decoded_only_where_the_engine_printed_a_uri() -> None:
    assert Location.parse("file:/w/100%41") != Location.parse("file:/w/100A"), "a % in a folder's name is the name"
    assert Location.from_uri("file:/w/100%2541") == Location.parse("file:/w/100%41")
    assert Location.from_uri("file:/w/it's%20a%20%C3%BC%20%23x%7B%7D") == Location.parse("file:/w/it's a ü #x{}")


def test_spark_and_hive_output_is_read_in_the_spelling_each_prints() -> None:
    # Spark's DESCRIBE DATABASE: a URI (measured, Spark 4.3); Apache Hive's: a path.
    spark = [("Namespace Name", "d"), ("Location", "file:/tmp/it's%20a%20100%2541%20%C3%BC%20%23x%7B%7D/d.db")]
    assert parse_database_location(spark) == Location.parse("file:/tmp/it's a 100%41 ü #x{}/d.db")
    hive = [("d", "", "hdfs://nn:8020/w/it's a 100%41/d.db", "hive", "USER", "")]
    assert parse_database_location(hive) == Location("hdfs", "nn:8020", "/w/it's a 100%41/d.db")
    # DESCRIBE FORMATTED of a table or a partition: a path on both.
    rows = [
        ("a", "int", None),
        ("", "", ""),
        ("# Detailed Table Information", "", ""),
        ("Location", "file:/w/x y/t/", ""),
    ]
    assert parse_location(rows) == Location.parse("file:/w/x y/t")
    assert parse_describe_formatted(rows).location == Location.parse("file:///w/x y/t")


@given(FOLDERS)
def test_a_folder_printed_as_a_path_or_as_a_uri_is_one_value(folder: str) -> None:
    as_path = Location.parse("file:" + folder)
    assert as_path.path == folder
    assert Location.from_uri("file:" + quote(folder, safe="/'$")) == as_path
    assert Location.parse("file://" + folder) == as_path
    assert Location.parse(folder + "/") == as_path
    assert Location.parse(str(as_path)) == as_path, "rendered as Hive reads it back"


@given(FOLDERS, NAMES)
def test_child_parent_and_inside_agree(folder: str, name: str) -> None:
    home = Location.parse("hdfs://nn" + folder)
    child = home.child(name)
    assert child.parent == home and child.name == name
    assert child.inside(home) and home.inside(home) and not home.inside(child)
    assert child.relative_to(home) == name and child.base_of(name) == home
    assert not Location.parse("hdfs://nn" + folder + "x").inside(home), "a sibling with a longer name"
    assert not Location.parse("hdfs://other" + folder).child(name).inside(home)


@given(FOLDERS)
def test_the_file_system_is_reached_through_one_function(folder: str) -> None:
    assert Location.parse("file://" + folder).local_path() == Path(folder)
    with pytest.raises(ValueError, match="not on the local file system"):
        Location.parse("s3a://b" + folder).local_path()


def test_same_matches_nothing_to_none() -> None:
    assert location.same(Location.parse("/w/t"), Location.parse("file:/w/t/"))
    assert not location.same(None, Location.parse("/w/t")) and not location.same(None, None)


def test_a_relative_location_is_refused() -> None:
    with pytest.raises(ValueError, match="not an absolute location"):
        Location.parse("warehouse/t")


@given(FOLDERS)
def test_sql_gets_a_location_only_through_the_dialects_quoting(folder: str) -> None:
    hive = dialect_for("hive")
    at = Location.parse("file:" + folder)
    statement = hive.set_location(Relation("db", None, "t"), at)
    assert statement == f"ALTER TABLE `db`.`t` SET LOCATION {hive.literal(str(at))}"
    assert hive.location_literal(at) == hive.literal(str(at))


@given(FOLDERS)
def test_plan_steps_keep_their_locations_through_json(folder: str) -> None:
    from publisher.model.plan import step_from_json, step_to_json

    at, twin = Location.parse("file:" + folder), Location.parse("hdfs://nn" + folder)
    steps = (
        CheckLocation("db", "t", at, "check"),
        SetLocation("db", "t", at, twin, "set", "back"),
        SwitchPartitions("db", "t", "t__new", twin, "t__old", True, 3, "switch"),
    )
    for step in steps:
        saved = json.loads(json.dumps(step_to_json(step)))
        assert all(isinstance(saved[f], str) for f in ("location", "previous", "twin_location") if f in saved)
        assert step_from_json(saved, "step") == step


@pytest.mark.parametrize(
    ("text", "refused"),
    [
        ("file:/w/it's$dünï#x/t", None),
        ("file:/w/100%41/t", None),
        ("hdfs://nn:8020/w/t", None),
        ("file:/w/a b/t", "a space"),
        ("file:/w/100%zz/t", "a percent sign not followed by two hex digits"),
        ("file:/w/b{}/t", "the character '{'"),
        ("file:/w/#a#b", "the character '#'"),
        ("file:/w/a\u00a0b", "the character '\\xa0'"),
    ],
)
def test_what_java_net_uri_refuses_is_named(text: str, refused: str | None) -> None:
    assert java_uri_refuses(text) == refused


def test_only_apache_hive_refuses_a_location_that_is_no_uri() -> None:
    hive = dialect_for("hive")
    spaced = Location.parse("file:/w/a b/t")
    assert hive.for_engine("Spark SQL 4.3.0").unsettable_location(spaced) is None
    assert hive.for_engine(None).unsettable_location(spaced) is None
    apache = hive.for_engine("Apache Hive 4.0.1")
    why = apache.unsettable_location(spaced)
    assert why is not None and why.startswith("holds a space, which Apache Hive's ALTER TABLE ... SET LOCATION")
    assert apache.unsettable_location(Location.parse("file:/w/it's_ü/t")) is None


ACTIONS = ("create", "load", "createAndLoad", "truncateAndLoad", "dropAndLoad", "merge")


def _plan(tmp_path: Path, action: str, home: Location, engine: str | None = None, partitioned: bool = False) -> None:
    from dataclasses import replace

    from publisher.planning.planner import plan_publication
    from tests.test_partition_plans import live, make_spec, table
    from tests.test_planner_golden import NOW, make_results

    keys: dict[str, object] = (
        {"mergeKeys": ["order_id", "ship_date"][: 2 if partitioned else 1]} if action == "merge" else {}
    )
    spec = make_spec(tmp_path, action, **keys)
    state = replace(table(("ship_date",) if partitioned else ()), location=home.child("orders"))
    if partitioned:
        state = replace(state, partitions=("ship_date=2026-11-27",))
    view = replace(live(None if action in ("create", "createAndLoad") else state), namespace_location=home)
    plan_publication(spec, make_results("hive", "pqt"), replace(view, engine=engine), NOW)


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("folder", ["b{}", "v${x}", "k[a]"])
def test_a_warehouse_folder_spark_reads_as_a_glob_is_refused_by_every_action(
    tmp_path: Path, action: str, folder: str
) -> None:
    """Measured (Spark 4.3): a table stored under such a folder is created, then every INSERT
    and SELECT fails with PATH_NOT_FOUND. The plan says so in one line before anything runs."""
    from publisher.model.errors import InvalidInput

    home = Location.parse(f"file:/w/{folder}/default.db")
    with pytest.raises(InvalidInput, match="which Spark reads as a Hadoop glob pattern") as refused:
        _plan(tmp_path, action, home)
    assert "\n" not in str(refused.value) and str(home) in str(refused.value)


@pytest.mark.parametrize("partitioned", [False, True])
@pytest.mark.parametrize("action", ACTIONS)
def test_apache_hive_4_refuses_a_swap_into_a_folder_with_a_space_at_plan_time(
    tmp_path: Path, action: str, partitioned: bool
) -> None:
    """Apache Hive 4's SET LOCATION parses its text as a java.net.URI first: a space is refused
    there, and '%20' would name another folder. Actions that set no location still plan; Spark
    takes the same folder."""
    from publisher.model.errors import InvalidInput

    home = Location.parse("file:/w/it's a project/default.db")
    _plan(tmp_path, action, home, "Spark SQL 4.3.0", partitioned)
    if action in ("truncateAndLoad", "merge"):
        with pytest.raises(InvalidInput, match="holds a space, which Apache Hive's ALTER TABLE") as refused:
            _plan(tmp_path, action, home, "Apache Hive 4.0.1", partitioned)
        assert "\n" not in str(refused.value)
    else:
        _plan(tmp_path, action, home, "Apache Hive 4.0.1", partitioned)
