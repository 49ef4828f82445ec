"""Names at the input edge: the publisher's own tables."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from publisher.config import Connection
    from publisher.relation import Relation

CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
"""Characters that no message, plan or SQL text can show unambiguously on one line."""


def ledger_clash(connection: Connection, table: Relation) -> str | None:
    """Why a spec may not publish into ``table``: it is the connection's ledger. None if it may."""
    ledger = connection.ledger_relation(table)
    if str(ledger).lower() != str(table).lower():
        return None
    return (
        f"{ledger} is the publication ledger of connection {connection.name}: publisher keeps its "
        "records of what is published there, so no spec may write it; publish into another table"
    )
