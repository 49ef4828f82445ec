"""Golden plans: every action x target x format, planned with a fixed clock and target state,
compared byte for byte with tests/golden/. A reviewer reads these as they would read a plan.

UPDATE_GOLDEN=1 rewrites the files; review the diff before committing it.
"""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal  # noqa: F401  (documents the decimal column below)
from pathlib import Path

import pyarrow as pa
import pytest

from publisher.inputs.config import load_config
from publisher.inputs.spec import Spec, load_specs
from publisher.model.errors import InvalidInput
from publisher.model.location import Location
from publisher.model.plan import Plan, Publication, plan_from_json, plan_to_json
from publisher.model.target import ColumnState, HiveTable, RedshiftTable, TableFacts, TableState
from publisher.model.vocabulary import ACTIONS, TARGET_TYPES
from publisher.planning.planner import PlanInput, plan_all, plan_publication
from publisher.planning.view import TargetView
from publisher.reports.render import publication_text
from publisher.results import Column, ResultFile, Results
from publisher.targets import TARGETS

GOLDEN = Path(__file__).parent / "golden"
CASES = Path(__file__).parent / "cases"
NOW = datetime(2026, 11, 28, 12, 0, 0, tzinfo=UTC)
COLUMNS = (
    Column("order_id", pa.int64(), False),
    Column("customer_id", pa.int32(), True),
    Column("amount", pa.decimal128(10, 2), True),
    Column("ordered_at", pa.timestamp("us", tz="UTC"), True),
    Column("ship_date", pa.date32(), True),
    Column("status", pa.string(), True),
)
# The existing table: customer_id is BIGINT there, so INT results widen into it.
TABLE_TYPES = {
    "hive": ["bigint", "bigint", "decimal(10,2)", "timestamp", "date", "string"],
    "redshift": ["bigint", "bigint", "numeric(10,2)", "timestamp with time zone", "date", "character varying(65535)"],
}
HIVE_DATABASE_LOCATION = Location.parse("hdfs://warehouse/default.db")
HIVE_LOCATION = HIVE_DATABASE_LOCATION.child("orders")
LOCATIONS = {"hive": "/data/results/31/27/", "redshift": "s3://results-bucket/jobs/31/27/"}
CONNECTIONS = {"hive": "local", "redshift": "analytics"}
DATABASES = {"hive": "default", "redshift": "dev"}


def round_tripped(publication: Publication) -> Publication:
    """The publication, after checking that its saved plan reads back as the same plan: a
    field that does not (a list where a tuple was) makes every saved plan of it stale."""
    plan = Plan("2026-11-28T12:00:00Z", False, (publication,))
    assert plan_from_json(plan_to_json(plan)) == plan
    return publication


def make_spec(tmp_path: Path, target: str, action: str, fmt: str, extra: str = "") -> Spec:
    source = f"source: {LOCATIONS[target]}\n{extra}" if target == "redshift" else extra
    if action == "merge":
        source += "mergeKeys: [order_id]\n"
    table = "analytics.orders" if target == "redshift" else "orders"
    text = (
        f"jobGroup: 31\nflowNodeId: 27\nconnection: {{name: {CONNECTIONS[target]}}}\npath: [{DATABASES[target]}]\n"
        f"table: {table}\naction: {action}\ninputFormat: {fmt}\n{source}"
    )
    path = tmp_path / "spec.yaml"
    path.write_text(text)
    specs, problems = load_specs([path], load_config(CASES / "publisher.yaml"))
    assert not problems, problems
    return specs[0]


# NULLs per column as Parquet footer statistics give them (None: a column without statistics).
PARQUET_NULLS = {"order_id": 0, "customer_id": 3, "amount": 10, "ordered_at": None, "ship_date": 0, "status": 7}
AVRO_SCHEMA = '{"type":"record","name":"Order","fields":[{"name":"order_id","type":"long"}]}'  # shortened


def make_results(target: str, fmt: str) -> Results:
    location = LOCATIONS[target]
    sized = fmt in ("pqt", "avro")
    files = tuple(
        ResultFile(f"{location}part-{i:05d}.{fmt}", 1000 + i, f"v{i}", 500 if sized else None) for i in range(2)
    )
    if fmt == "pqt":
        columns = tuple(replace(c, null_count=PARQUET_NULLS[c.name]) for c in COLUMNS)
    elif fmt == "avro":  # a field that is no union with null holds no NULLs
        columns = tuple(replace(c, null_count=None if c.nullable else 0) for c in COLUMNS)
    else:
        columns = COLUMNS
    return Results(location, fmt, files, columns, AVRO_SCHEMA if fmt == "avro" else None)  # type: ignore[arg-type]


def view(target: str, action: str) -> TargetView:
    columns = tuple(ColumnState(c.name, t) for c, t in zip(COLUMNS, TABLE_TYPES[target], strict=True))
    hive = target == "hive"
    if hive:
        state = TableState(columns, "parquet", HIVE_LOCATION, own=HiveTable(managed=True))
    else:  # Redshift inspection reads comments, encodings, NOT NULL, defaults, keys: here none
        state = TableState(columns, own=RedshiftTable(facts=TableFacts()))
    exists = action in ("load", "truncateAndLoad", "dropAndLoad", "merge")
    return TargetView(
        True,
        state if exists else None,
        frozenset({"orders"} if exists else set()),
        ledger_exists=True,
        ledger_partitioned=hive,  # as this version makes Hive ledgers
        namespace_location=HIVE_DATABASE_LOCATION if hive else None,
    )


