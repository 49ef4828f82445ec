"""Every action x every input format the target reads, on every target (the ``target`` fixture):
the table the action makes or keeps, its columns and types, its rows by value (timestamps to the
microsecond, exact decimals, strings with commas, quotes and line breaks, NULLs, arrays), the
ledger's record, and the result files untouched (on S3: the same keys and ETags, the COPY
manifest gone). What differs between targets is data in conftest.py (CREATED_COLUMNS,
TEXT_RESULT_TYPES); what only one engine has stays in test_apply_<target>.py."""

from __future__ import annotations

import re
from typing import Any

import pytest

from publisher.model.vocabulary import ACTIONS
from publisher.planning.actions import STRATEGIES
from publisher.targets import TARGETS as DESCRIPTORS
from tests.integration.conftest import EXTRA_TARGETS, SQL_TARGETS, TARGETS, Target


def formats_of(kind: str) -> tuple[str, ...]:
    """The input formats the target reads (its descriptor's)."""
    return DESCRIPTORS["hive" if kind not in SQL_TARGETS else kind].input_formats  # type: ignore[index]


def target_formats() -> list[Any]:
    """(target, format) for every format each target reads."""
    return [pytest.param(kind, fmt, id=f"{kind}-{fmt}") for kind in TARGETS + EXTRA_TARGETS for fmt in formats_of(kind)]


CASES = [
    pytest.param(kind, action, fmt, id=f"{kind}-{action}-{fmt}")
    for kind in TARGETS + EXTRA_TARGETS
    for action in ACTIONS
    for fmt in formats_of(kind)
]
OLD_ROWS = "(-1, 'old row', NULL, NULL, NULL, NULL), (-2, NULL, NULL, NULL, NULL, NULL)"
"""Rows another job wrote, ids the results lack: a load and a merge keep them, a replace does not."""


def wider(columns: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """``columns`` with a wider decimal than the results': the table's own definition."""
    return [(name, kind.replace("(10,2)", "(12,2)")) for name, kind in columns]


def by_value(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    return sorted(rows, key=repr)


@pytest.mark.parametrize(("target", "action", "fmt"), CASES, indirect=["target"])
def test_action_publishes_every_format(target: Target, action: str, fmt: str) -> None:
    columns = target.created_columns(fmt)
    if action in ("load", "merge"):
        target.create_table("t", columns)
        # A merge replaces rows 1 and 2 (in the results too) and keeps -1 and -2.
        also = ", (1, 'x', NULL, NULL, NULL, NULL), (2, 'y', NULL, NULL, NULL, NULL)" if action == "merge" else ""
        target.execute(f"INSERT INTO {target.relation('t')} VALUES {OLD_ROWS}{also}")
    elif action == "truncateAndLoad":
        # truncateAndLoad keeps the table's definition: a wider amount, a column's comment.
        target.create_table("t", wider(columns), comments={"id": "the key"})
        target.execute(f"INSERT INTO {target.relation('t')} VALUES {OLD_ROWS}")
    elif action == "dropAndLoad":
        target.create_table("t", [("other", columns[1][1])])
        target.execute(f"INSERT INTO {target.relation('t')} VALUES ('old')")
    before = target.rows("t") if action in ("load", "merge") else []
    data = target.results(10, 1, 60, fmt, parts=3, tricky=True)
    extra: dict[str, Any] = {"mergeKeys": ["id"]} if action == "merge" else {}
    if target.text_types(fmt):
        extra["columnTypes"] = target.text_types(fmt)
    target.spec("a", action, 10, fmt=fmt, **extra)
    tables_before = target.tables()
    files = target.result_files()

    result = target.project.run("apply")
    assert result.code == 0, result.err + result.out
    assert "1 published, 0 already published, 0 failed" in result.out, result.out

    want = target.expected(data)
    if STRATEGIES[action].makes_timestamped_table:
        (made,) = target.tables() - tables_before - {"publications"}
        assert re.fullmatch(r"t_\d{14}", made), made
        assert "t" not in target.tables()
        assert target.columns(made) == columns
        assert target.rows(made) == ([] if action == "create" else want)
    else:
        assert not [n for n in target.tables() if "__" in n], "staging, new and old tables are all gone"
        assert target.columns("t") == (wider(columns) if action == "truncateAndLoad" else columns)
        if action == "truncateAndLoad":
            assert target.column_comment("t", "id") == "the key"
        published = {row[0] for row in want}
        kept = [row for row in before if row[0] not in published]
        assert by_value(target.rows("t")) == by_value(kept + want)
    assert target.result_files() == files, "result files unchanged"
    ((recorded, job, rows),) = target.fetch(
        f"SELECT action, job_group, row_count FROM {target.ledger_table()} WHERE state = 'done'"
    )
    assert (recorded, job) == (action, 10)
    if action == "create":
        assert rows == 0
    elif fmt in ("pqt", "avro"):  # formats whose metadata counts the rows
        assert rows == 60
