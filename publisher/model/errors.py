"""Error values that carry where in the user's files the problem is."""

from __future__ import annotations

import os
from dataclasses import dataclass


def display_path(path: str) -> str:
    """A local path relative to the working directory where that is shorter."""
    if path.startswith("s3://") or not os.path.isabs(path):
        return path
    rel = os.path.relpath(path)
    return rel + ("/" if path.endswith("/") and not rel.endswith("/") else "") if not rel.startswith("../..") else path


@dataclass(frozen=True)
class Location:
    """A 1-based line and column in a file."""

    file: str
    line: int
    col: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


class PublisherError(Exception):
    """A user-facing error: invalid input, a missing result, a failed publication.

    Rendered as one line, ``FILE:LINE:COL: error: message``; never with a traceback.
    """

    def __init__(self, message: str, location: Location | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.location = location

    def at(self, location: Location | None) -> PublisherError:
        """This error, placed at ``location`` unless it already has a place."""
        if self.location is not None or location is None:
            return self
        return type(self)(self.message, location)

    def __str__(self) -> str:
        prefix = f"{self.location}: " if self.location else ""
        return f"{prefix}error: {self.message}"


class InvalidInput(PublisherError):
    """A spec, config or result that cannot be published: nothing runs (exit 1)."""


class PublishFailed(PublisherError):
    """A publication that failed while being applied (exit 1)."""


class PlanStale(PublishFailed):
    """Under the table's lock, before any change: another apply changed the table since this
    plan was made (a Hive location swap moved it), so the plan's steps no longer fit it and
    nothing ran. Planning again publishes it."""


class EngineUnavailable(PublishFailed):
    """A target's engine cannot run on this machine (a driver not installed, no Java): the
    run's problem, not a spec's, so it is said once per run and not tried again in it."""


class TransactionConflict(Exception):
    """The engine aborted the transaction because a concurrent one conflicted with it
    (Redshift's serializable isolation, error 1023): running it again from its start may
    succeed. Raised by engines; the executor retries."""


class Errors(Exception):
    """Every error of a run, collected so they can be reported together."""

    def __init__(self, errors: list[PublisherError]) -> None:
        super().__init__("\n".join(str(e) for e in errors))
        self.errors = errors


def first_line(exc: BaseException) -> str:
    """An unexpected error (a driver's, a connection's) as one line of at most 300 characters."""
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else type(exc).__name__
