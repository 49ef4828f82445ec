"""Golden plans of Redshift tables that others depend on: dropAndLoad of a table owned by
another user, with grants to users, a group, a role and PUBLIC, and a late-binding view on it;
distribution and sort keys from the spec or kept from the old table. UPDATE_GOLDEN=1 rewrites them."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import pytest

from publisher.inputs.config import load_config
from publisher.inputs.spec import Spec, load_specs
from publisher.model.errors import InvalidInput
from publisher.model.layout import Layout
from publisher.model.plan import RowCheck, Statement
from publisher.model.target import ColumnFacts, ColumnState, Grant, KeyConstraint, RedshiftTable, TableFacts
from publisher.planning.planner import plan_publication
from publisher.reports.render import publication_text
from tests.test_planner_golden import CASES, GOLDEN, NOW, make_results, make_spec, round_tripped, view

GRANTS = (
    Grant("user", "alice", ("SELECT",)),
    Grant("group", "analysts", ("SELECT", "UPDATE")),
    Grant("public", "", ("SELECT",)),
    Grant("user", "etl bot", ("INSERT",), grantable=True),
    Grant("role", "reporting readers", ("SELECT", "REFERENCES")),
)


def golden(tmp_path: Path, text: str, name: str) -> None:
    path = GOLDEN / "redshift" / name
    text = text.replace(str(tmp_path) + "/", "") + "\n"
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(text)
    assert text == path.read_text()


def test_drop_and_load_keeps_grants_and_owner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    spec = make_spec(tmp_path, "redshift", "dropAndLoad", "pqt")
    base = view("redshift", "dropAndLoad")
    assert base.table is not None
    table = base.table.with_own(
        RedshiftTable,
        owner="reporting",
        grants=GRANTS,
        ungranted=("user alice: D", "role auditors: DROP"),
        late_binding_views=("reports.orders_lbv",),
    )
    publication = plan_publication(spec, make_results("redshift", "pqt"), replace(base, table=table), NOW)
    golden(tmp_path, publication_text(1, round_tripped(publication)), "dropAndLoad_pqt_grants_owner.txt")


def test_drop_and_load_of_a_table_only_its_owner_may_drop_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    spec = make_spec(tmp_path, "redshift", "dropAndLoad", "pqt")
    base = view("redshift", "dropAndLoad")
    assert base.table is not None
    table = base.table.with_own(RedshiftTable, owner="reporting", owner_only=True)
    with pytest.raises(InvalidInput, match="is owned by reporting: only that user or a superuser may drop"):
        plan_publication(spec, make_results("redshift", "pqt"), replace(base, table=table), NOW)


def spec_with(tmp_path: Path, action: str, extra: str) -> Spec:
    """The golden plans' Redshift spec with more keys."""
    base = make_spec(tmp_path, "redshift", action, "pqt")
    path = tmp_path / "spec.yaml"
    path.write_text(path.read_text() + extra)
    specs, problems = load_specs([path], load_config(CASES / "publisher.yaml"))
    assert not problems and base.relation == specs[0].relation, problems
    return specs[0]


def test_create_and_load_with_the_specs_keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    spec = spec_with(tmp_path, "createAndLoad", "distKey: Customer_Id\nsortKeys: [ordered_at, order_id]\n")
    publication = plan_publication(spec, make_results("redshift", "pqt"), view("redshift", "createAndLoad"), NOW)
    golden(tmp_path, publication_text(1, round_tripped(publication)), "createAndLoad_pqt_keys.txt")


