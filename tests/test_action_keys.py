"""Which spec keys an action takes: the spec schema's ``x-actions`` and each strategy's
``spec_keys`` say the same, and validate refuses the others, one line at the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from publisher.inputs.config import load_config
from publisher.inputs.spec import action_keys, load_specs
from publisher.inputs.validation import schema
from publisher.model.vocabulary import ACTIONS, Action
from publisher.planning.actions import STRATEGIES

CASES = Path(__file__).parent / "cases"
PROPERTIES = schema("publish-spec.schema.json")["properties"]

# A valid value of each key, on a Hive connection (the one target that takes them all).
VALUES = {
    "partition": "{region: eu}",
    "overwrite": "partitions",
    "mergeKeys": "[order_id]",
    "onSchemaChange": "addColumns",
    "keepLast": "3",
    "keepFor": "30d",
}


def test_the_schema_marks_the_keys_every_test_here_knows() -> None:
    assert set(action_keys()) == set(VALUES)


@pytest.mark.parametrize("action", ACTIONS)
def test_each_strategy_takes_exactly_the_keys_the_schema_gives_its_action(action: Action) -> None:
    from_schema = {key for key, actions in action_keys().items() if action in actions}
    assert STRATEGIES[action].spec_keys == from_schema


@pytest.mark.parametrize("key", sorted(action_keys()))
def test_x_actions_name_some_actions_in_the_vocabulary_order(key: str) -> None:
    actions = action_keys()[key]
    # A key every action takes is not action-specific; one no action takes is not a key.
    assert 0 < len(actions) < len(ACTIONS)
    assert list(actions) == [a for a in ACTIONS if a in actions]


def test_x_why_only_beside_x_actions() -> None:
    assert all("x-actions" in rule for rule in PROPERTIES.values() if "x-why" in rule)


def test_the_keys_follow_what_the_strategies_do() -> None:
    """Retention's keys go with the actions that leave timestamped tables; a static partition
    with those that load rows; onSchemaChange with those that write into an existing table."""
    for strategy in STRATEGIES.values():
        assert ("keepLast" in strategy.spec_keys) == strategy.makes_timestamped_table, strategy.action
        assert ("keepFor" in strategy.spec_keys) == strategy.makes_timestamped_table, strategy.action
        assert ("partition" in strategy.spec_keys) == strategy.loads_rows, strategy.action
        assert ("onSchemaChange" in strategy.spec_keys) == (
            strategy.needs_table and not strategy.replaces_definition
        ), strategy.action


REFUSED = [(key, action) for key in VALUES for action in ACTIONS if action not in action_keys()[key]]
TAKEN = [(key, action) for key in VALUES for action in ACTIONS if action in action_keys()[key]]


def _problems(tmp_path: Path, key: str, action: str) -> list[str]:
    merge = "mergeKeys: [order_id]\n" if action == "merge" and key != "mergeKeys" else ""
    text = (
        "jobGroup: 31\nconnection: {name: local}\npath: [default]\ntable: orders\n"
        f"action: {action}\ninputFormat: pqt\nflowNodeId: 27\n{merge}{key}: {VALUES[key]}\n"
    )
    (tmp_path / "spec.yaml").write_text(text)
    _, problems = load_specs([tmp_path / "spec.yaml"], load_config(CASES / "publisher.yaml"))
    return [str(p).replace(f"{tmp_path}/", "") for p in problems]


@pytest.mark.parametrize(("key", "action"), REFUSED, ids=[f"{k}-{a}" for k, a in REFUSED])
def test_a_key_the_action_does_not_take_is_one_line_at_the_key(tmp_path: Path, key: str, action: str) -> None:
    line = 9 if action == "merge" and key != "mergeKeys" else 8
    (problem,) = _problems(tmp_path, key, action)
    assert problem.startswith(f"spec.yaml:{line}:1: error: {key} is ")
    assert "\n" not in problem
    # It names the action, or the actions that take the key, and says what to do.
    assert f"not {action}" in problem or f"not for {action}" in problem
    assert problem.endswith(")") and "(remove it" in problem


@pytest.mark.parametrize(("key", "action"), TAKEN, ids=[f"{k}-{a}" for k, a in TAKEN])
def test_a_key_the_action_takes_passes(tmp_path: Path, key: str, action: str) -> None:
    assert _problems(tmp_path, key, action) == []
