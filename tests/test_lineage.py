"""OpenLineage events without an engine (issue 29): built from offline plans of every action and
checked against the spec's schemas; sent to a real HTTP receiver on loopback, one that is down or
hangs; a failed publication's FAIL; and nothing imported where lineage is not configured. Each
action on each engine, through apply, is tests/integration/test_lineage.py."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from publisher.apply import lineage
from publisher.engines.pool import Pool
from publisher.inputs.config import Config, LineageSettings, load_config
from publisher.inputs.spec import load_specs
from publisher.model.plan import Plan, Publication
from publisher.targets.redshift import RedshiftSettings
from publisher.workflow import apply_plan, make_plan
from tests import resultfiles
from tests.lineage_receiver import check_event, receiver

ROOT = Path(__file__).resolve().parent.parent
ACTIONS = ("create", "createAndLoad", "load", "truncateAndLoad", "dropAndLoad", "merge")


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _project(tmp_path: Path, lineage_section: dict[str, Any] | None = None) -> Config:
    """A project publishing into a HiveServer2 that is not there: plans offline, fails at apply."""
    config: dict[str, Any] = {
        "results": "results/{jobGroup}/{flowNodeId}/",
        "connections": [
            {"id": 1, "name": "hs2", "type": "hive", "host": "127.0.0.1", "port": _closed_port(), "auth": "NONE"}
        ],
    }
    if lineage_section is not None:
        config["lineage"] = lineage_section
    (tmp_path / "publisher.yaml").write_text(json.dumps(config))
    (tmp_path / "specs").mkdir()
    resultfiles.write(tmp_path / "results" / "7" / "3", "pqt", 0, 10)
    for action in ACTIONS:
        spec = {"jobGroup": 7, "flowNodeId": 3, "connection": {"id": 1}, "path": ["sales"], "table": f"t_{action}"}
        spec |= {"action": action, "inputFormat": "pqt"}
        if action == "merge":
            spec["mergeKeys"] = ["id"]
        (tmp_path / "specs" / f"{action}.yaml").write_text(json.dumps(spec))
    return load_config(tmp_path / "publisher.yaml")


def _plan(config: Config, tmp_path: Path) -> Plan:
    specs, problems = load_specs(sorted((tmp_path / "specs").glob("*.yaml")), config)
    assert not problems
    pool = Pool(config)
    try:
        return make_plan(config, specs, pool, offline=True)
    finally:
        pool.close()


def _event(kind: str, publication: Publication, config: Config, **options: Any) -> dict[str, Any]:
    from openlineage.client.serde import Serde

    made = lineage.event(kind, publication, lineage.run_id("a" * 32), config, **options)
    return dict(json.loads(Serde.to_json(made)))


@pytest.fixture
def no_client_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No OPENLINEAGE_* variable nor openlineage.yml of the machine's in the way."""
    for name in list(os.environ):
        if name.startswith("OPENLINEAGE"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)


