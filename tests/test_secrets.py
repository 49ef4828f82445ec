"""Secrets: ``${NAME}`` in a spec value is data, never expanded; a secret reaches only the
slot that needs it (a COPY's credentials, a connection's password)."""

from __future__ import annotations

import json

import pytest
import yaml

from publisher.apply.executor import Executor
from publisher.dialects import dialect_for
from publisher.model.plan import Param, Statement
from tests.conftest import Project
from tests.resultfiles import write


def test_a_reference_in_a_spec_value_is_inert(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PUBLISHER_TEST_SECRET", "s3cr3t-value-42")
    write(project.root / "results" / "x${PUBLISHER_TEST_SECRET}", "pqt", 1, 3)
    project.spec(
        "a",
        jobGroup=1,
        flowNodeId=1,
        connection={"id": 1},
        path=["default"],
        table="t",
        action="dropAndLoad",
        inputFormat="pqt",
        source="../results/x${PUBLISHER_TEST_SECRET}/",
        description="costs ${PUBLISHER_TEST_SECRET}",
    )
    # Hive: the folder's name is a Hadoop glob to Spark (refused), and the reference stays text.
    refused = project.run("plan", "--offline")
    assert refused.code == 1 and "results/x${PUBLISHER_TEST_SECRET}/ holds { }" in refused.err, refused.err
    write(project.root / "results" / "x$PUBLISHER_TEST_SECRET", "pqt", 1, 3)
    spec = yaml.safe_load((project.root / "specs" / "a.yaml").read_text())
    spec["source"] = "../results/x$PUBLISHER_TEST_SECRET/"
    (project.root / "specs" / "a.yaml").write_text(yaml.safe_dump(spec))
    result = project.run("plan", "--offline", "--format", "json", "-o", "plan.json")
    assert result.code == 0, result.err
    # The folder named literally was read (3 rows), and the reference is still text in every statement.
    plan = json.loads(result.out)
    (pub,) = plan["publications"]
    assert pub["rows"] == 3 and "x$PUBLISHER_TEST_SECRET/" in pub["source"]
    params = [p for s in pub["steps"] if s["kind"] == "sql" for p in s["sql"] if isinstance(p, dict)]
    assert all(p["param"] != "secret" for p in params), params


def test_secrets_fill_only_their_slots_as_literals(monkeypatch: pytest.MonkeyPatch) -> None:
    """The executor renders a secret parameter as a literal of the dialect: a value with a
    quote cannot end the literal, and the text around it is never searched for references."""
    monkeypatch.setenv("PUBLISHER_TEST_SECRET", "it's-a-secret")
    statement = Statement(
        ("COPY t FROM 'x${PUBLISHER_TEST_SECRET}' SECRET_ACCESS_KEY ", Param("secret", "PUBLISHER_TEST_SECRET")), "load"
    )
    rendered = Executor(None, dialect_for("redshift")).render(statement)
    assert rendered == "COPY t FROM 'x${PUBLISHER_TEST_SECRET}' SECRET_ACCESS_KEY 'it''s-a-secret'"
    assert statement.text.endswith("SECRET_ACCESS_KEY '${PUBLISHER_TEST_SECRET}'")  # as plans show it
