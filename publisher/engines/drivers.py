"""Optional drivers: which extra of the distribution installs each, and the one line said
when one is missing (instead of Python's "No module named ..." once per spec)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from publisher import DISTRIBUTION
from publisher.model.errors import EngineUnavailable


@dataclass(frozen=True)
class Extra:
    """An extra of pyproject's [project.optional-dependencies], and what needs it."""

    name: str
    needed_by: str

    @property
    def install(self) -> str:
        return f"pip install '{DISTRIBUTION}[{self.name}]'"


EMBEDDED = Extra("embedded", "the embedded Hive engine")
HIVESERVER2 = Extra("hive", "a HiveServer2 connection")
REDSHIFT = Extra("redshift", "a Redshift connection")
POSTGRES = Extra("postgres", "a PostgreSQL connection")
SERVER = Extra("server", "publisher serve")
EXTRAS = (EMBEDDED, HIVESERVER2, REDSHIFT, POSTGRES, SERVER)


@contextmanager
def needs(extra: Extra) -> Iterator[None]:
    """Run the block; an import in it that fails for a module the extra installs (or one of
    their own dependencies) becomes EngineUnavailable naming the extra."""
    try:
        yield
    except ImportError as exc:
        module = (exc.name or "").split(".")[0]
        if not module or module == "publisher":
            raise  # not a missing driver: publisher's own import failed, a bug
        raise EngineUnavailable(f"{extra.needed_by} needs {module}: {extra.install}") from None
