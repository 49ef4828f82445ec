"""Names at the input edge: the publisher's own tables, and result column names a target
cannot hold or would confuse."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

from publisher.model.errors import InvalidInput

if TYPE_CHECKING:  # results/ imports this module: keep it free of the layers above
    from publisher.inputs.config import Connection
    from publisher.model.relation import Relation

CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
"""Characters that no message, plan or SQL text can show unambiguously on one line."""


# Longest column names, as the vendors document them (Hive metastore: 128 characters;
# Redshift: 127 bytes of UTF-8). They belong with the dialects, as named capabilities.
def ledger_clash(connection: Connection, table: Relation) -> str | None:
    """Why a spec may not publish into ``table``: it is the connection's ledger. None if it may."""
    ledger, fold = connection.ledger_relation(table), connection.target.folds
    if fold(str(ledger)) != fold(str(table)):
        return None
    return (
        f"{ledger} is the publication ledger of connection {connection.name}: publisher keeps its "
        "records of what is published there, so no spec may write it; publish into another table"
    )


def column_problems(names: Iterable[str]) -> list[str]:
    """What makes result column names unusable on any target: no name, a control character,
    or two names that differ only in case (both targets fold names to lower case)."""
    problems = []
    seen: dict[str, str] = {}
    for position, name in enumerate(names, start=1):
        if CONTROL.search(name):
            problems.append(f"column {position} name {name!r} holds a control character")
        elif not name.strip():
            problems.append(f"column {position} has no name")
        elif name.lower() in seen:
            problems.append(f"columns {seen[name.lower()]!r} and {name!r} differ only in case")
        seen.setdefault(name.lower(), name)
    return problems


def check_column_lengths(engine: str, limit: tuple[int, str], names: Iterable[str], file: str) -> None:
    """InvalidInput, naming the result ``file``, for column names longer than ``limit``
    (a number of "characters" or "bytes") allows."""
    limit_n, unit = limit
    for name in names:
        length = len(name.encode()) if unit == "bytes" else len(name)
        if length > limit_n:
            raise InvalidInput(
                f"{file}: column name {name[:20]!r}... is {length} {unit} long; {engine} allows {limit_n}"
            )
