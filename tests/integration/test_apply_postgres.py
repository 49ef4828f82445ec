"""What only the PostgreSQL target has, on the real PostgreSQL 15 the stand-in runs (its database
pubpg, reached directly): values by sums, null counts and keys, results in a local folder,
names PostgreSQL keeps as written, and tables made by hand (partitioned, with views, indexes,
grants, comments, foreign keys). The behaviours every target shares run on it through the
``target`` fixture (tests/integration/conftest.py): every action x format in test_actions.py,
a kill at every step in test_crash_recovery.py."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.fixtures.postgres import PostgresEngine
from tests.fixtures.redshift import RedshiftProject
from tests.integration.test_apply_redshift import comparable, expected
from tests.resultfiles import rows, write

pytestmark = [pytest.mark.redshift, pytest.mark.postgres]

TEXT_TYPES = {"amount": "NUMERIC(10,2)", "at": "TIMESTAMPTZ", "day": "DATE"}
"""CSV and JSON values are text: their types as a spec names them (the inferred ones are a guess)."""


@pytest.fixture
def pg(postgres: PostgresEngine) -> PostgresEngine:
    return postgres


@pytest.fixture
def project(tmp_path: Path, postgres: PostgresEngine) -> RedshiftProject:
    return RedshiftProject(
        tmp_path, postgres.connections, results_template=postgres.results_template, results_connection="s3"
    )


def spec(
    project: RedshiftProject, pg: PostgresEngine, name: str, action: str, fmt: str, job: int, **extra: Any
) -> Path:
    keys: dict[str, Any] = {
        "jobGroup": job,
        "flowNodeId": 1,
        "connection": {"id": 1},
        "path": [pg.database],
        "table": pg.table_name(extra.pop("table", "t")),
        "action": action,
        "inputFormat": fmt,
    }
    if action == "merge":
        keys["mergeKeys"] = ["id"]
    if fmt in ("csv", "json"):
        keys["columnTypes"] = dict(TEXT_TYPES)
    keys.update(extra)
    return project.spec(name, **keys)


def results(pg: PostgresEngine, tmp_path: Path, fmt: str, job: int, first: int, count: int) -> list[dict[str, Any]]:
    folder = tmp_path / "local-results" / str(job)
    data = write(folder, fmt, first, count, 3, tricky=True)
    pg.upload(folder, job)
    return data


def table_rows(pg: PostgresEngine, table: str) -> list[tuple[Any, ...]]:
    return sorted((comparable(r) for r in pg.rows(table)), key=lambda r: r[0])


def applied(project: RedshiftProject, *args: str) -> str:
    result = project.run("apply", *args)
    assert result.code == 0, result.err + result.out
    return result.out


def ddl(pg: PostgresEngine, name: str, fmt: str, amount: str = "NUMERIC(10,2)", extra: str = "") -> str:
    tags = "TEXT" if fmt == "csv" else "TEXT[]"
    return (
        f"CREATE TABLE {pg.qualified(name)} (id BIGINT, name TEXT, amount {amount}, at TIMESTAMPTZ, day DATE, "
        f"tags {tags}{extra})"
    )


def test_values_by_value_sums_null_counts_and_keys(
    project: RedshiftProject, pg: PostgresEngine, tmp_path: Path
) -> None:
    """Aggregates computed in PostgreSQL equal the ones computed from the rows written."""
    data = results(pg, tmp_path, "pqt", 1, 1, 500)
    spec(project, pg, "a", "dropAndLoad", "pqt", 1)
    applied(project)
    ((count, total, nulls, lo, hi, tagged),) = pg.fetch(
        f"SELECT COUNT(*), SUM(amount), COUNT(*) - COUNT(name), MIN(id), MAX(id), SUM(cardinality(tags)) "
        f"FROM {pg.qualified('t')}"
    )
    assert count == 500
    assert total == sum(r["amount"] for r in data)
    assert nulls == sum(1 for r in data if r["name"] is None)
    assert (lo, hi) == (1, 500)
    assert tagged == 1000


def test_local_results_are_streamed_without_s3(tmp_path: Path, pg: PostgresEngine) -> None:
    """Results in a local folder, no s3 connection at all: the publisher reads the files."""
    connection = {k: v for k, v in pg.connections[0].items() if k != "s3"}
    (tmp_path / "p").mkdir()
    project = RedshiftProject(tmp_path / "p", [connection])
    data = write(project.results(7, 1), "avro", 1, 40, tricky=True)
    spec(project, pg, "a", "createAndLoad", "avro", 7)
    applied(project)
    (made,) = pg.tables() - {"publications"}
    assert table_rows(pg, made) == expected(data)


# --- names PostgreSQL keeps as written ----------------------------------------------------------


def test_names_with_capitals_quotes_and_non_ascii_are_kept(project: RedshiftProject, pg: PostgresEngine) -> None:
    """A table named with capitals, and result columns with capitals, a double quote, a space and
    non-ASCII letters: PostgreSQL keeps quoted names, so the table has them exactly."""
    names = ["OrderId", 'Say "Hi"', "prix €", "Zürich"]
    table = pa.table(
        {n: pa.array(v) for n, v in zip(names, [[1, 2], ["a", None], [1.5, 2.5], ["x", "ü"]], strict=True)}
    )
    folder = project.results(5, 1)
    folder.mkdir(parents=True)
    pq.write_table(table, folder / "part-00000.parquet")
    pg.upload(folder, 5)
    spec(project, pg, "a", "dropAndLoad", "pqt", 5, table="Orders")
    applied(project)
    assert "Orders" in pg.tables()
    assert [c for c, _ in pg.columns("Orders")] == names
    got = sorted(pg.fetch(f'SELECT "OrderId", "Say ""Hi""", "prix €", "Zürich" FROM {pg.qualified("Orders")}'))
    assert got == [(1, "a", 1.5, "x"), (2, None, 2.5, "ü")]
    # Merging by a key with capitals: matched as written.
    spec(project, pg, "a", "merge", "pqt", 5, table="Orders", mergeKeys=["OrderId"])
    applied(project)
    assert pg.count("Orders") == 2


