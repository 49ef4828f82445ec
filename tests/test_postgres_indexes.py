"""dropAndLoad on PostgreSQL re-creates the old table's own indexes on the replacement, under
their names, where the results keep every column an index reads with its type."""

from __future__ import annotations

from publisher.dialects import dialect_for
from publisher.dialects.base import ColumnDef
from publisher.model.plan import Statement
from publisher.model.relation import Relation
from publisher.model.target import ColumnState, IndexFacts, KeyConstraint, PostgresTable, TableFacts, TableState

DIALECT = dialect_for("postgres")
NEW = Relation("db", "s", "t__new_20261207120000")
OLD = Relation("db", "s", "t__old_20261207120000")
COLUMNS = (ColumnDef("id", "BIGINT"), ColumnDef("name", "TEXT"), ColumnDef("day", "DATE"))


def index(name: str, using: str | None, *columns: str, unique: bool = False) -> IndexFacts:
    quoted = name if name.isidentifier() and name.islower() else f'"{name}"'  # as quote_ident writes it
    definition = f"CREATE {'UNIQUE ' if unique else ''}INDEX {quoted} ON s.t USING {using}"
    return IndexFacts(name, definition, using, columns, unique)


def table(*indexes: IndexFacts, day: str = "date") -> TableState:
    columns = (ColumnState("id", "bigint"), ColumnState("name", "text"), ColumnState("day", day))
    return TableState(columns, own=PostgresTable(indexes=indexes))


def texts(steps: tuple[object, ...]) -> list[str]:
    return [s.text for s in steps if isinstance(s, Statement)]


def test_an_index_is_built_on_the_replacement_and_trades_names_in_the_swap() -> None:
    kept = DIALECT.kept_indexes(
        table(index("Name Lower", "btree (lower(name), id) WHERE (id > 0)", "id", "name", unique=True)),
        NEW,
        OLD,
        COLUMNS,
    )
    assert texts(kept.build) == [
        'CREATE UNIQUE INDEX "t__new_20261207120000_i1" ON "s"."t__new_20261207120000" '
        "USING btree (lower(name), id) WHERE (id > 0)"
    ]
    assert texts(kept.rename) == [
        'ALTER INDEX "s"."Name Lower" RENAME TO "t__old_20261207120000_i1"',
        'ALTER INDEX "s"."t__new_20261207120000_i1" RENAME TO "Name Lower"',
    ]
    assert kept.notes == ('re-created on the new table, as the old one defines them: its indexes "Name Lower"',)


def test_an_index_on_a_column_the_results_lack_or_retype_is_named_not_built() -> None:
    kept = DIALECT.kept_indexes(
        table(index("by_legacy", "btree (legacy)", "legacy"), index("by_day", "btree (day)", "day"), day="text"),
        NEW,
        OLD,
        COLUMNS,
    )
    assert kept.build == kept.rename == ()
    (note,) = kept.notes
    assert note.startswith("dropped with the old table, not re-created: CREATE INDEX by_legacy ON s.t")
    assert "(the results change or lack its columns legacy)" in note
    assert "(the results change or lack its columns day)" in note


def test_a_partitioned_tables_index_is_named_not_built() -> None:
    kept = DIALECT.kept_indexes(table(index("by_day", None, "day")), NEW, OLD, COLUMNS)
    assert kept.build == () and "(a partitioned table's index)" in kept.notes[0]


def test_working_index_names_stay_within_63_bytes_and_apart() -> None:
    long_new = NEW.renamed("ä" * 20 + "__new_20261207120000")
    kept = DIALECT.kept_indexes(
        table(index("a", "btree (id)", "id"), index("b", "btree (day)", "day")), long_new, OLD, COLUMNS
    )
    names = [t.split('"')[1] for t in texts(kept.build)]
    assert all(len(n.encode()) <= 63 for n in names) and len(set(names)) == 2, names


def test_a_kept_key_is_named_for_the_new_table_and_takes_its_old_name_in_the_swap() -> None:
    keys = (KeyConstraint("PRIMARY KEY", ("id",), "orders_pk"), KeyConstraint("UNIQUE", ("name",)))
    create = DIALECT.create_table(NEW, COLUMNS, kept=TableFacts(None, (), keys))
    assert '  CONSTRAINT "t__new_20261207120000_k1" PRIMARY KEY ("id")' in create
    assert '  UNIQUE ("name")' in create, "a key without a name (none read) stays unnamed"
    kept = DIALECT.kept_indexes(table(), NEW, OLD, COLUMNS, keys)
    assert texts(kept.rename) == [
        'ALTER INDEX "s"."orders_pk" RENAME TO "t__old_20261207120000_k1"',
        'ALTER INDEX "s"."t__new_20261207120000_k1" RENAME TO "orders_pk"',
    ]
