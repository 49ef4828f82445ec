"""Partitioned Hive tables, planned: golden plans of each way rows go into partitions, and
what the plan refuses (one line, with the alternative) before anything runs.

UPDATE_GOLDEN=1 rewrites the golden files; review the diff before committing it.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml

from publisher.inputs.config import load_config
from publisher.inputs.spec import Spec, load_specs
from publisher.model.errors import InvalidInput
from publisher.model.target import ColumnState, HiveTable, TableState
from publisher.planning.planner import plan_publication
from publisher.planning.view import TargetView
from publisher.reports.render import publication_text
from tests.test_planner_golden import (
    CASES,
    COLUMNS,
    GOLDEN,
    HIVE_DATABASE_LOCATION,
    HIVE_LOCATION,
    NOW,
    TABLE_TYPES,
    make_results,
    round_tripped,
)

FOLDER = GOLDEN / "hive" / "partitions"


def make_spec(tmp_path: Path, action: str, **extra: Any) -> Spec:
    keys = {"jobGroup": 31, "flowNodeId": 27, "connection": {"name": "local"}, "path": ["default"]}
    keys |= {"table": "orders", "action": action, "inputFormat": "pqt", **extra}
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(keys, sort_keys=False))
    specs, problems = load_specs([path], load_config(CASES / "publisher.yaml"))
    assert not problems, problems
    return specs[0]


def table(partition_columns: tuple[str, ...], lacking: tuple[ColumnState, ...] = ()) -> TableState:
    """The orders table, partitioned by ``partition_columns`` (listed last, as Hive does);
    ``lacking``: partition columns the results do not have."""
    columns = {c.name: ColumnState(c.name, t) for c, t in zip(COLUMNS, TABLE_TYPES["hive"], strict=True)}
    columns |= {c.name: c for c in lacking}
    data = tuple(c for name, c in columns.items() if name not in partition_columns)
    ordered = data + tuple(columns[name] for name in partition_columns)
    return TableState(
        ordered, "parquet", HIVE_LOCATION, partition_columns=partition_columns, own=HiveTable(managed=True)
    )


def live(state: TableState | None) -> TargetView:
    names = frozenset({"orders"} if state else set())
    return TargetView(True, state, names, ledger_exists=True, namespace_location=HIVE_DATABASE_LOCATION)


DT = ColumnState("dt", "string")
SHIP_DATES = ("ship_date=2026-11-26", "ship_date=2026-11-27")
PINNED = {"ship_date": frozenset({"2026-11-27", "2026-11-28"})}  # as Parquet statistics give them
CASES_PARTITIONED = {
    "createAndLoad_partitionBy": ("createAndLoad", {"partitionBy": ["ship_date"]}, None),
    "createAndLoad_static": ("createAndLoad", {"partition": {"dt": "2026-12-01"}, "columnTypes": {"dt": "DATE"}}, None),
    "dropAndLoad_keeps_partitioning": ("dropAndLoad", {}, table(("ship_date",))),
    "load_dynamic": ("load", {}, table(("ship_date",))),
    "load_static": ("load", {"partition": {"dt": "2026-12-01"}}, table(("dt",), (DT,))),
    "truncateAndLoad_table": ("truncateAndLoad", {}, replace(table(("ship_date",)), partitions=SHIP_DATES)),
    "truncateAndLoad_partitions": (
        "truncateAndLoad",
        {"overwrite": "partitions"},
        replace(table(("ship_date",)), partitions=SHIP_DATES),
    ),
    "truncateAndLoad_unpinned": ("truncateAndLoad", {}, replace(table(("status",)), partitions=("status=new",))),
    "truncateAndLoad_static": (
        "truncateAndLoad",
        {"partition": {"dt": "2026-12-01"}},
        replace(table(("dt",), (DT,)), partitions=("dt=2026-11-30",)),
    ),
    "merge_dynamic": (
        "merge",
        {"mergeKeys": ["order_id", "ship_date"]},
        replace(table(("ship_date",)), partitions=SHIP_DATES),
    ),
    "merge_static": (
        "merge",
        {"mergeKeys": ["order_id"], "partition": {"dt": "2026-12-01"}},
        replace(table(("dt",), (DT,)), partitions=("dt=2026-11-30",)),
    ),
}


@pytest.mark.parametrize("case", list(CASES_PARTITIONED))
def test_golden_partitioned_plan(tmp_path: Path, case: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    action, extra, state = CASES_PARTITIONED[case]
    spec = make_spec(tmp_path, action, **extra)
    results = make_results("hive", "pqt")
    results = replace(results, columns=tuple(replace(c, values=PINNED.get(c.name)) for c in results.columns))
    publication = plan_publication(spec, results, live(state), NOW)
    text = publication_text(1, round_tripped(publication)).replace(str(tmp_path) + "/", "") + "\n"
    golden = FOLDER / f"{case}.txt"
    if os.environ.get("UPDATE_GOLDEN"):
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(text)
    assert text == golden.read_text()


DATE_DT = ColumnState("dt", "date")
REFUSED = {
    "partitionBy differs": (
        "load",
        {"partitionBy": ["status"]},
        table(("ship_date",)),
        "partitionBy (status) differs from table default.orders's partition columns (ship_date)",
    ),
    "partitionBy not a column": (
        "createAndLoad",
        {"partitionBy": ["region"]},
        None,
        "partitionBy names region, not among the results' columns",
    ),
    "static value of the wrong type": (
        "load",
        {"partition": {"dt": "2026-13-01"}},
        table(("dt",), (DATE_DT,)),
        "partition: dt='2026-13-01' is not a DATE value",
    ),
    "static column the results have": (
        "load",
        {"partition": {"ship_date": "2026-12-01"}},
        table(("ship_date",)),
        "partition names ship_date, which the results have as a column",
    ),
    "partition column the results lack": (
        "load",
        {},
        table(("dt",), (DT,)),
        "table default.orders is partitioned by dt, which the results lack: give its value in the spec",
    ),
    "partitions on a table without": (
        "truncateAndLoad",
        {"overwrite": "partitions", "partitionBy": ["ship_date"]},
        table(()),
        "table default.orders is not partitioned, but the spec gives partitionBy",
    ),
    "merge keys without the partition column": (
        "merge",
        {"mergeKeys": ["order_id"]},
        table(("ship_date",)),
        "mergeKeys must include its partition columns (ship_date missing)",
    ),
    "every column a partition": (
        "createAndLoad",
        {"partitionBy": [c.name for c in COLUMNS]},
        None,
        "every result column would be a partition column",
    ),
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_what_the_plan_knows_about_partitions_is_refused_in_one_line(
    tmp_path: Path, case: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    action, extra, state, message = REFUSED[case]
    spec = make_spec(tmp_path, action, **extra)
    with pytest.raises(InvalidInput) as raised:
        plan_publication(spec, make_results("hive", "pqt"), live(state), NOW)
    assert message in str(raised.value)
    assert "\n" not in str(raised.value)


def test_a_static_partition_before_a_dynamic_one_is_required(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Hive needs static partition columns first: (ship_date, dt='...') cannot be written."""
    monkeypatch.chdir(tmp_path)
    state = table(("ship_date", "dt"), (DT,))
    spec = make_spec(tmp_path, "load", partition={"dt": "2026-12-01"})
    with pytest.raises(InvalidInput, match="Hive needs static partition columns first"):
        plan_publication(spec, make_results("hive", "pqt"), live(state), NOW)


@pytest.mark.parametrize(
    ("case", "static"),
    [("load_static", (("dt", "string"),)), ("createAndLoad_static", (("dt", "DATE"),)), ("load_dynamic", ())],
)
def test_the_publication_names_its_static_partition_columns_apart(
    tmp_path: Path, case: str, static: tuple[tuple[str, str], ...], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The table's columns a static partition fills (lineage's schema has them; no result column
    feeds them): apart from the data columns written, and kept by a saved plan."""
    monkeypatch.chdir(tmp_path)
    action, extra, state = CASES_PARTITIONED[case]
    publication = plan_publication(make_spec(tmp_path, action, **extra), make_results("hive", "pqt"), live(state), NOW)
    assert publication.static_partitions == static
    assert not {name for name, _ in static} & {name for name, _ in publication.columns}
    assert round_tripped(publication).static_partitions == static
