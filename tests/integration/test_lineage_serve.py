"""`publisher serve` sends the very events `publisher apply` sends (issue 29): one publication
through each front door, against the Redshift stand-in, both to one receiver on loopback."""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from publisher import cli
from tests.fixtures.redshift import RedshiftEngine
from tests.integration.test_serve_redshift import body, project, published, results, rs  # noqa: F401 (rs: fixture)
from tests.lineage_receiver import check_event, receiver
from tests.serving import TOKEN_ENV, start, stop

pytestmark = [pytest.mark.redshift, pytest.mark.server]


def _normalized(event: dict[str, Any], job: int, table: str) -> str:
    """The event with what differs between two publications of one shape taken out: the run
    ids, the time, the job group and the table's name."""
    text = json.dumps({k: v for k, v in event.items() if k != "eventTime"}, sort_keys=True)
    text = text.replace(event["run"]["runId"], "<run>")
    text = text.replace(event["run"]["facets"]["parent"]["run"]["runId"], "<parent>")
    text = re.sub(rf"\b{job}\b", "<job>", text)
    return text.replace(table, "<table>")


def test_serve_and_apply_send_the_same_events(
    rs: RedshiftEngine,  # noqa: F811 (the fixture imported above)
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    root = project(tmp_path / "p", rs)
    with receiver() as server:
        served = start(root, os.environ[TOKEN_ENV], "server.log", env={"OPENLINEAGE_URL": server.url})
        try:
            results(rs, root, 301, 0, 5)
            published(served, 301, body(rs, "via_serve", "dropAndLoad"))
        finally:
            stop(served)
        by_serve = server.wait_for(2)[:2]

        results(rs, root, 302, 0, 5)
        spec = {"jobGroup": 302, **body(rs, "via_apply", "dropAndLoad")}
        (root / "spec.yaml").write_text(yaml.safe_dump(spec))
        monkeypatch.setenv("OPENLINEAGE_URL", server.url)
        monkeypatch.chdir(root)
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            assert cli.main(["apply", "spec.yaml"]) == 0, err.getvalue()
        by_apply = server.wait_for(4)[2:]
    assert [e["eventType"] for e in by_serve] == [e["eventType"] for e in by_apply] == ["START", "COMPLETE"]
    for event in by_serve + by_apply:
        check_event(event)
    assert by_serve[0]["run"]["runId"] != by_apply[0]["run"]["runId"]
    serve_table, apply_table = rs.table_name("via_serve"), rs.table_name("via_apply")
    assert [_normalized(e, 301, serve_table) for e in by_serve] == [_normalized(e, 302, apply_table) for e in by_apply]