# --- tables made by hand -------------------------------------------------------------------------


def test_a_declaratively_partitioned_table_is_loaded_and_replaced_by_row(
    project: RedshiftProject, pg: PostgresEngine, tmp_path: Path
) -> None:
    """Rows go to their partitions by value (load, truncateAndLoad, merge keep the table and
    its partitions); dropAndLoad says the replacement is a plain table."""
    t = pg.qualified("t")
    pg.execute(ddl(pg, "t", "pqt") + " PARTITION BY RANGE (id)")
    pg.execute(f"CREATE TABLE {pg.qualified('t_low')} PARTITION OF {t} FOR VALUES FROM (MINVALUE) TO (30)")
    pg.execute(f"CREATE TABLE {pg.qualified('t_high')} PARTITION OF {t} FOR VALUES FROM (30) TO (MAXVALUE)")
    data = results(pg, tmp_path, "pqt", 1, 1, 60)
    spec(project, pg, "a", "load", "pqt", 1)
    applied(project)
    assert pg.count("t_low") == 29 and pg.count("t_high") == 31
    data = results(pg, tmp_path, "pqt", 2, 20, 20)
    spec(project, pg, "a", "truncateAndLoad", "pqt", 2)
    applied(project)
    assert table_rows(pg, "t") == expected(data)
    assert pg.count("t_low") == 10 and pg.count("t_high") == 10
    results(pg, tmp_path, "pqt", 3, 35, 10)  # 35..39 replaced, 40..44 added
    spec(project, pg, "a", "merge", "pqt", 3)
    applied(project)
    assert pg.count("t") == 25 and pg.count("t_high") == 15
    spec(project, pg, "a", "dropAndLoad", "pqt", 3)
    plan = project.run("plan")
    assert plan.code == 0 and "the old table is partitioned (PARTITION BY)" in plan.out, plan.out + plan.err


def test_drop_and_load_refuses_a_table_views_or_foreign_keys_depend_on(
    project: RedshiftProject, pg: PostgresEngine, tmp_path: Path
) -> None:
    t = pg.qualified("t")
    pg.execute(ddl(pg, "t", "pqt", extra=", PRIMARY KEY (id)"))
    pg.execute(f"CREATE VIEW {pg.qualified('v')} AS SELECT id FROM {t}")
    results(pg, tmp_path, "pqt", 1, 1, 10)
    spec(project, pg, "a", "dropAndLoad", "pqt", 1)
    refused = project.run("plan")
    assert refused.code == 1 and f"views depend on table {pg.database}.{pg.schema}.t ({pg.schema}.v)" in refused.err
    # truncateAndLoad keeps the view, which reads the new rows.
    spec(project, pg, "a", "truncateAndLoad", "pqt", 1)
    applied(project)
    assert pg.fetch(f"SELECT COUNT(*) FROM {pg.qualified('v')}") == [(10,)]
    pg.execute(f"DROP VIEW {pg.qualified('v')}")
    pg.execute(f"CREATE TABLE {pg.qualified('child')} (id BIGINT REFERENCES {t} (id))")
    spec(project, pg, "a", "dropAndLoad", "pqt", 1)
    refused = project.run("plan")
    assert refused.code == 1 and "foreign keys of other tables refer to table" in refused.err, refused.err


