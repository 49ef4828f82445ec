"""publisher serve over real HTTP into PostgreSQL: a `publisher serve` child process, urllib as
the client (tests/serving.py), the target's database read back through a connection of the
test's own. Every action of the platform's endpoint, polled until complete, the tables' values
checked; the same PUT again answered AlreadyPublished, with one ledger row."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from tests.fixtures.postgres import PostgresEngine, open_postgres_engine, postgres_endpoint_from_env
from tests.fixtures.redshift import own_schema
from tests.integration.test_apply_postgres import table_rows
from tests.integration.test_apply_redshift import expected
from tests.serving import TOKEN_ENV, Served, project, published, request_body, results, serve_environment, start, stop

pytestmark = [pytest.mark.redshift, pytest.mark.postgres, pytest.mark.server, pytest.mark.slow]


@pytest.fixture(scope="module")
def pg() -> Iterator[PostgresEngine]:
    """A schema and a bucket of the module's own (tests/fixtures/postgres.py makes them per test)."""
    with serve_environment(), own_schema(open_postgres_engine(*postgres_endpoint_from_env())) as engine:
        yield engine


@pytest.fixture(scope="module")
def served(pg: PostgresEngine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    server = start(project(tmp_path_factory.mktemp("serve-postgres"), pg), os.environ[TOKEN_ENV], "server.log")
    try:
        yield server
    finally:
        stop(server)


def body(pg: PostgresEngine, table: str, action: str) -> dict[str, Any]:
    return request_body(pg, pg.database, table, action)


def test_every_action_through_the_server(served: Served, pg: PostgresEngine) -> None:
    first = results(pg, served.root, 101, 0, 12)
    published(served, 101, body(pg, "orders", "dropAndLoad"))  # the table does not exist yet
    assert table_rows(pg, "orders") == expected(first)

    more = results(pg, served.root, 102, 100, 5)
    published(served, 102, body(pg, "orders", "load"))
    assert table_rows(pg, "orders") == expected(first + more)

    fresh = results(pg, served.root, 103, 200, 7)
    published(served, 103, body(pg, "orders", "truncateAndLoad"))
    assert table_rows(pg, "orders") == expected(fresh)

    again = results(pg, served.root, 104, 300, 9)
    published(served, 104, body(pg, "orders", "dropAndLoad"))  # replaces an existing table
    assert table_rows(pg, "orders") == expected(again)

    loaded = results(pg, served.root, 105, 400, 6)
    session = published(served, 105, body(pg, "daily", "createAndLoad"))
    name = session["publication"]["publishedTable"]
    assert name.startswith(f"{pg.schema}.daily_")
    assert table_rows(pg, name.split(".")[1]) == expected(loaded)

    merged = results(pg, served.root, 106, 305, 10)  # 305..308 replaced, 309..314 added
    published(served, 106, {**body(pg, "orders", "merge"), "mergeKeys": ["id"]})
    kept = [r for r in expected(again) if r[0] < 305]
    assert table_rows(pg, "orders") == sorted(kept + expected(merged), key=lambda r: r[0])

    ledger = {r["job_group"]: r["row_count"] for r in pg.ledger("done")}
    assert {j: ledger[j] for j in range(101, 106)} == {101: 12, 102: 5, 103: 7, 104: 9, 105: 6}
    reply = served.put(104, body(pg, "orders", "dropAndLoad"))
    assert reply.body["reason"] == "AlreadyPublished", reply.text
    assert len([r for r in pg.ledger("done") if r["job_group"] == 104]) == 1
    assert not [t for t in pg.tables() if "__" in t]