CASES_MATRIX = [(t, a, f) for t, target in TARGETS.items() for a in ACTIONS for f in target.input_formats]


@pytest.mark.parametrize(("target", "action", "fmt"), CASES_MATRIX, ids=["-".join(c) for c in CASES_MATRIX])
def test_golden_plan(tmp_path: Path, target: str, action: str, fmt: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    spec = make_spec(tmp_path, target, action, fmt)
    # As a plan of one spec: with the Hive ledger's compaction, which the plan's last publication does.
    publications, problems = plan_all([PlanInput(spec, make_results(target, fmt), view(target, action))], NOW)
    assert not problems
    text = publication_text(1, round_tripped(publications[0])).replace(str(tmp_path) + "/", "") + "\n"
    golden = GOLDEN / target / f"{action}_{fmt}.txt"
    if os.environ.get("UPDATE_GOLDEN"):
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(text)
    assert text == golden.read_text()


EVOLVING = [(t, a) for t in TARGET_TYPES for a in ("load", "truncateAndLoad", "merge")]


@pytest.mark.parametrize(("target", "action"), EVOLVING, ids=["-".join(c) for c in EVOLVING])
def test_golden_plan_add_columns(tmp_path: Path, target: str, action: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """onSchemaChange: addColumns into a table that lacks the results' status and has a note
    column the results lack: status added before the rows move, note left out of the insert."""
    monkeypatch.chdir(tmp_path)
    spec = make_spec(tmp_path, target, action, "pqt", "onSchemaChange: addColumns\n")
    seen = view(target, action)
    assert seen.table is not None
    note = ColumnState("note", "string" if target == "hive" else "character varying(20)")
    seen = replace(seen, table=replace(seen.table, columns=(*seen.table.columns[:-1], note)))
    publication = plan_publication(spec, make_results(target, "pqt"), seen, NOW)
    text = publication_text(1, round_tripped(publication)).replace(str(tmp_path) + "/", "") + "\n"
    golden = GOLDEN / target / f"add_columns_{action}.txt"
    if os.environ.get("UPDATE_GOLDEN"):
        golden.write_text(text)
    assert text == golden.read_text()
    without = make_spec(tmp_path, target, action, "pqt")
    with pytest.raises(InvalidInput, match="missing column note .* extra column status .* onSchemaChange: addColumns"):
        plan_publication(without, make_results(target, "pqt"), seen, NOW)


def published_view(target: str, action: str, spec: Spec) -> TargetView:
    """The target's ledger holds this very spec as published."""
    from publisher.planning import ledger

    entry = ledger.Entry(
        *vars(spec.id).values(), "done", "orders", 1000, None, "20261127090000", None, "spec.yaml",
        spec.content_hash, "", "run", "2026-11-27 09:00:00",
    )  # fmt: skip
    return replace(view(target, action), entries=(entry,))


SPECIAL = ["offline", "published", "forced"]


@pytest.mark.parametrize("case", SPECIAL)
@pytest.mark.parametrize("target", TARGET_TYPES)
def test_golden_plan_offline_published_and_forced(
    tmp_path: Path, target: str, case: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """truncateAndLoad planned offline (no target read), already published (nothing to run),
    and published but forced (--force: no ledger guard, published again)."""
    monkeypatch.chdir(tmp_path)
    spec = make_spec(tmp_path, target, "truncateAndLoad", "pqt")
    seen = None if case == "offline" else published_view(target, "truncateAndLoad", spec)
    publication = plan_publication(spec, make_results(target, "pqt"), seen, NOW, force=case == "forced")
    text = publication_text(1, round_tripped(publication)).replace(str(tmp_path) + "/", "") + "\n"
    golden = GOLDEN / target / f"truncateAndLoad_pqt_{case}.txt"
    if os.environ.get("UPDATE_GOLDEN"):
        golden.write_text(text)
    assert text == golden.read_text()


def test_the_hive_ledger_is_compacted_once_a_plan_and_an_older_ledger_gets_a_note(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    spec = make_spec(tmp_path, "hive", "load", "pqt")
    results = make_results("hive", "pqt")
    current = view("hive", "load")
    publications, problems = plan_all([PlanInput(spec, results, current), PlanInput(spec, results, current)], NOW)
    assert not problems
    kinds = [[type(s).__name__ for s in p.steps] for p in publications]
    assert [k.count("CompactLedger") for k in kinds] == [0, 1]  # by the last publication into the connection
    assert kinds[1][-1] == "CompactLedger"
    records = [s.text for s in publications[1].steps if s.purpose.startswith("record the")]
    assert len(records) == 2 and all("PARTITION (`written` = :day)" in r for r in records)

    older = replace(current, ledger_partitioned=False)  # made by a version before the partitioned ledger
    (publication,), _ = plan_all([PlanInput(spec, results, older)], NOW)
    assert not [s for s in publication.steps if type(s).__name__ == "CompactLedger"]
    assert not [s for s in publication.steps if "PARTITION" in getattr(s, "text", "")]
    assert any("not partitioned by day" in n for n in publication.notes)

    redshift = make_spec(tmp_path, "redshift", "load", "pqt")
    (publication,), _ = plan_all([PlanInput(redshift, make_results("redshift", "pqt"), view("redshift", "load"))], NOW)
    assert not [s for s in publication.steps if type(s).__name__ == "CompactLedger"]
    assert not publication.notes or not any("partitioned by day" in n for n in publication.notes)
