"""Redshift tables that other sessions and users depend on (issue 12): readers holding the old
table through a dropAndLoad, the old table's drop after the swap commits (and its recovery),
retries of a transaction that Redshift aborts for serializable isolation."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from tests.crashing import killed_apply, pending_steps
from tests.fixtures.redshift import RedshiftEngine, RedshiftProject
from tests.integration.test_apply_redshift import applied, expected, results, spec, table_rows
from tests.integration.test_gitops_redshift import finish, start, summary

pytestmark = pytest.mark.redshift

WAIT = 30.0


def lock_waits(rs: RedshiftEngine) -> int:
    """Sessions waiting for a lock right now (pg_locks: Redshift has it too)."""
    return int(rs.fetch("SELECT COUNT(*) FROM pg_locks WHERE NOT granted")[0][0])


def wait_for(condition: Any, what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"waited {WAIT:.0f}s for {what}")
        time.sleep(0.05)


def seeded(project: RedshiftProject, rs: RedshiftEngine, tmp_path: Path) -> list[dict[str, Any]]:
    """t published by dropAndLoad from job 1 (20 rows); job 2's results (7 rows) uploaded and
    specs/b.yaml publishing them by dropAndLoad."""
    old = results(rs, tmp_path, "pqt", 1, 1, 20)
    spec(project, rs, "a", "dropAndLoad", "pqt", 1)
    applied(project)
    (project.root / "specs" / "a.yaml").unlink()
    results(rs, tmp_path, "pqt", 2, 500, 7)
    spec(project, rs, "b", "dropAndLoad", "pqt", 2)
    return old


def test_a_reader_holding_the_old_table_keeps_reading_it_through_drop_and_load(
    redshift_project: RedshiftProject, redshift: RedshiftEngine, tmp_path: Path
) -> None:
    """A second session, in a transaction that has read t, reads it again while a dropAndLoad
    of t runs: the same old rows, no error. The swap waits for that session (its RENAME needs
    the table to itself), then commits; the old table is dropped in a transaction of its own."""
    rs, project = redshift, redshift_project
    old = seeded(project, rs, tmp_path)
    reader = rs.endpoint.connect()
    try:
        reader.autocommit = False  # an open transaction from the first statement on
        cursor = reader.cursor()
        cursor.execute(f"SELECT id FROM {rs.qualified('t')} ORDER BY id")
        first = cursor.fetchall()
        assert len(first) == len(old)
        process = start(project, "apply")
        wait_for(lambda: lock_waits(rs) > 0 or process.poll() is not None, "the apply to wait for the reader")
        assert process.poll() is None, "the apply did not wait for the reader's transaction"
        cursor.execute(f"SELECT id FROM {rs.qualified('t')} ORDER BY id")
        assert cursor.fetchall() == first, "the reader was cut off or saw other rows"
        reader.commit()
        code, out, err = finish(process)
        assert code == 0, err + out
        assert summary(out) == (1, 0, 0)
        cursor.execute(f"SELECT COUNT(*) FROM {rs.qualified('t')}")
        assert cursor.fetchall()[0][0] == 7
        reader.commit()
    finally:
        reader.close()
    assert not [n for n in rs.tables() if "__" in n], "the old table is dropped"


def test_an_old_table_left_by_an_apply_stopped_after_commit_is_dropped_by_the_next(
    redshift_project: RedshiftProject, redshift: RedshiftEngine, tmp_path: Path
) -> None:
    """Killed after the swap's COMMIT, before the old table's drop: the publication is
    published (its rows and its ledger row), t__old_<stamp> is left; the next plan says
    "published, to finish" with the DROP, and the next apply drops it and publishes nothing."""
    rs, project = redshift, redshift_project
    seeded(project, rs, tmp_path)
    steps = [s["purpose"] for s in pending_steps(project)]
    drop_at = next(i for i, s in enumerate(steps, start=1) if s.startswith("drop the old table"))
    assert steps[drop_at - 3].startswith("publish") and steps[drop_at - 2].startswith("a transaction of its own")
    killed_apply(project.root, drop_at)
    left = [n for n in rs.tables() if "__old_" in n]
    assert len(left) == 1, rs.tables()
    assert rs.count("t") == 7 and len(rs.ledger("done")) == 2

    planned = project.run("plan", "--format", "json")
    (publication,) = json.loads(planned.out)["publications"]
    assert publication["status"] == "unfinished"
    assert [s["sql"][0] for s in publication["steps"]][1] == f"DROP TABLE IF EXISTS {rs.qualified(left[0])}"
    out = applied(project)
    assert summary(out) == (0, 1, 0) and "1 of them had steps left by an interrupted apply" in out
    assert not [n for n in rs.tables() if "__" in n]
    assert len(rs.ledger("done")) == 2, "nothing published again"
    assert table_rows(rs, "t") == expected(results(rs, tmp_path, "pqt", 2, 500, 7))
    assert "already published" in project.run("plan").out


# --- serializable isolation (error 1023) -------------------------------------------------------

VIOLATIONS = "redshift_standin.serializable_violations"


@pytest.mark.parametrize("action", ["truncateAndLoad", "dropAndLoad"])
def test_a_transaction_aborted_for_serializable_isolation_is_retried_and_publishes_once(
    redshift_project: RedshiftProject, redshift: RedshiftEngine, tmp_path: Path, action: str
) -> None:
    """Redshift aborts the publication's COMMIT twice with error 1023 (the stand-in, asked to):
    apply reports each retry, runs the transaction again from the start, and publishes once."""
    rs, project = redshift, redshift_project
    seeded(project, rs, tmp_path)
    spec(project, rs, "b", action, "pqt", 2)
    rs.execute(f"INSERT INTO {VIOLATIONS} VALUES (%s, 't', 2)", (rs.schema,))
    try:
        out = applied(project)
        left = rs.fetch(f"SELECT remaining FROM {VIOLATIONS} WHERE table_schema = %s", (rs.schema,))
    finally:
        rs.execute(f"DELETE FROM {VIOLATIONS} WHERE table_schema = %s", (rs.schema,))
    assert left == [(0,)], "both violations were raised"
    retries = [line for line in out.splitlines() if line.startswith("retry:")]
    assert len(retries) == 2, out
    assert "1023: Serializable isolation violation on table" in retries[0] and "retry 1 of 4" in retries[0]
    assert summary(out) == (1, 0, 0)
    assert rs.count("t") == 7 and len(rs.ledger("done")) == 2, "published once"
    assert not [n for n in rs.tables() if "__" in n]
    assert rs.manifests() == [], "the manifest written again for the retry is deleted too"


# --- grants and owner ------------------------------------------------------------------------------

ALICE, READERS, OWNER = "standin_alice", "standin_readers", "standin_owner"  # tests/standin/bootstrap.sql


def privileges(rs: RedshiftEngine, table: str) -> set[str]:
    """The table's relacl items other than its owner's, without the grantor."""
    (acl,) = rs.fetch(
        "SELECT array_to_string(c.relacl, ',') FROM pg_class c JOIN pg_namespace n ON c.relnamespace = n.oid "
        "WHERE n.nspname = %s AND c.relname = %s",
        (rs.schema, table),
    )[0]
    return {item.rsplit("/", 1)[0] for item in (acl or "").split(",") if item and not item.startswith("publisher=")}


@pytest.mark.parametrize("action", ["load", "truncateAndLoad", "dropAndLoad"])
def test_grants_to_a_user_a_group_and_public_survive_each_action(
    redshift_project: RedshiftProject, redshift: RedshiftEngine, tmp_path: Path, action: str
) -> None:
    """What others were granted on the table holds afterwards: load and truncateAndLoad write
    into the table itself; dropAndLoad grants the same on the replacement, in the swap's
    transaction, each GRANT shown in the plan. A privilege it does not copy is named."""
    rs, project = redshift, redshift_project
    seeded(project, rs, tmp_path)
    t = rs.qualified("t")
    rs.execute(f"GRANT SELECT ON {t} TO {ALICE}")
    rs.execute(f"GRANT SELECT, UPDATE ON {t} TO GROUP {READERS}")
    rs.execute(f"GRANT SELECT, TRUNCATE ON {t} TO PUBLIC")
    before = privileges(rs, "t")
    assert before == {f"{ALICE}=r", f"{READERS}=rw", "=rD"}
    spec(project, rs, "b", action, "pqt", 2)
    plan = project.run("plan")
    assert plan.code == 0, plan.err
    if action == "dropAndLoad":
        assert f'TO "{ALICE}"' in plan.out and "GRANT SELECT, UPDATE ON" in plan.out
        assert f'TO GROUP "{READERS}"' in plan.out and "TO PUBLIC" in plan.out
        assert "not copied onto the new table (privileges other than" in plan.out and "PUBLIC: D" in plan.out
    applied(project)
    want = before if action != "dropAndLoad" else {f"{ALICE}=r", f"{READERS}=rw", "=r"}
    assert privileges(rs, "t") == want


def test_drop_and_load_of_a_table_another_user_owns_is_refused_at_plan_time(
    redshift_project: RedshiftProject, redshift: RedshiftEngine, tmp_path: Path
) -> None:
    """Only a table's owner or a superuser may drop or rename it on Redshift: the plan says so
    (the catalog's owner and pg_user.usesuper), and nothing runs."""
    rs, project = redshift, redshift_project
    seeded(project, rs, tmp_path)
    rs.execute(f'GRANT CREATE ON SCHEMA "{rs.schema}" TO {OWNER}')  # PostgreSQL wants it of a new owner
    rs.execute(f"ALTER TABLE {rs.qualified('t')} OWNER TO {OWNER}")
    result = project.run("plan")
    assert result.code == 1
    assert f"is owned by {OWNER}: only that user or a superuser may drop or rename it" in result.err
    assert rs.count("t") == 20


# --- distribution and sort keys ---------------------------------------------------------------------

KEYS_SQL = (
    "SELECT c.reldiststyle, a.attname, a.attisdistkey, a.attsortkeyord FROM pg_class_info c "
    "JOIN pg_namespace n ON c.relnamespace = n.oid "
    "LEFT JOIN pg_attribute_info a ON a.attrelid = c.reloid AND a.attnum > 0 AND NOT a.attisdropped "
    "AND (a.attisdistkey OR a.attsortkeyord > 0) WHERE n.nspname = %s AND c.relname = %s "
    "ORDER BY a.attsortkeyord, a.attname"
)


def test_the_specs_keys_make_the_table_and_drop_and_load_keeps_them(
    redshift_project: RedshiftProject, redshift: RedshiftEngine, tmp_path: Path
) -> None:
    """dropAndLoad with distKey and sortKeys creates t with them (the catalog says so); a later
    dropAndLoad whose spec has none keeps them from the old table, and the plan says so."""
    rs, project = redshift, redshift_project
    results(rs, tmp_path, "pqt", 1, 1, 20)
    spec(project, rs, "a", "dropAndLoad", "pqt", 1, distKey="id", sortKeys=["day", "name"])
    applied(project)
    keys = [(1, "id", True, 0), (1, "day", False, 1), (1, "name", False, 2)]
    assert rs.fetch(KEYS_SQL, (rs.schema, "t")) == keys
    (project.root / "specs" / "a.yaml").unlink()
    results(rs, tmp_path, "pqt", 2, 500, 7)
    spec(project, rs, "b", "dropAndLoad", "pqt", 2)
    plan = project.run("plan")
    assert "kept from the old table: DISTSTYLE KEY DISTKEY (id)" in plan.out
    assert "kept from the old table: SORTKEY (day, name)" in plan.out
    applied(project)
    assert rs.fetch(KEYS_SQL, (rs.schema, "t")) == keys
    assert rs.count("t") == 7


# --- publications in parallel: a lock per target table ------------------------------------------------


def test_publications_into_different_tables_do_not_wait_for_each_other(
    redshift_project: RedshiftProject, redshift: RedshiftEngine, tmp_path: Path
) -> None:
    """An apply into t is held up (a reader's open transaction on t makes its RENAME wait).
    Meanwhile an apply into u runs to its end, and plan reads the ledger, without waiting;
    a second apply into t waits for the first (same lock). Released, both publish, in order."""
    rs, project = redshift, redshift_project
    seeded(project, rs, tmp_path)  # t, and specs/b.yaml: dropAndLoad of t from job 2
    results(rs, tmp_path, "pqt", 3, 900, 5)
    spec(project, rs, "c", "dropAndLoad", "pqt", 3, table="u")
    results(rs, tmp_path, "pqt", 4, 950, 3)
    spec(project, rs, "d", "truncateAndLoad", "pqt", 4)
    reader = rs.endpoint.connect()
    try:
        reader.autocommit = False
        reader.cursor().execute(f"SELECT COUNT(*) FROM {rs.qualified('t')}")
        first = start(project, "apply", "specs/b.yaml")
        wait_for(lambda: lock_waits(rs) > 0 or first.poll() is not None, "the apply into t to wait")
        other = finish(start(project, "apply", "specs/c.yaml"))
        assert other[0] == 0 and summary(other[1]) == (1, 0, 0), other[2]
        assert first.poll() is None, "the apply into t was not held up: the test proves nothing"
        plan = project.run("plan", "specs/c.yaml")
        assert plan.code == 0 and "already published" in plan.out
        second = start(project, "apply", "specs/d.yaml")
        wait_for(lambda: lock_waits(rs) > 1 or second.poll() is not None, "the second apply into t to wait")
        assert second.poll() is None, "the second apply into t did not wait for the first"
        reader.rollback()
        assert finish(first)[0] == 0 and finish(second)[0] == 0
    finally:
        reader.close()
    done = [(row["job_group"], str(row["published_at"])) for row in rs.ledger("done")]
    jobs = [job for job, _ in sorted(done, key=lambda d: d[1])]
    assert jobs.index(3) < jobs.index(2) < jobs.index(4), done
    assert rs.count("t") == 3 and rs.count("u") == 5
    assert {name.rsplit("_", 1)[-1] for name in rs.lock_tables()} == {"t", "u"}, "a lock table per target table"


@pytest.mark.parametrize("action", ["load", "truncateAndLoad", "createAndLoad"])
def test_actions_that_keep_the_table_keep_its_views_and_keys(
    redshift_project: RedshiftProject, redshift: RedshiftEngine, tmp_path: Path, action: str
) -> None:
    """load and truncateAndLoad write into t itself: a schema-bound view on t reads the new
    rows and t keeps its keys; createAndLoad makes a new table with the spec's keys beside it."""
    rs, project = redshift, redshift_project
    results(rs, tmp_path, "pqt", 1, 1, 20)
    spec(project, rs, "a", "dropAndLoad", "pqt", 1, distKey="id", sortKeys=["day"])
    applied(project)
    (project.root / "specs" / "a.yaml").unlink()
    rs.execute(f"CREATE VIEW {rs.qualified('v')} AS SELECT id FROM {rs.qualified('t')}")
    results(rs, tmp_path, "pqt", 2, 500, 7)
    extra: dict[str, Any] = {"distStyle": "ALL", "sortKeys": ["name"]}
    spec(project, rs, "b", action, "pqt", 2, **extra)
    out = applied(project)
    keys = [(1, "id", True, 0), (1, "day", False, 1)]
    assert rs.fetch(KEYS_SQL, (rs.schema, "t")) == keys
    if action == "createAndLoad":
        (made,) = [n for n in rs.tables() if n.startswith("t_")]
        assert rs.fetch(KEYS_SQL, (rs.schema, made)) == [(8, "name", False, 1)]
        assert rs.count("v") == 20
    else:
        assert "keeps its own" in project.run("plan", "--force").out
        assert rs.count("v") == (27 if action == "load" else 7)
    assert "1 published" in out


def test_a_view_made_between_plan_and_swap_stops_the_drop_and_load(
    redshift_project: RedshiftProject, redshift: RedshiftEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A schema-bound view made on t after apply planned would follow t when it is renamed
    aside, then block its drop: the swap's check finds it first, and nothing moves."""
    from publisher.apply.executor import Executor
    from publisher.model.plan import SqlStep

    rs, project = redshift, redshift_project
    old = seeded(project, rs, tmp_path)
    original = Executor._execute

    def execute(self: Executor, step: Any) -> Any:
        if isinstance(step, SqlStep) and step.purpose.startswith("check that no view is bound"):
            rs.execute(f"CREATE VIEW {rs.qualified('v')} AS SELECT id FROM {rs.qualified('t')}")
        return original(self, step)

    monkeypatch.setattr(Executor, "_execute", execute)
    result = project.run("apply")
    assert result.code == 1 and "check that no view is bound to the table" in result.err
    assert "found 1 rows, expected 0" in result.err
    assert table_rows(rs, "t") == expected(old) and rs.count("v") == len(old)
    assert not [n for n in rs.tables() if "__" in n]


# --- comments, encodings, NOT NULL, defaults, keys, identity; foreign keys -------------------------

DEFINITION_SQL = (
    "SELECT a.attname, format_encoding(i.attencodingtype::integer), a.attnotnull, pg_get_expr(d.adbin, d.adrelid), "
    "col_description(a.attrelid, a.attnum) FROM pg_attribute a JOIN pg_class c ON a.attrelid = c.oid "
    "JOIN pg_namespace n ON c.relnamespace = n.oid "
    "JOIN pg_attribute_info i ON i.attrelid = a.attrelid AND i.attnum = a.attnum "
    "LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
    "WHERE n.nspname = %s AND c.relname = %s AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum"
)
KEYS_OF_SQL = (
    "SELECT k.contype, pg_get_constraintdef(k.oid) FROM pg_constraint k JOIN pg_class c ON k.conrelid = c.oid "
    "JOIN pg_namespace n ON c.relnamespace = n.oid WHERE n.nspname = %s AND c.relname = %s ORDER BY 1"
)


def hand_made(rs: RedshiftEngine) -> None:
    """t as another team made it: an identity column, encodings, NOT NULL, defaults, comments
    (with quotes), a primary key, a column the results do not have; two rows."""
    t = rs.qualified("t")
    rs.execute(
        f"CREATE TABLE {t} (id BIGINT IDENTITY(1, 1) ENCODE az64 NOT NULL, name VARCHAR(65535) ENCODE zstd, "
        "amount DECIMAL(10,2) DEFAULT 0, at TIMESTAMPTZ, day DATE DEFAULT CURRENT_DATE, tags SUPER, "
        "legacy VARCHAR(10) DEFAULT 'x', PRIMARY KEY (id)) SORTKEY (day)"
    )
    rs.execute(f"COMMENT ON TABLE {t} IS 'orders, the sales team''s'")
    rs.execute(f"COMMENT ON COLUMN {t}.id IS 'the order''s id'")
    rs.execute(f"COMMENT ON COLUMN {t}.legacy IS 'gone soon'")
    rs.execute(f"INSERT INTO {t} (name) VALUES ('a'), ('b')")


def test_drop_and_load_keeps_comments_encodings_not_null_defaults_and_the_primary_key(
    redshift_project: RedshiftProject, redshift: RedshiftEngine, tmp_path: Path
) -> None:
    """Read from the catalog at plan time, shown in the plan, and on the new table afterwards
    (read back with Redshift's catalog queries): the comments of the table and of the columns
    that remain, the encodings (ZSTD is not Redshift's default for VARCHAR: all pinned), NOT
    NULL on id (the Parquet footer counts no NULL), the plain default of a column of the same
    type, the primary key. Not kept, each said: the identity (the results give the ids), the
    comment and default of the column the results lack."""
    rs, project = redshift, redshift_project
    hand_made(rs)
    data = results(rs, tmp_path, "pqt", 2, 500, 7)
    spec(project, rs, "b", "dropAndLoad", "pqt", 2)
    plan = project.run("plan")
    assert plan.code == 0, plan.err
    assert "kept from the old table: NOT NULL on id (the results hold no NULLs)" in plan.out
    assert "not kept: id IDENTITY(1, 1): the results give every row's value" in plan.out
    assert "kept from the old table: ENCODE id AZ64, name ZSTD" in plan.out
    assert "kept from the old table: PRIMARY KEY (id)" in plan.out
    assert "not kept: the comments on legacy, columns the results do not have" in plan.out
    assert "IS 'orders, the sales team''s'" in plan.out and "IS 'the order''s id'" in plan.out
    applied(project)
    assert table_rows(rs, "t") == expected(data)
    columns = {r[0]: r[1:] for r in rs.fetch(DEFINITION_SQL, (rs.schema, "t"))}
    assert columns["id"] == ("az64", True, None, "the order's id")
    assert columns["name"] == ("zstd", False, None, None)
    assert columns["amount"] == ("az64", False, "0", None)
    assert columns["day"] == ("none", False, "CURRENT_DATE", None)  # the sort key: RAW
    assert "legacy" not in columns
    (comment,) = rs.fetch(
        "SELECT obj_description(c.oid, 'pg_class') FROM pg_class c JOIN pg_namespace n ON c.relnamespace = n.oid "
        "WHERE n.nspname = %s AND c.relname = 't'",
        (rs.schema,),
    )[0]
    assert comment == "orders, the sales team's"
    assert rs.fetch(KEYS_OF_SQL, (rs.schema, "t")) == [("p", "PRIMARY KEY (id)")]


def test_drop_and_load_of_a_table_another_tables_foreign_key_refers_to_is_refused_at_plan_time(
    redshift_project: RedshiftProject, redshift: RedshiftEngine, tmp_path: Path
) -> None:
    """DROP TABLE fails while another table's FOREIGN KEY refers to it (the stand-in, as
    Redshift): the plan refuses, naming the constraint and truncateAndLoad; nothing runs."""
    rs, project = redshift, redshift_project
    hand_made(rs)
    rs.execute(f"CREATE TABLE {rs.qualified('child')} (order_id BIGINT REFERENCES {rs.qualified('t')} (id))")
    results(rs, tmp_path, "pqt", 2, 500, 7)
    spec(project, rs, "b", "dropAndLoad", "pqt", 2)
    result = project.run("plan")
    assert result.code == 1
    assert "foreign keys of other tables refer to table" in result.err
    assert f"{rs.schema}.child (child_order_id_fkey)" in result.err and "truncateAndLoad" in result.err
    assert rs.count("t") == 2


# --- late-binding views (WITH NO SCHEMA BINDING) ----------------------------------------------------

NEW_ROWS = {"dropAndLoad": 7, "truncateAndLoad": 7, "merge": 27}  # seeded(): 20 rows, then job 2's 7


def late_binding_view(rs: RedshiftEngine) -> int:
    """v, a late-binding view of t (as dbt's bind: false makes them); its OID."""
    rs.execute(f"CREATE VIEW {rs.qualified('v')} AS SELECT id FROM {rs.qualified('t')} WITH NO SCHEMA BINDING")
    return view_oid(rs)


def view_oid(rs: RedshiftEngine) -> int:
    return int(
        rs.fetch(
            "SELECT c.oid FROM pg_class c JOIN pg_namespace n ON c.relnamespace = n.oid "
            "WHERE n.nspname = %s AND c.relname = 'v'",
            (rs.schema,),
        )[0][0]
    )


def action_spec(project: RedshiftProject, rs: RedshiftEngine, action: str) -> None:
    keys: dict[str, Any] = {"mergeKeys": ["id"]} if action == "merge" else {}
    spec(project, rs, "b", action, "pqt", 2, **keys)


@pytest.mark.parametrize("action", ["dropAndLoad", "truncateAndLoad", "merge"])
def test_a_late_binding_view_answers_with_the_new_rows_after_each_action(
    redshift_project: RedshiftProject, redshift: RedshiftEngine, tmp_path: Path, action: str
) -> None:
    """A late-binding view of t is not bound to it (no pg_depend row), so dropAndLoad is not
    refused: it keeps the view as it is (the same object, not dropped or re-created; its plan
    says so) and the view reads the replacement; truncateAndLoad and merge write into t itself.
    After each, the view answers with t's new rows."""
    rs, project = redshift, redshift_project
    seeded(project, rs, tmp_path)
    oid = late_binding_view(rs)
    assert rs.fetch(f"SELECT COUNT(*) FROM {rs.qualified('v')}") == [(20,)]
    action_spec(project, rs, action)
    plan = project.run("plan")
    assert plan.code == 0, plan.err
    kept = f"late-binding views read the table ({rs.schema}.v; WITH NO SCHEMA BINDING): kept as they are"
    assert (kept in plan.out) == (action == "dropAndLoad"), plan.out
    applied(project)
    in_view = rs.fetch(f"SELECT id FROM {rs.qualified('v')} ORDER BY id")
    assert len(in_view) == NEW_ROWS[action]
    assert in_view == rs.fetch(f"SELECT id FROM {rs.qualified('t')} ORDER BY id")
    assert view_oid(rs) == oid, "the view is the same object"
    assert not [n for n in rs.tables() if "__" in n]


def test_a_reader_of_a_late_binding_view_waits_through_the_swap_and_never_fails(
    redshift_project: RedshiftProject, redshift: RedshiftEngine, tmp_path: Path
) -> None:
    """dropAndLoad's swap is one transaction: a reader holding t (through the view, in an open
    transaction) makes the swap's RENAME wait; a second reader of the view, arriving meanwhile,
    queues behind the swap. Released, the apply commits and that reader gets the new rows,
    without an error: a reader never sees the view without its table."""
    rs, project = redshift, redshift_project
    seeded(project, rs, tmp_path)
    late_binding_view(rs)
    v = rs.qualified("v")
    holder = rs.endpoint.connect()
    second = rs.endpoint.connect()
    seen: list[object] = []

    def read() -> None:
        try:
            cursor = second.cursor()
            cursor.execute(f"SELECT COUNT(*) FROM {v}")
            seen.append(cursor.fetchall()[0][0])
        except Exception as exc:  # reported by the assertion below
            seen.append(exc)

    try:
        holder.autocommit = False
        cursor = holder.cursor()
        cursor.execute(f"SELECT COUNT(*) FROM {v}")
        assert cursor.fetchall()[0][0] == 20
        process = start(project, "apply")
        wait_for(lambda: lock_waits(rs) > 0 or process.poll() is not None, "the swap to wait for the holder")
        assert process.poll() is None, "the apply did not wait for the reader: the test proves nothing"
        worker = threading.Thread(target=read)
        worker.start()
        wait_for(lambda: lock_waits(rs) > 1 or not worker.is_alive(), "the second reader to queue")
        assert worker.is_alive() and not seen, f"the second reader did not wait for the swap: {seen}"
        holder.commit()
        code, out, err = finish(process)
        assert code == 0, err + out
        worker.join(WAIT)
    finally:
        holder.close()
        second.close()
    assert seen == [7], "the reader waited for the swap's COMMIT and read the new table"


@pytest.mark.parametrize("action", ["dropAndLoad", "truncateAndLoad", "merge"])
def test_a_late_binding_view_read_in_a_loop_during_an_apply_never_fails(
    redshift_project: RedshiftProject, redshift: RedshiftEngine, tmp_path: Path, action: str
) -> None:
    """A session reading the view over and over while an apply runs sees the old rows or the
    new ones, never an error nor anything between (each action is one transaction)."""
    rs, project = redshift, redshift_project
    seeded(project, rs, tmp_path)
    late_binding_view(rs)
    action_spec(project, rs, action)
    reader = rs.endpoint.connect()
    counts: list[object] = []
    done = threading.Event()

    def read() -> None:
        cursor = reader.cursor()
        while not done.is_set():
            try:
                cursor.execute(f"SELECT COUNT(*) FROM {rs.qualified('v')}")
                counts.append(cursor.fetchall()[0][0])
            except Exception as exc:  # reported by the assertion below
                counts.append(exc)
                return
            time.sleep(0.01)

    worker = threading.Thread(target=read)
    worker.start()
    try:
        out = applied(project)
    finally:
        done.set()
        worker.join(WAIT)
        reader.close()
    assert summary(out) == (1, 0, 0)
    assert counts and set(counts) <= {20, NEW_ROWS[action]}, counts
    assert rs.fetch(f"SELECT COUNT(*) FROM {rs.qualified('v')}") == [(NEW_ROWS[action],)]


# --- grants to Redshift roles --------------------------------------------------------------------

ANALYSTS, AUDITORS = "standin_analysts", "standin_auditors"  # bootstrap.sql: publisher is in the first only

ROLE_PRIVILEGES_SQL = (
    "SELECT identity_name, privilege_type FROM svv_relation_privileges "
    "WHERE namespace_name = %s AND relation_name = 't' AND identity_type = 'role' ORDER BY 1, 2"
)


def test_grants_to_roles_survive_drop_and_load_as_far_as_the_user_sees_them(
    redshift_project: RedshiftProject, redshift: RedshiftEngine, tmp_path: Path
) -> None:
    """GRANT ... TO ROLE shows only in svv_relation_privileges on Redshift: dropAndLoad reads
    it there and grants the same to the role on the replacement (GRANT ... TO ROLE in the plan),
    next to the user, group and PUBLIC grants. A regular user sees only its own roles there:
    the grant to a role it is no member of is not seen, and the plan says such grants are not kept."""
    rs, project = redshift, redshift_project
    seeded(project, rs, tmp_path)
    t = rs.qualified("t")
    rs.execute(f"GRANT SELECT, UPDATE ON {t} TO ROLE {ANALYSTS}")
    rs.execute(f"GRANT SELECT ON {t} TO ROLE {AUDITORS}")
    rs.execute(f"GRANT SELECT ON {t} TO {ALICE}")
    assert rs.fetch(ROLE_PRIVILEGES_SQL, (rs.schema,)) == [(ANALYSTS, "SELECT"), (ANALYSTS, "UPDATE")]
    spec(project, rs, "b", "dropAndLoad", "pqt", 2)
    plan = project.run("plan")
    assert plan.code == 0, plan.err
    assert f'TO ROLE "{ANALYSTS}"' in plan.out and f'TO "{ALICE}"' in plan.out
    assert AUDITORS not in plan.out
    assert "grants to roles: svv_relation_privileges shows user publisher only the roles granted to it" in plan.out
    assert "privileges granted to Redshift roles" not in plan.out
    applied(project)
    assert rs.fetch(ROLE_PRIVILEGES_SQL, (rs.schema,)) == [(ANALYSTS, "SELECT"), (ANALYSTS, "UPDATE")]
    assert privileges(rs, "t") == {f"{ANALYSTS}=rw", f"{ALICE}=r"}, "the auditors' grant, unseen, is gone"
