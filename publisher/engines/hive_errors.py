"""Errors of the Hive engines: the engine's own text, without Java wrappers and stacks."""

from __future__ import annotations

import re

from publisher.model.errors import PublishFailed


class HiveError(PublishFailed):
    """A statement the engine refused or failed; the message is the engine's own text."""

    def __init__(self, message: str, statement: str | None = None) -> None:
        super().__init__(message)
        self.statement = statement


_JAVA_CLASS = r"(?:[a-z_$][\w$]*\.)+[A-Z][\w$]*"
# Wrappers that say nothing to a user, stripped from the front of an error line.
_NOISE_PREFIXES = (
    re.compile(r"^org\.apache\.hive\.service\.cli\.HiveSQLException:\s*"),
    re.compile(r"^Error running query:\s*"),
    re.compile(r"^Error while (?:compiling|processing) statement:\s*"),
    # Spark's Thrift Server repeats the error class before the Java exception name.
    re.compile(rf"^\[[A-Z0-9_.]+\]\s+{_JAVA_CLASS}:\s*"),
    # A failed task: the cause is at the end of Spark's one-line summary.
    re.compile(
        r"^Job aborted due to stage failure: .*?most recent failure: Lost task .*?"
        r"\(TID \d+\) \([^)]*\):\s*"
    ),
    re.compile(rf"^{_JAVA_CLASS}:\s*"),
)


def engine_message(text: str) -> str:
    """The first meaningful line of an engine error, without Java class names or stacks."""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("at ") or line == "JVM stacktrace:":
            continue
        line = _strip_noise(line)
        if line:
            return line
    return text.strip() or "unknown error"


def _strip_noise(line: str) -> str:
    changed = True
    while changed:
        changed = False
        for prefix in _NOISE_PREFIXES:
            stripped = prefix.sub("", line, count=1)
            if stripped != line:
                line, changed = stripped, True
    return line
