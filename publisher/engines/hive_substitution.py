"""Variable substitution, turned off in every Hive session the publisher opens.

Spark SQL (``spark.sql.variable.substitute``, default true: Spark's ``VariableSubstitution``)
and Apache Hive (``hive.variable.substitute``, default true: Hive's ``VariableSubstitution``)
replace ``${env:X}``, ``${system:X}``, ``${hiveconf:X}``, ``${hivevar:X}`` and ``${X}``
anywhere in a statement's text, string literals included, before parsing. A value holding
``${env:SECRET}`` would reach the table as the server's secret. Each session sets both
keys off (each engine ignores the other's key) and reads them back; a server that forbids
the change (``hive.conf.restricted.list``) leaves them on, and then the plan refuses every
statement that holds ``${``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from typing import Any

from publisher.dialects.hive import first_marker
from publisher.model.errors import PublishFailed

SUBSTITUTION_KEYS = ("spark.sql.variable.substitute", "hive.variable.substitute")


def setting_value(rows: Sequence[Sequence[Any]], key: str) -> str | None:
    """The value of ``SET key``: Spark answers (key, value), Hive one cell "key=value"
    (or "key is undefined")."""
    for row in rows:
        cells = [str(c) for c in row if c is not None]
        if len(cells) >= 2 and cells[0].strip() == key:
            return cells[1].strip()
        if len(cells) == 1 and cells[0].startswith(key + "="):
            return cells[0][len(key) + 1 :].strip()
    return None


def set_off(execute: Callable[[str], object]) -> None:
    """Ask the session to stop substituting; a refusal is left to ``confirm`` to find."""
    for key in SUBSTITUTION_KEYS:
        # A restricted setting raises: the read-back tells what is in force.
        with contextlib.suppress(Exception):
            execute(f"SET {key}=false")


def confirm(fetch: Callable[[str], list[tuple[Any, ...]]]) -> str | None:
    """None when both settings read back false (the session runs SQL text as sent); else
    why not, for the plan's refusal."""
    found = {}
    for key in SUBSTITUTION_KEYS:
        try:
            found[key] = setting_value(fetch(f"SET {key}"), key)
        except Exception:
            found[key] = None
    still_on = [f"{key}={found[key] or 'unreadable'}" for key in SUBSTITUTION_KEYS if found[key] != "false"]
    if not still_on:
        return None
    return (
        "the engine replaces ${...} in SQL text and refused to turn that off ("
        + ", ".join(still_on)
        + "; a server's hive.conf.restricted.list can forbid the change)"
    )


def turn_off(execute: Callable[[str], object], fetch: Callable[[str], list[tuple[Any, ...]]]) -> str | None:
    """Turn substitution off in this session and confirm it (``confirm``'s answer)."""
    set_off(execute)
    return confirm(fetch)


def refuse_marked(reason: str | None, sql: str) -> None:
    """The last line of defence: a statement holding ``${`` never reaches an engine that
    would substitute it (the plan refuses such publications first, naming the value)."""
    token = first_marker(sql) if reason else None
    if token is not None:
        raise PublishFailed(f"not run: the statement holds {token!r} and {reason}")