def test_every_actions_events_validate_and_name_the_datasets_as_the_naming_spec_says(
    tmp_path: Path, no_client_config: None
) -> None:
    config = _project(tmp_path, {"namespace": "sales-reporting"})
    plan = _plan(config, tmp_path)
    port = config.connections[0].target_settings.lineage_namespace
    for publication in plan.publications:
        for kind in ("START", "COMPLETE", "FAIL"):
            event = _event(kind, publication, config, error="boom" if kind == "FAIL" else None)
            check_event(event)
            job = {k: event["job"][k] for k in ("namespace", "name")}
            assert job == {"namespace": "sales-reporting", "name": f"publish.hs2.sales.{publication.id.table}"}
            parent = event["run"]["facets"]["parent"]
            assert (parent["job"]["namespace"], parent["job"]["name"]) == ("sales-reporting", "jobGroup.7")
            [source] = event["inputs"]
            assert (source["namespace"], source["name"]) == ("file", str(tmp_path / "results" / "7" / "3"))
            assert [f["name"] for f in source["facets"]["schema"]["fields"]] == [
                "id",
                "name",
                "amount",
                "at",
                "day",
                "tags",
            ]
            [table] = event["outputs"]
            assert table["namespace"] == port and port.startswith("hive://127.0.0.1:")
            assert table["name"] == f"sales.{publication.table}"
            facets = table["facets"]
            assert [f["name"] for f in facets["schema"]["fields"]] == [c for c, _ in publication.columns]
            assert facets["schema"]["fields"][0]["type"] == "BIGINT"
            change = {"create": "CREATE", "createAndLoad": "CREATE", "truncateAndLoad": "OVERWRITE"}
            change["dropAndLoad"] = "OVERWRITE"
            if publication.action in change:
                assert facets["lifecycleStateChange"]["lifecycleStateChange"] == change[publication.action]
            else:
                assert "lifecycleStateChange" not in facets
            lineage_of = facets["columnLineage"]["fields"]
            assert lineage_of["amount"]["inputFields"] == [
                {
                    "namespace": "file",
                    "name": source["name"],
                    "field": "amount",
                    "transformations": [{"type": "DIRECT", "subtype": "IDENTITY"}],
                }
            ]
            stats = table.get("outputFacets", {}).get("outputStatistics")
            if kind != "COMPLETE":
                assert stats is None and (kind == "FAIL") == ("errorMessage" in event["run"]["facets"])
            elif publication.action == "create":
                assert stats["rowCount"] == 0 and "size" not in stats
            else:
                files = [p for p in (tmp_path / "results" / "7" / "3").iterdir() if p.suffix == ".parquet"]
                assert stats == {
                    **{k: stats[k] for k in ("_producer", "_schemaURL")},
                    "rowCount": 10,
                    "fileCount": 2,
                    "size": sum(p.stat().st_size for p in files),
                }


def test_a_column_the_results_lack_comes_from_no_input_column(tmp_path: Path, no_client_config: None) -> None:
    """A table column no result column feeds (one the table had and the results lack) has no
    input field; the others match their result column whatever the case the engine folded to."""
    from dataclasses import replace

    config = _project(tmp_path)
    publication = next(p for p in _plan(config, tmp_path).publications if p.action == "load")
    columns = tuple((name.upper() if name == "amount" else name, kind) for name, kind in publication.columns)
    publication = replace(publication, columns=(*columns, ("loaded_by", "STRING")))
    event = _event("COMPLETE", publication, config)
    check_event(event)
    fields = event["outputs"][0]["facets"]["columnLineage"]["fields"]
    assert fields["loaded_by"] == {"inputFields": []}
    assert fields["AMOUNT"]["inputFields"][0]["field"] == "amount"


def test_redshift_names_its_cluster_and_region_where_the_host_says_them() -> None:
    def named(host: str) -> str:
        settings = RedshiftSettings(host=host, database="dev", user="u", password=None, s3=1)  # type: ignore[arg-type]
        return settings.lineage_namespace

    assert named("Analytics.abc123xyz.eu-west-1.redshift.amazonaws.com") == "redshift://analytics.eu-west-1:5439"
    assert named("wg.123456789012.us-east-1.redshift-serverless.amazonaws.com") == "redshift://wg.us-east-1:5439"
    assert named("127.0.0.1") == "redshift://127.0.0.1:5439"
    assert lineage.input_dataset("s3://bucket/jobs/31/27/") == ("s3://bucket", "jobs/31/27")


