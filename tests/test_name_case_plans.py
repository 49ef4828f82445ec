"""Names as the table holds them (issue 25 item 4): the publisher writes names in lower case on
both targets (results whose names collide once folded are refused when inspected:
tests/test_names.py), so the plan shows each renamed column as the table holds it, and a table
whose columns are stored with capitals (made where Redshift's enable_case_sensitive_identifier
was on) is refused for the actions that write into it, whatever the connection's setting. The
engine's side (the setting read once per connection, capitals read from the catalog) runs
against the stand-in in tests/integration/test_column_names.py."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pyarrow as pa
import pytest

from publisher.model.errors import InvalidInput
from publisher.model.target import ColumnState, RedshiftTable, TableFacts, TableState
from publisher.planning.planner import plan_publication
from publisher.reports.render import publication_text
from publisher.results import Column
from tests.test_planner_golden import NOW, make_results, make_spec, view


def with_columns(target: str, fmt: str, *names: str) -> object:
    results = make_results(target, fmt)
    columns = tuple(Column(n, pa.int64(), True, null_count=0) for n in names)
    return replace(results, columns=columns)


@pytest.mark.parametrize(
    ("keeps_case", "said"),
    [
        (None, ""),
        (False, " (this connection has enable_case_sensitive_identifier off)"),
        (True, " (this connection has enable_case_sensitive_identifier on)"),
    ],
)
def test_the_plan_shows_renamed_columns_as_the_table_holds_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, keeps_case: bool | None, said: str
) -> None:
    monkeypatch.chdir(tmp_path)
    spec = make_spec(tmp_path, "redshift", "createAndLoad", "pqt")
    results = with_columns("redshift", "pqt", "OrderId", "amount", "ShipDate")
    live = None if keeps_case is None else replace(view("redshift", "createAndLoad"), keeps_case=keeps_case)
    publication = plan_publication(spec, results, live, NOW)  # type: ignore[arg-type]
    note = (
        "the table holds the columns OrderId as orderid, ShipDate as shipdate: the publisher writes names in lower case"
    )
    assert note + said in publication.notes
    text = publication_text(1, publication)
    assert '"orderid" BIGINT' in text and '"OrderId"' not in text
    assert 'COUNT("orderid")' in text  # the values checked after the load, under the folded name


def test_no_note_where_no_name_changes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    spec = make_spec(tmp_path, "redshift", "createAndLoad", "pqt")
    publication = plan_publication(spec, make_results("redshift", "pqt"), view("redshift", "createAndLoad"), NOW)
    assert not [n for n in publication.notes if "lower case" in n]


def cased_table(target_view: object) -> object:
    columns = (ColumnState("orderid", "bigint"), ColumnState("amount", "bigint"))
    own = RedshiftTable(facts=TableFacts(), cased_columns=("OrderId",))
    return replace(target_view, table=TableState(columns, own=own))  # type: ignore[type-var]


@pytest.mark.parametrize("action", ["load", "truncateAndLoad", "merge"])
@pytest.mark.parametrize("keeps_case", [False, True])
def test_a_table_with_columns_stored_in_capitals_is_refused_for_writing_into(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, action: str, keeps_case: bool
) -> None:
    monkeypatch.chdir(tmp_path)
    spec = make_spec(tmp_path, "redshift", action, "pqt")
    if action == "merge":
        spec = replace(spec, merge_keys=("orderid",))
    results = with_columns("redshift", "pqt", "OrderId", "amount")
    live = cased_table(replace(view("redshift", action), keeps_case=keeps_case))
    with pytest.raises(InvalidInput) as excinfo:
        plan_publication(spec, results, live, NOW)  # type: ignore[arg-type]
    message = excinfo.value.message
    assert message.startswith(f"{action}: table dev.analytics.orders has column(s) OrderId stored with capitals")
    assert message.endswith("or dropAndLoad recreates the table from the results")
    assert ("no session can name them" in message) == (not keeps_case)


def test_drop_and_load_recreates_a_table_with_columns_in_capitals(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    spec = make_spec(tmp_path, "redshift", "dropAndLoad", "pqt")
    results = with_columns("redshift", "pqt", "OrderId", "amount")
    live = cased_table(replace(view("redshift", "dropAndLoad"), keeps_case=False))
    publication = plan_publication(spec, results, live, NOW)  # type: ignore[arg-type]
    assert publication.status == "pending"


@pytest.mark.parametrize("action", ["load", "truncateAndLoad", "merge", "dropAndLoad"])
@pytest.mark.parametrize("keeps_case", [False, True])
def test_a_table_stored_with_capitals_is_refused_for_every_action_that_names_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, action: str, keeps_case: bool
) -> None:
    monkeypatch.chdir(tmp_path)
    spec = make_spec(tmp_path, "redshift", action, "pqt")
    live = replace(view("redshift", action), keeps_case=keeps_case)
    assert live.table is not None
    live = replace(live, table=live.table.with_own(RedshiftTable, cased_name="Orders"))
    with pytest.raises(InvalidInput) as excinfo:
        plan_publication(spec, make_results("redshift", "pqt"), live, NOW)
    message = excinfo.value.message
    assert message.startswith(f'{action}: table dev.analytics.orders is stored with capitals, as "Orders"')
    assert message.endswith("rename it in lower case (ALTER TABLE ... RENAME TO), or publish into another table")
    assert ("no session can name it" in message) == (not keeps_case)


def test_create_and_load_beside_a_table_stored_with_capitals_is_planned(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A new timestamped table: the capitals of the spec's table name it not."""
    monkeypatch.chdir(tmp_path)
    spec = make_spec(tmp_path, "redshift", "createAndLoad", "pqt")
    live = view("redshift", "load")  # the table exists
    assert live.table is not None
    live = replace(live, table=live.table.with_own(RedshiftTable, cased_name="Orders"))
    assert plan_publication(spec, make_results("redshift", "pqt"), live, NOW).status == "pending"
