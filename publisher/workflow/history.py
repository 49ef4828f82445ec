"""The ledger's rows by job group or run, across a config's connections: what `publisher
status` and `publisher serve` report (planning reads each spec's own rows: planning/snapshot.py)."""

from __future__ import annotations

from publisher.dialects import dialect_for
from publisher.engines.pool import Pool
from publisher.inputs.config import Config, Connection
from publisher.model.relation import Relation
from publisher.planning import ledger


def ledger_rows(
    config: Config, pool: Pool, column: str, value: int | str, only: Connection | None = None
) -> list[tuple[Connection, ledger.Entry]]:
    """The rows of every target connection's ledger (or ``only`` that one's) whose ``column``
    equals ``value`` (a job group, a run id), oldest first; a connection without a ledger yet
    holds none."""
    found: list[tuple[Connection, ledger.Entry]] = []
    for connection in config.connections:
        if connection.type == "s3" or (only is not None and connection.id != only.id):
            continue
        dialect = dialect_for(connection.type)
        # The ledger of a connection bound to a database is in that database (Redshift: a
        # schema of it); one that writes anywhere keeps it in a database of its own, which
        # ledger_relation names (the placeholder database is not read).
        bound = connection.target_settings.bound_database or "default"
        home = connection.ledger_relation(Relation(bound, connection.target.default_schema, "x"))
        target = pool.target(connection)
        if not target.namespace_exists(home) or home.name not in target.table_names(home):
            continue
        state = target.table_state(home, exists=True)
        lacks = ledger.lacking(tuple(c.name for c in state.columns)) if state else ()
        rows = ledger.parse(target.fetch(ledger.select_where(dialect, home, column, value, lacks)))
        found += [(connection, e) for e in rows]
    return sorted(found, key=lambda ce: (str(ce[1].published_at), ce[1].state == "done"))