def test_drop_and_load_keeps_the_old_tables_keys_where_the_columns_remain(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DISTKEY (customer_id) is kept; of SORTKEY (ship_date, gone, status) the columns up to
    the one the results lack; each said in a note."""
    monkeypatch.chdir(tmp_path)
    spec = make_spec(tmp_path, "redshift", "dropAndLoad", "pqt")
    base = view("redshift", "dropAndLoad")
    assert base.table is not None
    table = base.table.with_own(RedshiftTable, layout=Layout("KEY", "customer_id", ("ship_date", "gone", "status")))
    publication = plan_publication(spec, make_results("redshift", "pqt"), replace(base, table=table), NOW)
    golden(tmp_path, publication_text(1, round_tripped(publication)), "dropAndLoad_pqt_keys_kept.txt")


def test_the_specs_keys_win_over_the_old_tables_and_name_result_columns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    base = view("redshift", "dropAndLoad")
    assert base.table is not None
    seen = replace(base, table=base.table.with_own(RedshiftTable, layout=Layout("KEY", "customer_id", ("ship_date",))))
    spec = spec_with(tmp_path, "dropAndLoad", "distStyle: ALL\n")
    publication = plan_publication(spec, make_results("redshift", "pqt"), seen, NOW)
    statements = [s.text for s in publication.steps if isinstance(s, Statement)]
    create = next(text for text in statements if text.startswith('CREATE TABLE "analytics"'))
    assert create.endswith(')\nDISTSTYLE ALL\nSORTKEY ("ship_date")')
    spec = spec_with(tmp_path, "dropAndLoad", "sortKeys: [nope]\n")
    with pytest.raises(InvalidInput, match="distKey/sortKeys name columns the results do not have: nope"):
        plan_publication(spec, make_results("redshift", "pqt"), seen, NOW)


def test_keys_of_a_spec_that_writes_into_an_existing_table_are_a_note(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    spec = spec_with(tmp_path, "truncateAndLoad", "distStyle: EVEN\n")
    publication = plan_publication(spec, make_results("redshift", "pqt"), view("redshift", "truncateAndLoad"), NOW)
    assert any(
        "apply to tables the publisher creates: dev.analytics.orders keeps its own" in n for n in publication.notes
    )


FACTS = TableFacts(
    comment="Orders, one row per order (the sales team's)",
    columns=(
        ("order_id", ColumnFacts(comment="the order's id", encoding="az64", not_null=True, identity="1,1")),
        ("customer_id", ColumnFacts(encoding="zstd", not_null=True, default="0")),
        ("amount", ColumnFacts(comment="in EUR; 'gross'", encoding="az64")),
        ("ordered_at", ColumnFacts(encoding="az64", not_null=True, default="getdate()")),
        ("ship_date", ColumnFacts(encoding="az64", default="nextval('ship_seq'::regclass)")),
        ("status", ColumnFacts(comment="C:\\codes", encoding="bytedict", default="'new'::character varying")),
        ("region", ColumnFacts(comment="sales region", encoding="lzo")),
    ),
    keys=(KeyConstraint("PRIMARY KEY", ("order_id",)), KeyConstraint("UNIQUE", ("customer_id", "region"))),
    foreign_keys=("orders_customer_fkey (customer_id) -> analytics.customers",),
)


def test_drop_and_load_keeps_comments_encodings_not_null_defaults_and_keys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each fact of the old table kept or not, and why, in the plan: comments (quoted as
    literals; one with a backslash not kept), encodings of columns of the same type (one is
    not Redshift's default, so they are pinned), NOT NULL only where the results count no NULL,
    plain defaults of columns of the same type, the primary key; identity not kept."""
    monkeypatch.chdir(tmp_path)
    spec = make_spec(tmp_path, "redshift", "dropAndLoad", "pqt")
    base = view("redshift", "dropAndLoad")
    assert base.table is not None
    columns = (*base.table.columns, ColumnState("region", "character varying(256)"))
    table = replace(base.table, columns=columns).with_own(RedshiftTable, facts=FACTS)
    publication = plan_publication(spec, make_results("redshift", "pqt"), replace(base, table=table), NOW)
    golden(tmp_path, publication_text(1, round_tripped(publication)), "dropAndLoad_pqt_definition_kept.txt")


def test_encodings_that_are_redshifts_defaults_leave_the_new_table_encode_auto(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    spec = make_spec(tmp_path, "redshift", "dropAndLoad", "pqt")
    base = view("redshift", "dropAndLoad")
    assert base.table is not None
    facts = TableFacts(columns=(("order_id", ColumnFacts(encoding="az64")), ("status", ColumnFacts(encoding="lzo"))))
    publication = plan_publication(
        spec, make_results("redshift", "pqt"), replace(base, table=base.table.with_own(RedshiftTable, facts=facts)), NOW
    )
    create = next(s.text for s in publication.steps if isinstance(s, Statement) and s.text.startswith("CREATE TABLE"))
    assert "ENCODE" not in create
    assert any("the new table is ENCODE AUTO" in n for n in publication.notes)


def test_drop_and_load_of_a_table_other_tables_foreign_keys_refer_to_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    spec = make_spec(tmp_path, "redshift", "dropAndLoad", "pqt")
    base = view("redshift", "dropAndLoad")
    assert base.table is not None
    facts = TableFacts(referenced_by=("billing.invoices (invoices_order_fkey)",))
    with pytest.raises(
        InvalidInput, match=r"foreign keys of other tables refer to table .*billing.invoices.*truncateAndLoad"
    ):
        plan_publication(
            spec,
            make_results("redshift", "pqt"),
            replace(base, table=base.table.with_own(RedshiftTable, facts=facts)),
            NOW,
        )


def test_load_into_a_table_of_the_results_columns_copies_into_it_and_checks_copys_count(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No staging where the table's columns are the results' own: COPY into the table, then
    pg_last_copy_count() (Redshift reports no row count for COPY itself) must be the results'."""
    monkeypatch.chdir(tmp_path)
    base = view("redshift", "load")
    assert base.table is not None
    same = ("bigint", "integer", "numeric(10,2)", "timestamp with time zone", "date", "character varying(65535)")
    columns = tuple(replace(c, type=t) for c, t in zip(base.table.columns, same, strict=True))
    table = replace(base.table, columns=columns)
    spec = make_spec(tmp_path, "redshift", "load", "pqt")
    publication = plan_publication(spec, make_results("redshift", "pqt"), replace(base, table=table), NOW)
    checks = [s for s in publication.steps if isinstance(s, RowCheck) and s.checks]
    assert [(s.text, s.expect) for s in checks] == [("SELECT pg_last_copy_count()", (1000,))]
    golden(tmp_path, publication_text(1, round_tripped(publication)), "load_pqt_copied_into_the_table.txt")
