"""Issue 22: every value reaches the table as written, or the plan says what changes, or
refuses. Columns the results lack are left to their DEFAULT (a NOT NULL one without a
DEFAULT refused at plan time); the spec's description is shown in the plan and becomes the
comment of the tables the publisher creates; dropAndLoad lists the old table's columns the
new one will not have."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from publisher.model.errors import InvalidInput
from publisher.model.plan import Plan, Publication, Statement
from publisher.model.target import ColumnFacts, ColumnState, RedshiftTable, TableFacts
from publisher.planning.planner import plan_publication
from publisher.planning.view import TargetView
from publisher.reports.render import plan_markdown, publication_text
from tests.test_planner_golden import NOW, make_results, make_spec, round_tripped, view

EVOLVING = ("load", "truncateAndLoad", "merge")


def statements(publication: Publication) -> list[str]:
    return [s.text for s in publication.steps if isinstance(s, Statement)]


def inserts(publication: Publication) -> list[str]:
    """The statements that move the results' rows into the table (or its twin)."""
    return [t for t in statements(publication) if t.startswith(("INSERT INTO", "COPY")) and "publisher" not in t]


def with_note_column(target: str, action: str, facts: ColumnFacts | None = None) -> TargetView:
    """The table of the golden plans with a column ``note`` the results lack (instead of status)."""
    seen = view(target, action)
    assert seen.table is not None
    note = ColumnState("note", "string" if target == "hive" else "character varying(20)")
    table = replace(seen.table, columns=(*seen.table.columns[:-1], note))
    if facts is not None:
        table = table.with_own(RedshiftTable, facts=TableFacts(columns=(("note", facts),)))
    return replace(seen, table=table)


# ---------------------------------------------------------------- columns the results lack


@pytest.mark.parametrize("action", EVOLVING)
def test_a_column_the_results_lack_is_left_to_its_default_on_redshift(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, action: str
) -> None:
    monkeypatch.chdir(tmp_path)
    spec = make_spec(tmp_path, "redshift", action, "pqt", "onSchemaChange: addColumns\n")
    seen = with_note_column("redshift", action, ColumnFacts(default="'n/a'::character varying"))
    publication = round_tripped(plan_publication(spec, make_results("redshift", "pqt"), seen, NOW))
    moved = [t for t in inserts(publication) if '"orders"' in t]
    assert moved, statements(publication)
    for text in moved:
        assert '"note"' not in text and "CAST(NULL" not in text, text
    shown = "note DEFAULT 'n/a'::character varying"
    assert any("left out of the insert" in n and shown in n for n in publication.notes)


@pytest.mark.parametrize("action", EVOLVING)
def test_a_column_the_results_lack_is_left_out_of_the_hive_insert(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, action: str
) -> None:
    """Spark 4 and Hive 3+ take a column list that names fewer columns than the table: the others
    get their DEFAULT where the engine has one, else NULL (never a CAST(NULL ...) that hides it)."""
    monkeypatch.chdir(tmp_path)
    spec = make_spec(tmp_path, "hive", action, "pqt", "onSchemaChange: addColumns\n")
    publication = plan_publication(spec, make_results("hive", "pqt"), with_note_column("hive", action), NOW)
    results_in = [t for t in inserts(publication) if "__stage_" in t and "NOT EXISTS" not in t]
    assert results_in, statements(publication)
    for text in results_in:
        assert "`note`" not in text and "CAST(NULL" not in text, text
    if action == "merge":  # the table's own rows keep their note values
        kept = [t for t in inserts(publication) if "NOT EXISTS" in t]
        assert kept and all("`note`" in t for t in kept)


@pytest.mark.parametrize("action", EVOLVING)
def test_a_not_null_column_without_default_the_results_lack_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, action: str
) -> None:
    monkeypatch.chdir(tmp_path)
    spec = make_spec(tmp_path, "redshift", action, "pqt", "onSchemaChange: addColumns\n")
    seen = with_note_column("redshift", action, ColumnFacts(not_null=True))
    with pytest.raises(InvalidInput) as refused:
        plan_publication(spec, make_results("redshift", "pqt"), seen, NOW)
    message = str(refused.value)
    assert "\n" not in message
    assert "NOT NULL columns without a DEFAULT that the results lack: note VARCHAR(20) (every new row" in message
    assert "dropAndLoad recreates the table" in message


@pytest.mark.parametrize(
    ("facts", "shown"),
    [
        (ColumnFacts(not_null=True, default="0"), "note DEFAULT 0"),
        (ColumnFacts(not_null=True, identity="1,1"), "note IDENTITY(1, 1)"),
    ],
)
def test_a_not_null_column_with_a_default_or_identity_is_not_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, facts: ColumnFacts, shown: str
) -> None:
    monkeypatch.chdir(tmp_path)
    spec = make_spec(tmp_path, "redshift", "load", "pqt", "onSchemaChange: addColumns\n")
    publication = plan_publication(
        spec, make_results("redshift", "pqt"), with_note_column("redshift", "load", facts), NOW
    )
    assert any(n.endswith(shown) for n in publication.notes), publication.notes


# ---------------------------------------------------------------- description


DESCRIPTION = 'Orders for finance: it\'s "daily"'


