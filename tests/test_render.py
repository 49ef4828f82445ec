"""Plans shown to people: names from results and values from specs are data. In markdown
they cannot close a code block, start a heading, or render a link, image or HTML; in text
they read as the SQL that runs quotes them."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest

from publisher.model.plan import Plan
from publisher.model.vocabulary import TARGET_TYPES
from publisher.planning.planner import plan_publication
from publisher.reports.render import md_code, md_text, plan_markdown, plan_text
from tests.test_planner_golden import NOW, make_results, make_spec, view

EVIL = "x```\n# Heading ![img](http://e.co/a) <img src=x> | c `t`"  # within 63 bytes: PostgreSQL's longest name


def evil_plan(tmp_path: Path, target: str) -> Plan:
    results = make_results(target, "pqt")
    evil = replace(results.columns[-1], name=EVIL.replace("\n", " "))  # newlines are refused before this
    results = replace(results, columns=(*results.columns[:-1], evil))
    spec = make_spec(tmp_path, target, "createAndLoad", "pqt")
    pub = plan_publication(spec, results, view(target, "createAndLoad"), NOW)
    return Plan("2026-11-28T12:00:00Z", False, (replace(pub, spec_file="specs/a|b`c.yaml", status_detail=EVIL),))


@pytest.mark.parametrize("target", TARGET_TYPES)
def test_markdown_keeps_names_inside_their_code(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, target: str) -> None:
    monkeypatch.chdir(tmp_path)
    text = plan_markdown(evil_plan(tmp_path, target))
    fence = re.search(r"^(`{3,})sql$", text, re.M)
    assert fence, text
    body = text[fence.end() : text.index("\n" + fence.group(1) + "\n", fence.end())]
    assert fence.group(1) not in body, "a name closes the code block"
    outside = text.replace(body, "")
    assert "# Heading" not in outside.replace("\\# Heading", "")
    assert "![img]" not in outside and "<img" not in outside
    table_rows = [line for line in text.splitlines() if line.startswith("| 1 |")]
    assert len(table_rows) == 1 and table_rows[0].count(" | ") == 6, "a name splits a table cell"


@pytest.mark.parametrize("target", TARGET_TYPES)
def test_text_plan_quotes_names_as_the_sql_does(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, target: str) -> None:
    monkeypatch.chdir(tmp_path)
    text = plan_text(evil_plan(tmp_path, target))
    quoted = "`x``````" if target == "hive" else '"x```'
    assert f"columns: {'`' if target == 'hive' else chr(34)}order_id" in text
    assert quoted in text


def test_code_spans_and_text_escape() -> None:
    assert md_code("a`b") == "``a`b``"
    assert md_code("a|b\nc") == "`a\\|b\\nc`"
    assert md_text("![x](y) <b> # h") == "\\!\\[x\\]\\(y\\) \\<b\\> \\# h"


def test_the_engine_read_is_named_in_the_header_and_offline_plans_stay_as_they_were(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from publisher.model.plan import plan_from_json, plan_to_json

    monkeypatch.chdir(tmp_path)
    plan = evil_plan(tmp_path, "hive")
    assert "Engines:" not in plan_text(plan) and '"engine"' not in plan_to_json(plan)
    read = replace(plan, publications=tuple(replace(p, engine="Apache Hive 4.0.1") for p in plan.publications))
    connection = read.publications[0].connection
    assert plan_text(read).splitlines()[1] == f"Engines: {connection}: Apache Hive 4.0.1"
    assert f"Engines: {md_text(f'{connection}: Apache Hive 4.0.1')}" in plan_markdown(read)
    assert plan_from_json(plan_to_json(read)) == read
