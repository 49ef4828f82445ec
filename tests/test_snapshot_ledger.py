"""Live planning reads of the ledger only the rows of the job groups planned, in one query
per connection (bench/ledger_history.py: reading the whole history made planning slower with
every publication), and still sees every row of each planned publication: an interrupted
publish (its 'pending' row last) is found, as recovery needs."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from publisher.inputs.config import Connection
from publisher.inputs.spec import Spec
from publisher.model.relation import Relation
from publisher.model.target import ColumnState, TableState
from publisher.planning import ledger
from publisher.planning.snapshot import Snapshot
from tests.test_planner_golden import make_spec


class LedgerTarget:
    """A Redshift target holding a ledger and the table 'orders'; answers the ledger's queries
    by their job_group filter, and records every query."""

    def __init__(self, rows: list[ledger.Entry]) -> None:
        self.rows = rows
        self.queries: list[str] = []

    def fetch(self, sql: str) -> list[tuple[Any, ...]]:
        self.queries.append(sql)
        if sql.startswith("SELECT COUNT(*)"):
            return [(0,)]
        by_table = re.search(r'WHERE "table_name" = \'([^\']+)\'$', sql)
        if by_table:
            return [tuple(vars(e).values()) for e in self.rows if e.table_name == by_table[1]]
        found = re.search(r'WHERE "job_group" IN \(([\d, ]+)\)$', sql)
        assert found, sql
        groups = {int(g) for g in found[1].split(", ")}
        return [tuple(vars(e).values()) for e in self.rows if e.job_group in groups]

    def namespace_exists(self, relation: Relation) -> bool:
        return True

    def keeps_quoted_case(self) -> bool | None:
        return None

    def substitution(self) -> str | None:
        return None

    def product(self) -> str | None:
        return None

    def slice_count(self) -> int | None:
        self.queries.append("SELECT COUNT(*) FROM stv_slices")
        return 4

    def table_names(self, relation: Relation) -> set[str]:
        return {"publications", "orders"}

    def table_states(self, relation: Relation) -> dict[str, TableState]:
        ledger_columns = tuple(ColumnState(n, "character varying(65535)") for n in ledger.NAMES)
        return {
            "publications": TableState(ledger_columns),
            "orders": TableState((ColumnState("order_id", "bigint"),)),
        }


class Pool:
    def __init__(self, target: LedgerTarget) -> None:
        self.one = target

    def target(self, connection: Connection) -> LedgerTarget:
        return self.one


def row(spec: Spec, job_group: int, state: str, minute: int) -> ledger.Entry:
    pid = replace(spec, job_group=job_group).id
    return ledger.Entry(
        *vars(pid).values(), state, "analytics.orders", 1, None, "", None, "spec.yaml", "h", "e30=", f"run{minute}",
        datetime(2026, 11, 1, 12, minute),
    )  # fmt: skip


def specs(tmp_path: Path) -> tuple[Spec, Spec]:
    spec = make_spec(tmp_path, "redshift", "load", "pqt")
    assert ledger.relation(spec).name == "publications"
    return replace(spec, job_group=31), replace(spec, job_group=32, file="spec32.yaml")


def test_only_the_planned_job_groups_are_read_in_one_query(tmp_path: Path) -> None:
    a, b = specs(tmp_path)
    history = [row(a, 100 + k, "done", k % 60) for k in range(50)]  # other publications into the table
    interrupted = [row(a, 31, "done", 1), row(a, 31, "pending", 5)]  # published, then a publish broke off
    target = LedgerTarget([*history, row(b, 32, "done", 2), *interrupted])
    snapshot = Snapshot(Pool(target), [a, b])  # type: ignore[arg-type]

    view_a, view_b = snapshot.view(a), snapshot.view(b)

    ledger_queries = [q for q in target.queries if "FROM" in q and "publications" in q]
    assert ledger_queries == [
        "SELECT job_group, flow_node_id, connection_id, database_name, table_name, action, state, published_table, "
        "row_count, rows_before, stamp, location_before, spec_file, spec_hash, spec_b64, run_id, published_at, detail, "
        "project "
        'FROM "publisher"."publications"\n'
        'WHERE "job_group" IN (31, 32)',
        # The interrupted load's recovery alone reads its table's rows: the loads done since.
        "SELECT job_group, flow_node_id, connection_id, database_name, table_name, action, state, published_table, "
        "row_count, rows_before, stamp, location_before, spec_file, spec_hash, spec_b64, run_id, published_at, detail, "
        "project "
        'FROM "publisher"."publications"\n'
        "WHERE \"table_name\" = 'analytics.orders'",
    ]
    assert [e.job_group for e in view_a.published_since] == [100 + k for k in range(6, 50)]
    assert view_b.published_since == ()
    assert [(e.job_group, e.state) for e in view_a.entries] == [(31, "done"), (31, "pending")]
    assert view_a.entries[-1].state == "pending"  # recovery sees the interrupted publish
    assert [(e.job_group, e.state) for e in view_b.entries] == [(32, "done")]
    assert view_a.ledger_exists and view_b.ledger_exists


def test_a_spec_not_among_the_planned_reads_its_own_job_group(tmp_path: Path) -> None:
    a, b = specs(tmp_path)
    target = LedgerTarget([row(a, 31, "done", 1), row(b, 32, "pending", 2)])
    snapshot = Snapshot(Pool(target), [a])  # type: ignore[arg-type]

    assert [e.state for e in snapshot.view(a).entries] == ["done"]
    assert [e.state for e in snapshot.view(b).entries] == ["pending"]
    assert [e.state for e in snapshot.view(a).entries] == ["done"]  # read once, kept
    reads = [q.rsplit("\n", 1)[1] for q in target.queries if "publications" in q]
    # b's publish broke off: its recovery reads the table's rows (once) too.
    assert reads == [
        'WHERE "job_group" IN (31)',
        'WHERE "job_group" IN (32)',
        "WHERE \"table_name\" = 'analytics.orders'",
    ]
