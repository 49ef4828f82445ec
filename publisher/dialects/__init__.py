"""One module per target: identifier quoting, SQL rendering, capabilities."""

from __future__ import annotations

from publisher.dialects.base import Dialect
from publisher.targets import target


def dialect_for(target_type: str) -> Dialect:
    """The dialect of a target type, as its descriptor names it (imported on first use)."""
    return target(target_type).load_dialect()


__all__ = ["Dialect", "dialect_for"]
