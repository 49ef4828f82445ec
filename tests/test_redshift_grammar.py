"""Every statement the publisher can send to Redshift parses with a Redshift grammar.

The stand-in is PostgreSQL, which runs statements Redshift refuses (``ON CONFLICT``, ``COPY ...
FROM STDIN``, ``GENERATED ... AS IDENTITY``): a plan that passes there could fail on a cluster.
sqlfluff's Redshift dialect is stricter than sqlglot's (which accepts those PostgreSQL forms too),
so each statement of every Redshift plan the golden tests make (each action and format, nested
columns, published and forced, a kept definition with grants and an owner, columns added, the
recovery of an old table left after a commit) and every ledger statement is parsed with it, its
run-time values filled in as the executor fills them.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pyarrow as pa
import pytest
from sqlfluff.core import FluffConfig, Linter

from publisher.dialects import dialect_for
from publisher.model.plan import CheckKeys, Publication, SqlStep, Statement, Step
from publisher.model.target import ColumnState, RedshiftTable
from publisher.planning import ledger
from publisher.planning.planner import plan_publication
from publisher.results import Column
from tests.test_planner_golden import CASES_MATRIX, NOW, make_results, make_spec, published_view, view
from tests.test_redshift_golden import FACTS, GRANTS

LINTER = Linter(config=FluffConfig(overrides={"dialect": "redshift"}))
DIALECT = dialect_for("redshift")


# Valid Redshift that sqlfluff 4.5's grammar lacks, each with the AWS page that shows it; the
# statement is parsed without it (the rest must still parse).
GRAMMAR_GAPS = (
    # COPY ... FORMAT AS PARQUET SERIALIZETOJSON: AWS, Amazon Redshift Database Developer Guide,
    # "COPY from columnar data formats" (nested columns into SUPER).
    " SERIALIZETOJSON",
)


def problems(sql: str) -> list[str]:
    for gap in GRAMMAR_GAPS:
        sql = sql.replace(gap, "")
    parsed = LINTER.parse_string(sql.rstrip().rstrip(";") + ";\n")
    return [str(v.desc()) for v in parsed.violations]


def rendered(step: SqlStep) -> str:
    """As the executor renders it: each parameter a literal of the dialect."""
    values: dict[str, object] = {"run_id": "r", "now": "2026-12-07 12:00:00", "day": "2026-12-07", "captured": 7}
    values |= {"secret": "s3cr3t", "outcome": None}
    return "".join(p if isinstance(p, str) else DIALECT.literal(values[p.kind]) for p in step.sql)  # type: ignore[arg-type]


def statements(steps: tuple[Step, ...]) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for step in steps:
        if isinstance(step, SqlStep):
            found.append((step.purpose, rendered(step)))
            if isinstance(step, Statement) and step.undo is not None:
                found.append((step.undo.purpose, rendered(step.undo)))
        elif isinstance(step, CheckKeys):
            found += [(step.purpose, step.counts), (step.purpose, step.examples)]
    return found


def redshift_plans(tmp_path: Path) -> list[tuple[str, Publication]]:
    plans: list[tuple[str, Publication]] = []
    nested = Column("tags", pa.list_(pa.string()), True)
    for target, action, fmt in CASES_MATRIX:
        if target != "redshift":
            continue
        spec = make_spec(tmp_path, "redshift", action, fmt)
        plans.append(
            (f"{action} {fmt}", plan_publication(spec, make_results("redshift", fmt), view(target, action), NOW))
        )
        if fmt == "pqt":
            found = make_results("redshift", fmt)
            seen = view(target, action)
            if seen.table is not None:
                table = replace(seen.table, columns=(*seen.table.columns, ColumnState("tags", "super")))
                seen = replace(seen, table=table)
            found = replace(found, columns=(*found.columns, nested))
            plans.append((f"{action} nested", plan_publication(spec, found, seen, NOW)))
    spec = make_spec(tmp_path, "redshift", "truncateAndLoad", "pqt")
    forced = plan_publication(
        spec, make_results("redshift", "pqt"), published_view("redshift", "truncateAndLoad", spec), NOW, force=True
    )
    plans.append(("forced", forced))
    spec = make_spec(tmp_path, "redshift", "dropAndLoad", "pqt")
    seen = view("redshift", "dropAndLoad")
    assert seen.table is not None
    kept = replace(
        seen,
        table=replace(
            seen.table,
            columns=(*seen.table.columns, ColumnState("region", "character varying(8)")),
        ).with_own(RedshiftTable, facts=FACTS, grants=GRANTS, owner="sales"),
    )
    plans.append(("dropAndLoad kept definition", plan_publication(spec, make_results("redshift", "pqt"), kept, NOW)))
    for action in ("load", "truncateAndLoad", "merge"):
        spec = replace(
            make_spec(
                tmp_path,
                "redshift",
                action,
                "pqt",
            ),
            on_schema_change="addColumns",
        )
        seen = view("redshift", action)
        assert seen.table is not None
        fewer = replace(seen, table=replace(seen.table, columns=seen.table.columns[:-1]))
        plans.append((f"{action} addColumns", plan_publication(spec, make_results("redshift", "pqt"), fewer, NOW)))
    return plans


def test_every_statement_of_every_redshift_plan_parses_with_a_redshift_grammar(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    failures: list[str] = []
    seen: set[str] = set()
    for name, publication in redshift_plans(tmp_path):
        for purpose, sql in statements(publication.steps + publication.on_failure):
            if sql in seen:
                continue
            seen.add(sql)
            failures += [f"{name}: {purpose}: {p}\n  {sql[:300]}" for p in problems(sql)]
    assert len(seen) > 100, len(seen)  # distinct statements: every kind the plans make
    assert not failures, "\n".join(failures)


def test_every_ledger_statement_parses_with_a_redshift_grammar(tmp_path: Path) -> None:
    spec = replace(make_spec(tmp_path, "redshift", "load", "pqt"), project="sales")
    home, lock = ledger.relation(spec), ledger.lock_relation(spec)
    steps: list[Step] = [*ledger.ensure(DIALECT, home), *ledger.upgrade(DIALECT, home, ledger.ADDED_LATER)]
    steps += [
        ledger.ensure_lock(DIALECT, lock),
        ledger.record_lock(DIALECT, lock, spec),
        ledger.guard(DIALECT, lock, spec),
    ]
    steps += [ledger.guard(DIALECT, home, spec)]
    for state in ("pending", "done"):
        steps.append(
            ledger.record(
                DIALECT, home, spec, state=state, published_table="t", rows=3, stamp="s", rows_before="before"
            )
        )
    queries = [
        ledger.select_job_groups(DIALECT, home, frozenset({31, 32})),
        ledger.select_where(DIALECT, home, "run_id", "r"),
    ]
    failures = [f"{purpose}: {p}" for purpose, sql in statements(tuple(steps)) for p in problems(sql)]
    failures += [f"{q}: {p}" for q in queries for p in problems(q)]
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize(
    "postgres_only",
    [
        "INSERT INTO t (a) VALUES (1) ON CONFLICT DO NOTHING",
        "COPY t FROM STDIN WITH (FORMAT csv)",
        "CREATE TABLE t (a BIGINT GENERATED ALWAYS AS IDENTITY)",
        "COPY t FROM 's3://b/m.json' IAM_ROLE 'arn:aws:iam::1:role/r' FORMAT AS PARQUT MANIFEST",
    ],
)
def test_the_grammar_refuses_what_postgresql_runs_and_redshift_does_not(postgres_only: str) -> None:
    assert problems(postgres_only), "the check would pass a statement a cluster refuses"