def test_drop_and_load_keeps_grants_owner_comments_keys_and_indexes(
    project: RedshiftProject, pg: PostgresEngine, tmp_path: Path
) -> None:
    """The replacement has what the old table had, where the results still have its columns:
    grants, comments, the primary key, and its own indexes (an expression, a partial unique one,
    a name with capitals and a space) under their names; an index on a column the results lack
    is named in the plan as dropped. The key and the indexes keep their names (SQL may name them:
    ON CONFLICT ON CONSTRAINT t_pkey), after a second dropAndLoad too."""
    t = pg.qualified("t")
    pg.execute(ddl(pg, "t", "pqt", extra=", legacy TEXT, PRIMARY KEY (id)"))
    pg.execute(f"CREATE INDEX t_by_day ON {t} (day DESC)")
    pg.execute(f'CREATE UNIQUE INDEX "Name Lower" ON {t} (lower(name), id) WHERE id > 0')
    pg.execute(f"CREATE INDEX t_by_legacy ON {t} (legacy)")
    pg.execute(f"GRANT SELECT, INSERT ON {t} TO standin_readers")
    pg.execute(f"COMMENT ON TABLE {t} IS 'orders, by hand'")
    pg.execute(f"COMMENT ON COLUMN {t}.name IS 'who ordered'")

    def indexes() -> dict[str, str]:
        query = "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = %s AND tablename = 't'"
        return {name: definition for name, definition in pg.fetch(query, (pg.schema,))}

    before = indexes()
    results(pg, tmp_path, "pqt", 1, 1, 10)
    spec(project, pg, "a", "dropAndLoad", "pqt", 1)
    plan = project.run("plan")
    assert plan.code == 0, plan.err
    assert 're-created on the new table, as the old one defines them: its indexes "Name Lower", "t_by_day"' in plan.out
    assert "not re-created: CREATE INDEX t_by_legacy ON" in plan.out
    assert "(the results change or lack its columns legacy)" in plan.out
    assert "kept from the old table: PRIMARY KEY (id) (enforced" in plan.out
    applied(project)
    after = indexes()
    for name in ("t_by_day", "Name Lower"):
        assert after[name] == before[name], "the same definition, on the table, under its name"
    assert "t_by_legacy" not in after
    assert not [n for n in pg.tables() if "__" in n], "the old table and its renamed indexes are gone"
    acl = pg.fetch(
        "SELECT array_to_string(c.relacl, ',') FROM pg_class c JOIN pg_namespace n ON c.relnamespace = n.oid "
        "WHERE n.nspname = %s AND c.relname = 't'",
        (pg.schema,),
    )[0][0]
    assert "standin_readers=ar/" in acl
    comments = pg.fetch(f"SELECT obj_description('{t}'::regclass, 'pg_class'), col_description('{t}'::regclass, 2)")
    assert comments == [("orders, by hand", "who ordered")]
    ((kind, name),) = pg.fetch(f"SELECT contype, conname FROM pg_constraint WHERE conrelid = '{t}'::regclass")
    assert (kind, name) == ("p", "t_pkey"), "the key kept under its name"
    assert pg.count("t") == 10
    # The indexes are used as before: a second dropAndLoad trades them again.
    results(pg, tmp_path, "pqt", 2, 100, 5)
    spec(project, pg, "a", "dropAndLoad", "pqt", 2)
    applied(project)
    kept = ("t_pkey", "t_by_day", "Name Lower")
    assert {n: d for n, d in indexes().items() if n in before} == {n: before[n] for n in kept}


def test_merge_refuses_duplicate_and_null_keys_with_nothing_changed(
    project: RedshiftProject, pg: PostgresEngine, tmp_path: Path
) -> None:
    pg.execute(ddl(pg, "t", "pqt"))
    pg.execute(f"INSERT INTO {pg.qualified('t')} (id, name) VALUES (1, 'kept')")
    folder = tmp_path / "local-results" / "4"
    folder.mkdir(parents=True)
    chunk = [*rows(1, 3), rows(2, 1)[0]]  # id 2 twice
    schema = pa.schema([("id", pa.int64()), ("name", pa.string()), ("amount", pa.decimal128(10, 2))])
    pq.write_table(pa.Table.from_pylist([{k: r[k] for k in schema.names} for r in chunk], schema), folder / "p.parquet")
    pg.upload(folder, 4)
    spec(project, pg, "a", "merge", "pqt", 4, onSchemaChange="addColumns")
    result = project.run("apply")
    assert result.code == 1 and "more than once" in result.err, result.err
    assert pg.fetch(f"SELECT id, name FROM {pg.qualified('t')}") == [(1, "kept")]
    assert [c for c, _ in pg.columns("t")] == ["id", "name", "amount", "at", "day", "tags"]


def test_decimals_wider_than_38_digits_and_nested_values_publish(project: RedshiftProject, pg: PostgresEngine) -> None:
    """Where Hive and Redshift stop (precision 38, nested types), PostgreSQL keeps the values:
    NUMERIC(50,10), and a struct as JSONB."""
    big = Decimal("1234567890123456789012345678901234567890.0123456789")
    table = pa.table(
        {
            "id": pa.array([1, 2], pa.int64()),
            "big": pa.array([big, None], pa.decimal256(50, 10)),
            "info": pa.array([{"a": 1, "b": "x"}, None], pa.struct([("a", pa.int32()), ("b", pa.string())])),
        }
    )
    folder = project.results(9, 1)
    folder.mkdir(parents=True)
    pq.write_table(table, folder / "part-00000.parquet")
    pg.upload(folder, 9)
    spec(project, pg, "a", "dropAndLoad", "pqt", 9)
    applied(project)
    assert pg.columns("t") == [("id", "bigint"), ("big", "numeric(50,10)"), ("info", "jsonb")]
    got = pg.fetch(f"SELECT id, big, info->>'b', (info->>'a')::int FROM {pg.qualified('t')} ORDER BY id")
    assert got == [(1, big, "x", 1), (2, None, None, None)]
