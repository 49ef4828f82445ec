"""Statements that other processes may run into the same table at the same moment.

Several applies and servers record into one ledger; their INSERTs run under the dialect's
``shared_insert_settings`` (Hive: the writer that stages each INSERT in a folder of its own,
dialects/hive.py), set on this session before and set back after.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from publisher.dialects import Dialect
from publisher.model.target import Target


@contextlib.contextmanager
def alongside_others(target: Target, dialect: Dialect) -> Iterator[None]:
    # Only where other processes write too: the embedded engine's one session is every
    # thread's, where a SET would change how the other threads' statements write.
    settings = dialect.shared_insert_settings if target.shared else ()
    for key, value, _ in settings:
        target.execute(f"SET {key}={value}")
    try:
        yield
    finally:
        for key, _, after in settings:
            target.execute(f"SET {key}={after}")
