"""Variable substitution: what a Hive session answers when its settings are read back, and
the plan's refusal of ``${`` where the engine would replace it (no engine here: the
real engines' side is tests/integration/test_values_as_written.py)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from publisher.engines import hive_substitution
from publisher.model.errors import InvalidInput, PublishFailed
from publisher.planning.planner import plan_publication
from tests.test_partition_plans import DT, live, make_spec, table
from tests.test_planner_golden import NOW, make_results

REASON = "the engine replaces ${...} in SQL text and refused to turn that off"


@pytest.mark.parametrize(
    ("rows", "value"),
    [
        ([("spark.sql.variable.substitute", "false")], "false"),  # Spark: (key, value)
        ([("hive.variable.substitute=false",)], "false"),  # Apache Hive: one cell
        ([("hive.variable.substitute=true",)], "true"),
        ([("hive.variable.substitute is undefined",)], None),
        ([("spark.sql.variable.substitute", "<undefined>")], "<undefined>"),
        ([], None),
    ],
)
def test_a_setting_is_read_from_both_engines_answers(rows: list[tuple[Any, ...]], value: str | None) -> None:
    key = "hive.variable.substitute" if "hive." in str(rows) else "spark.sql.variable.substitute"
    assert hive_substitution.setting_value(rows, key) == value


class Session:
    """A session that keeps what SET sets, except the keys the server restricts."""

    def __init__(self, restricted: frozenset[str] = frozenset(), start: str = "true") -> None:
        self.settings = dict.fromkeys(hive_substitution.SUBSTITUTION_KEYS, start)
        self.restricted = restricted

    def execute(self, sql: str) -> None:
        key, value = sql.removeprefix("SET ").split("=")
        if key in self.restricted:
            raise PublishFailed(f"Cannot modify {key} at runtime")
        self.settings[key] = value

    def fetch(self, sql: str) -> list[tuple[Any, ...]]:
        key = sql.removeprefix("SET ")
        return [(f"{key}={self.settings[key]}",)]


def test_substitution_is_turned_off_and_confirmed() -> None:
    session = Session()
    assert hive_substitution.turn_off(session.execute, session.fetch) is None
    assert set(session.settings.values()) == {"false"}


def test_a_restricted_setting_that_stays_on_is_reported() -> None:
    session = Session(restricted=frozenset({"hive.variable.substitute"}))
    reason = hive_substitution.turn_off(session.execute, session.fetch)
    assert reason is not None and "hive.variable.substitute=true" in reason
    assert "spark.sql" not in reason, "only the setting still on is named"


def test_a_restricted_setting_already_off_is_fine() -> None:
    session = Session(restricted=frozenset({"hive.variable.substitute"}), start="false")
    assert hive_substitution.turn_off(session.execute, session.fetch) is None


def test_the_engine_never_runs_a_marked_statement_where_substitution_is_on() -> None:
    hive_substitution.refuse_marked(None, "SELECT '${env:HOME}'")  # off: runs as sent
    hive_substitution.refuse_marked(REASON, "SELECT '$HOME {x}'")  # no ${: runs
    with pytest.raises(PublishFailed, match=r"not run: the statement holds '\$\{env:HOME\}'"):
        hive_substitution.refuse_marked(REASON, "INSERT INTO t PARTITION (dt='${env:HOME}') SELECT 1")


@pytest.mark.parametrize(
    ("action", "extra", "token"),
    [
        ("load", {"partition": {"dt": "${env:PUBLISHER_API_TOKEN}"}}, "${env:PUBLISHER_API_TOKEN}"),
        ("createAndLoad", {}, "${spark.app.name}"),  # the spec file's folder, a ledger value
    ],
)
def test_the_plan_refuses_a_marked_value_where_the_engine_would_replace_it(
    tmp_path: Path, action: str, extra: dict[str, Any], token: str
) -> None:
    folder = tmp_path / ("specs" if extra else "specs${spark.app.name}")
    folder.mkdir()
    spec = make_spec(folder, action, **extra)
    results = make_results("hive", "pqt")
    state = table(("dt",), lacking=(DT,)) if "partition" in extra else None
    view = live(state)
    assert plan_publication(spec, results, view, NOW).steps, "substitution off: planned as usual"
    with pytest.raises(InvalidInput) as refused:
        plan_publication(spec, results, replace(view, substitution=REASON), NOW)
    message = str(refused.value)
    assert REASON in message and repr(token) in message and "\n" not in message


@pytest.mark.parametrize("folder", ["/r/job${x}/", "/r/job{a,b}/", "/r/job[1]/", "/r/*/", "/r/a?b/", "/r/a\\b/"])
def test_a_results_folder_spark_would_read_as_a_glob_is_refused(tmp_path: Path, folder: str) -> None:
    spec = make_spec(tmp_path, "createAndLoad")
    results = make_results("hive", "pqt")
    files = tuple(replace(f, uri=folder + f.uri.rsplit("/", 1)[1]) for f in results.files)
    with pytest.raises(InvalidInput, match="which Spark reads as a Hadoop glob pattern"):
        plan_publication(spec, replace(results, location=folder, files=files), None, NOW)


def test_a_results_folder_with_quotes_spaces_and_dollars_is_planned(tmp_path: Path) -> None:
    spec = make_spec(tmp_path, "createAndLoad")
    results = make_results("hive", "pqt")
    folder = "/r/it's a $HOME %41 ü/"
    files = tuple(replace(f, uri=folder + f.uri.rsplit("/", 1)[1]) for f in results.files)
    assert plan_publication(spec, replace(results, location=folder, files=files), None, NOW).steps
