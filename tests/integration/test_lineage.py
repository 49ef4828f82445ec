"""OpenLineage events from `publisher apply`, on every engine (the ``target`` fixture): each
action's START and COMPLETE, valid against the spec, naming the datasets as the naming spec
says, with the row counts; nothing for what is already published; a receiver that hangs
neither fails nor holds the apply (issue 29)."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest

from tests.integration.conftest import Target
from tests.lineage_receiver import check_event, receiver

ACTIONS = {
    "t_create": "create",
    "t_cal": "createAndLoad",
    "t_load": "load",
    "t_tal": "truncateAndLoad",
    "t_dal": "dropAndLoad",
    "t_merge": "merge",
}
LIFECYCLE = {"create": "CREATE", "createAndLoad": "CREATE", "truncateAndLoad": "OVERWRITE", "dropAndLoad": "OVERWRITE"}


@pytest.fixture
def lineage_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ("OPENLINEAGE_CONFIG", "OPENLINEAGE_API_KEY", "OPENLINEAGE_ENDPOINT", "OPENLINEAGE_DISABLED"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OPENLINEAGE_NAMESPACE", "ci")
    return monkeypatch


# The OpenLineage naming spec's namespace of each target's tables.
NAMESPACES = {
    "hive": r"hive://(localhost|127\.0\.0\.1:\d+)",
    "redshift": r"redshift://[a-z0-9.-]+:\d+",
    "postgres": r"postgres://[a-z0-9.-]+:\d+",
}


def _output_name(target: Target, table: str) -> str:
    name = target.table_name(table)
    return f"{target.database}.{name}" if target.is_hive else f"{target.database}.{name}".lower()


def test_each_action_sends_start_and_complete_naming_its_datasets_with_row_counts(
    target: Target, lineage_env: pytest.MonkeyPatch
) -> None:
    project = target.project
    target.results(1, 1, 4)
    for table in ("t_load", "t_tal", "t_merge"):
        target.spec(f"a_{table}", "dropAndLoad", 1, table=table)
    assert project.run("apply").code == 0  # before lineage: the tables the actions need
    target.results(2, 10, 3)
    for table, action in ACTIONS.items():
        target.spec(f"b_{table}", action, 2, table=table, **({"mergeKeys": ["id"]} if action == "merge" else {}))
    with receiver() as server:
        lineage_env.setenv("OPENLINEAGE_URL", server.url)
        applied = project.run("apply")
        assert applied.code == 0, applied.err
        assert "Lineage" not in applied.err and "warning" not in applied.err
        events = server.wait_for(2 * len(ACTIONS))
        again = project.run("apply")  # all published: nothing sent
        assert again.code == 0, again.err
        time.sleep(0.5)
        assert len(server.events) == 2 * len(ACTIONS)
    runs: dict[str, list[dict[str, Any]]] = {}
    for event in events:
        check_event(event)
        runs.setdefault(event["run"]["runId"], []).append(event)
    assert len(runs) == len(ACTIONS)
    for sent in runs.values():
        assert [e["eventType"] for e in sent] == ["START", "COMPLETE"]
        complete = sent[1]
        [output] = complete["outputs"]
        table = next(t for t in ACTIONS if complete["job"]["name"].endswith(f".{target.table_name(t)}"))
        action = ACTIONS[table]
        assert complete["job"]["namespace"] == "ci"
        assert complete["run"]["facets"]["parent"]["job"]["name"] == "jobGroup.2"
        namespace = NAMESPACES["hive" if target.is_hive else target.kind]
        assert re.fullmatch(namespace, output["namespace"]), output["namespace"]
        expected = _output_name(target, table)
        if action in ("create", "createAndLoad"):
            assert re.fullmatch(re.escape(expected) + r"_\d{14}", output["name"]), output["name"]
        else:
            assert output["name"] == expected
        [source] = complete["inputs"]
        if target.is_hive:
            assert (source["namespace"], source["name"]) == ("file", str(project.results(2, 1)))
        else:
            assert source["namespace"].startswith("s3://") and source["name"].endswith("/2/1")
        assert [f["name"] for f in source["facets"]["schema"]["fields"]][:2] == ["id", "name"]
        stats = output["outputFacets"]["outputStatistics"]
        assert stats["rowCount"] == (0 if action == "create" else 3), (action, stats)
        if action != "create":
            assert stats["fileCount"] == 2 and stats["size"] > 0
        assert output["facets"].get("lifecycleStateChange", {}).get("lifecycleStateChange") == LIFECYCLE.get(action)
        fields = output["facets"]["columnLineage"]["fields"]
        assert fields["id"]["inputFields"][0]["field"] == "id"
        assert "outputStatistics" not in sent[0]["outputs"][0].get("outputFacets", {})


def test_a_receiver_that_hangs_neither_fails_nor_holds_the_apply(
    target: Target, lineage_env: pytest.MonkeyPatch
) -> None:
    project = target.project
    data = target.results(1, 1, 4)
    target.spec("a", "dropAndLoad", 1, table="t")
    target.spec("b", "dropAndLoad", 1, table="u")
    with receiver(hang=30.0) as server:
        lineage_env.setenv("OPENLINEAGE_URL", server.url)
        applied = project.run("apply")
    assert applied.code == 0, applied.err
    assert target.rows("t") == target.expected(data) and target.rows("u") == target.expected(data)
    warnings = [line for line in applied.err.splitlines() if "OpenLineage" in line]
    assert len(warnings) == 1, applied.err
    assert "not sent within 2s" in warnings[0] or "not sent:" in warnings[0], warnings[0]