def test_the_plan_says_where_lineage_goes_never_the_key(
    tmp_path: Path, no_client_config: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from publisher.model.secret import Secret

    assert lineage.where(None).startswith("not sent")
    unset = LineageSettings(url=Secret("LINEAGE_URL_UNSET_T"))  # an unset variable: off, not an error
    assert not lineage.enabled(unset) and lineage.where(unset).startswith("not sent")
    monkeypatch.setenv("LINEAGE_KEY_T", "s3cr3t-key-value")
    monkeypatch.setenv("LINEAGE_URL_T", "https://user:pw@marquez.example:5000/?token=x")
    settings = LineageSettings(url=None, api_key=None, namespace="ns")
    monkeypatch.setenv("OPENLINEAGE_URL", "http://localhost:5000")
    monkeypatch.setenv("OPENLINEAGE_API_KEY", "s3cr3t-key-value")
    assert lineage.where(settings) == "OpenLineage events to http://localhost:5000/api/v1/lineage, namespace ns"
    shown = lineage.where(LineageSettings(url=Secret("LINEAGE_URL_T"), api_key=Secret("LINEAGE_KEY_T")))
    assert shown == "OpenLineage events to https://marquez.example:5000/api/v1/lineage, namespace default"
    monkeypatch.setenv("OPENLINEAGE_DISABLED", "true")
    assert lineage.where(settings).startswith("not sent")


def _publications(tmp_path: Path, section: dict[str, Any]) -> tuple[Config, Plan]:
    config = _project(tmp_path, section)
    return config, _plan(config, tmp_path)


def test_events_reach_the_receiver_in_order_with_the_key_as_a_bearer_token(
    tmp_path: Path, no_client_config: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PUBLISHER_TEST_SECRET", "lineage-api-key-123")
    with receiver() as server:
        config, plan = _publications(tmp_path, {"url": server.url, "apiKey": "${PUBLISHER_TEST_SECRET}"})
        warnings: list[str] = []
        events = lineage.Lineage(config, lambda p, text: warnings.append(text))
        publication = plan.publications[1]
        events.start(publication, "b" * 32)
        events.start(publication, "b" * 32)  # once per run
        events.finish(publication, "b" * 32, None)
        events.close()
        assert [e["eventType"] for e in server.events] == ["START", "COMPLETE"] and warnings == []
        assert {e["run"]["runId"] for e in server.events} == {"bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb"}
        assert {h["Authorization"] for h in server.headers} == {"Bearer lineage-api-key-123"}
        for event in server.events:
            check_event(event)


@pytest.mark.parametrize("trouble", ["down", "hangs", "answers 500"])
def test_a_receiver_in_trouble_costs_at_most_the_timeout_and_one_warning(
    tmp_path: Path, no_client_config: None, trouble: str
) -> None:
    with receiver(status=500 if trouble == "answers 500" else 200, hang=5.0 if trouble == "hangs" else 0) as server:
        url = f"http://127.0.0.1:{_closed_port()}" if trouble == "down" else server.url
        config, plan = _publications(tmp_path, {"url": url, "timeout": 0.5})
        warnings: list[str] = []
        events = lineage.Lineage(config, lambda p, text: warnings.append(text))
        began = time.monotonic()
        for i, publication in enumerate(plan.publications):
            run = f"{i:032x}"
            events.start(publication, run)
            time.sleep(0.1)  # the publication's steps
            events.finish(publication, run, None)
        took = time.monotonic() - began
        events.close()
    # Six publications: 0.6 s of their own steps; the first to meet the trouble waits at most the
    # timeout, and after it the apply sends nothing more.
    assert took < 0.6 + 0.5 + 0.4, took
    assert len(warnings) == 1, warnings
    assert "this apply sends no more lineage events" in warnings[0]


APPLY = """
import json, sys
from pathlib import Path
from publisher.engines.pool import Pool
from publisher.inputs.config import load_config
from publisher.inputs.spec import load_specs
from publisher.workflow import apply_plan, make_plan
config = load_config(Path("publisher.yaml"))
specs, _ = load_specs([Path("specs/createAndLoad.yaml")], config)
pool = Pool(config)
plan = make_plan(config, specs, pool, offline=True)
warnings = []
outcomes = apply_plan(plan, config, pool, listener=lambda k, e: warnings.append(e.result) if k == "warning" else None)
print(json.dumps([[o.error.message if o.error else None for o in outcomes], warnings, sorted(sys.modules)]))
"""


def _apply_in_a_fresh_interpreter(tmp_path: Path, env: dict[str, str]) -> tuple[list[Any], list[str], set[str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENLINEAGE")} | env
    env["PYTHONPATH"] = str(ROOT)
    done = subprocess.run(
        [sys.executable, "-c", APPLY], cwd=tmp_path, env=env, capture_output=True, text=True, check=True, timeout=120
    )
    errors, warnings, modules = json.loads(done.stdout.strip().splitlines()[-1])
    return errors, warnings, set(modules)


def test_a_failed_publication_sends_start_and_fail_and_unconfigured_lineage_imports_nothing(
    tmp_path: Path, no_client_config: None
) -> None:
    _project(tmp_path)
    errors, _, modules = _apply_in_a_fresh_interpreter(tmp_path, {"HOME": str(tmp_path)})
    assert errors[0] is not None  # the HiveServer2 is not there
    assert not {m for m in modules if m.startswith("openlineage")}
    with receiver() as server:
        errors, warnings, modules = _apply_in_a_fresh_interpreter(
            tmp_path, {"HOME": str(tmp_path), "OPENLINEAGE_URL": server.url, "OPENLINEAGE_NAMESPACE": "ci"}
        )
        assert "openlineage.client" in modules and warnings == []
        events = server.wait_for(2)
    assert [e["eventType"] for e in events] == ["START", "FAIL"]
    for event in events:
        check_event(event)
    message = events[1]["run"]["facets"]["errorMessage"]["message"]
    assert message == " ".join(errors[0].split()) and "\n" not in message
    assert events[1]["job"]["namespace"] == "ci"


def test_a_dry_run_and_an_already_published_plan_send_nothing(
    tmp_path: Path, no_client_config: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    with receiver() as server:
        config, plan = _publications(tmp_path, {"url": server.url})
        pool = Pool(config)
        apply_plan(plan, config, pool, dry_run=True)
        published = Plan(plan.created_at, plan.offline, tuple(_published(p) for p in plan.publications))
        apply_plan(published, config, pool)
        pool.close()
        time.sleep(0.3)
        assert server.events == []


def _published(publication: Publication) -> Publication:
    from dataclasses import replace

    return replace(publication, status="published", steps=())


def test_a_fail_carries_one_line_without_secrets_and_a_stale_plan_aborts(
    tmp_path: Path, no_client_config: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PUBLISHER_TEST_REDSHIFT_PASSWORD", "pw-in-an-error-9876")
    with receiver() as server:
        config, plan = _publications(tmp_path, {"url": server.url})
        config = replace_lineage_secret(config, "PUBLISHER_TEST_REDSHIFT_PASSWORD")
        events = lineage.Lineage(config, lambda p, text: None)
        first, second = plan.publications[:2]
        events.start(first, "1" * 32)
        events.finish(first, "1" * 32, "step 4 (copy the rows) failed:\n  password=pw-in-an-error-9876 rejected")
        events.start(second, "2" * 32)
        events.finish(second, "2" * 32, "the table changed since the plan: plan again", aborted=True)
        events.finish(second, "3" * 32, "stopped before its guard", aborted=True)  # never started: nothing
        events.close()
        sent = server.wait_for(4)
    assert [e["eventType"] for e in sent] == ["START", "FAIL", "START", "ABORT"]
    for event in sent:
        check_event(event)  # the suite's secrets scan included
    assert sent[1]["run"]["facets"]["errorMessage"]["message"] == (
        "step 4 (copy the rows) failed: password=${PUBLISHER_TEST_REDSHIFT_PASSWORD} rejected"
    )


def replace_lineage_secret(config: Config, env: str) -> Config:
    """The config with ``env`` as its lineage key: a secret the config names, masked in events."""
    from dataclasses import replace

    from publisher.model.secret import Secret

    assert config.lineage is not None
    return replace(config, lineage=replace(config.lineage, api_key=Secret(env)))


def test_a_static_partition_column_is_in_the_tables_schema_fed_by_no_input(
    tmp_path: Path, no_client_config: None
) -> None:
    """A static partition's column (the spec's value for every row) is a column of the table
    written: in the output schema, after the data columns, with no input field."""
    from dataclasses import replace

    config = _project(tmp_path)
    publication = next(p for p in _plan(config, tmp_path).publications if p.action == "load")
    publication = replace(publication, static_partitions=(("dt", "DATE"),))
    event = _event("COMPLETE", publication, config)
    check_event(event)
    output = event["outputs"][0]["facets"]
    assert [f["name"] for f in output["schema"]["fields"]] == [*(n for n, _ in publication.columns), "dt"]
    assert output["schema"]["fields"][-1]["type"] == "DATE"
    assert output["columnLineage"]["fields"]["dt"] == {"inputFields": []}
