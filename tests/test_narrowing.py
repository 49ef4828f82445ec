"""columnTypes that hold fewer digits than the results' DECIMAL are refused when planning,
unless the spec lists the column in allowNarrowing (issue 22: DECIMAL(10,0) over a Parquet
decimal(10,2) rounded 4.75 to 5 without a word)."""

from __future__ import annotations

from pathlib import Path

import pytest

from publisher.inputs.config import load_config
from publisher.inputs.spec import load_specs
from publisher.model.errors import InvalidInput
from publisher.planning.planner import plan_publication
from tests.test_planner_golden import CASES, NOW, make_results, make_spec, view


def planned_columns(tmp_path: Path, target: str, extra: str) -> dict[str, str]:
    spec = make_spec(tmp_path, target, "createAndLoad", "pqt", extra)
    publication = plan_publication(spec, make_results(target, "pqt"), view(target, "createAndLoad"), NOW)
    return dict(publication.columns)


def refusal(tmp_path: Path, target: str, extra: str) -> str:
    with pytest.raises(InvalidInput) as exc:
        planned_columns(tmp_path, target, extra)
    return exc.value.message


@pytest.mark.parametrize("target", ["hive", "redshift"])
def test_fewer_decimal_places_than_the_results_are_refused(tmp_path: Path, target: str) -> None:
    message = refusal(tmp_path, target, "columnTypes: {amount: 'DECIMAL(10,0)'}\n")
    assert message == (
        "columnTypes.amount: DECIMAL(10,0) narrows the results' DECIMAL(10,2): 0 decimal place(s) where the "
        "results have 2 (values are rounded); give DECIMAL(12,2) or wider, or list amount in allowNarrowing "
        "to accept the loss"
    )


@pytest.mark.parametrize("target", ["hive", "redshift"])
def test_fewer_integer_digits_and_integer_types_are_refused(tmp_path: Path, target: str) -> None:
    message = refusal(tmp_path, target, "columnTypes: {amount: 'DECIMAL(6,2)'}\n")
    assert "DECIMAL(6,2) narrows the results' DECIMAL(10,2): 4 integer digit(s) where the results have up to 8" in (
        message
    )
    message = refusal(tmp_path, target, "columnTypes: {amount: 'BIGINT'}\n")
    assert message.startswith(
        "columnTypes.amount: BIGINT narrows the results' DECIMAL(10,2): 0 decimal place(s) where the results have 2"
    )


@pytest.mark.parametrize("target", ["hive", "redshift"])
def test_widening_and_explicit_narrowing_are_planned(tmp_path: Path, target: str) -> None:
    assert planned_columns(tmp_path, target, "columnTypes: {amount: 'DECIMAL(18,4)'}\n")["amount"] == "DECIMAL(18,4)"
    narrowed = "columnTypes: {amount: 'DECIMAL(10,0)'}\nallowNarrowing: [amount]\n"
    assert planned_columns(tmp_path, target, narrowed)["amount"] == "DECIMAL(10,0)"
    # Other types are left to the override: an integer result into a narrower integer fails the load loudly.
    assert planned_columns(tmp_path, target, "columnTypes: {order_id: 'SMALLINT'}\n")["order_id"] == "SMALLINT"


def test_allow_narrowing_names_columns_of_column_types(tmp_path: Path) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text(
        "jobGroup: 31\nflowNodeId: 27\nconnection: {name: local}\npath: [default]\ntable: orders\n"
        "action: createAndLoad\ninputFormat: pqt\ncolumnTypes: {amount: 'DECIMAL(10,0)'}\n"
        "allowNarrowing: [amount, price]\n"
    )
    specs, problems = load_specs([path], load_config(CASES / "publisher.yaml"))
    assert not specs
    assert [str(p) for p in problems] == [
        f"{path}:9:26: error: allowNarrowing: 'price' has no columnTypes entry; it lets a columnTypes type round "
        "the results' values, so it names columns of columnTypes (amount)"
    ]