@pytest.mark.parametrize("action", ["create", "createAndLoad", "dropAndLoad"])
def test_the_description_is_the_comment_of_a_hive_table_the_publisher_creates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, action: str
) -> None:
    monkeypatch.chdir(tmp_path)
    spec = make_spec(tmp_path, "hive", action, "pqt", "description: 'Orders for finance: it''s \"daily\"'\n")
    assert spec.description == DESCRIPTION
    publication = round_tripped(plan_publication(spec, make_results("hive", "pqt"), view("hive", action), NOW))
    create = next(t for t in statements(publication) if t.startswith("CREATE TABLE `default`.`orders_"))
    assert "\nCOMMENT 'Orders for finance: it\\'s \"daily\"'" in create
    assert f"    description: {DESCRIPTION}" in publication_text(1, publication).splitlines()


@pytest.mark.parametrize("action", ["create", "createAndLoad", "dropAndLoad"])
def test_the_description_is_the_comment_of_a_redshift_table_the_publisher_creates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, action: str
) -> None:
    monkeypatch.chdir(tmp_path)
    spec = make_spec(tmp_path, "redshift", action, "pqt", "description: 'Orders for finance: it''s \"daily\"'\n")
    publication = round_tripped(plan_publication(spec, make_results("redshift", "pqt"), view("redshift", action), NOW))
    texts = statements(publication)
    comment = [t for t in texts if t.startswith("COMMENT ON TABLE")]
    assert len(comment) == 1
    assert comment[0].endswith("IS 'Orders for finance: it''s \"daily\"'")
    created = next(i for i, t in enumerate(texts) if t.startswith('CREATE TABLE "analytics"."orders_'))
    assert texts.index(comment[0]) > created
    if action == "dropAndLoad":  # on the replacement, before it takes the table's name
        assert '"orders__new_' in comment[0]
        assert texts.index(comment[0]) < next(i for i, t in enumerate(texts) if 'RENAME TO "orders"' in t)


def test_the_description_is_shown_in_the_markdown_plan(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    spec = make_spec(tmp_path, "hive", "load", "pqt", 'description: "two\\nlines `x`"\n')
    publication = plan_publication(spec, make_results("hive", "pqt"), view("hive", "load"), NOW)
    text = publication_text(1, publication)
    assert "    description: two\\nlines `x`" in text.splitlines()
    assert "description: two\\nlines `x`" in plan_markdown(Plan("2026-11-28T12:00:00Z", False, (publication,)))


def test_a_description_redshift_would_not_keep_as_written_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    spec = make_spec(tmp_path, "redshift", "createAndLoad", "pqt", "description: 'C:\\temp'\n")
    with pytest.raises(InvalidInput, match=r"description holds a backslash.*write it without"):
        plan_publication(spec, make_results("redshift", "pqt"), view("redshift", "createAndLoad"), NOW)


def test_drop_and_load_the_description_wins_over_the_old_comment_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    base = view("redshift", "dropAndLoad")
    assert base.table is not None
    seen = replace(base, table=base.table.with_own(RedshiftTable, facts=TableFacts(comment="the old words")))
    described = make_spec(tmp_path, "redshift", "dropAndLoad", "pqt", "description: new words\n")
    publication = plan_publication(described, make_results("redshift", "pqt"), seen, NOW)
    comments = [t for t in statements(publication) if t.startswith("COMMENT ON TABLE")]
    assert comments == ['COMMENT ON TABLE "analytics"."orders__new_20261128120000" IS \'new words\'']
    assert any("description replaces the old table's ('the old words')" in n for n in publication.notes)
    plain = make_spec(tmp_path, "redshift", "dropAndLoad", "pqt")
    publication = plan_publication(plain, make_results("redshift", "pqt"), seen, NOW)
    comments = [t for t in statements(publication) if t.startswith("COMMENT ON TABLE")]
    assert comments == ['COMMENT ON TABLE "analytics"."orders__new_20261128120000" IS \'the old words\'']


# ---------------------------------------------------------------- dropAndLoad's lost columns


def test_drop_and_load_lists_the_old_tables_columns_the_new_one_lacks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    base = view("redshift", "dropAndLoad")
    assert base.table is not None
    columns = (
        ColumnState("row_id", "bigint"),
        *base.table.columns,
        ColumnState("region", "character varying(256)"),
    )
    facts = TableFacts(columns=(("row_id", ColumnFacts(not_null=True, identity="1,1")),))
    seen = replace(base, table=replace(base.table, columns=columns).with_own(RedshiftTable, facts=facts))
    spec = make_spec(tmp_path, "redshift", "dropAndLoad", "pqt")
    publication = plan_publication(spec, make_results("redshift", "pqt"), seen, NOW)
    [note] = [n for n in publication.notes if n.startswith("columns of the old table the new one will not have")]
    assert "row_id bigint IDENTITY(1, 1), region character varying(256)" in note
    assert "row_id is an IDENTITY column: lost, with its sequence" in note


def test_drop_and_load_on_hive_lists_the_lost_columns_and_none_without_any(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    base = view("hive", "dropAndLoad")
    assert base.table is not None
    spec = make_spec(tmp_path, "hive", "dropAndLoad", "pqt")
    same = plan_publication(spec, make_results("hive", "pqt"), base, NOW)
    assert not [n for n in same.notes if n.startswith("columns of the old table")]
    wider = replace(base, table=replace(base.table, columns=(*base.table.columns, ColumnState("region", "string"))))
    publication = plan_publication(spec, make_results("hive", "pqt"), wider, NOW)
    assert any(n.endswith("(the results lack them; their values go): region string") for n in publication.notes)
