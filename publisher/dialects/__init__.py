"""One module per target: identifier quoting, SQL rendering, capabilities."""

from __future__ import annotations

from publisher.dialects.base import Dialect
from publisher.dialects.hive import Hive
from publisher.dialects.redshift import Redshift

DIALECTS: dict[str, Dialect] = {"hive": Hive(), "redshift": Redshift()}


def dialect_for(target_type: str) -> Dialect:
    """The dialect of a target type (hive, redshift)."""
    return DIALECTS[target_type]


__all__ = ["DIALECTS", "Dialect", "Hive", "Redshift", "dialect_for"]
