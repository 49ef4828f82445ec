"""What a spec may say on each target, read when specs are validated: kept apart from the
SQL dialects so that `publisher validate` imports none of them."""

from __future__ import annotations

from dataclasses import dataclass

from publisher.model.vocabulary import TargetType


@dataclass(frozen=True)
class TargetRules:
    title: str
    """The engine's name in messages."""
    has_schemas: bool
    """Tables live in schemas of the database: a spec's table may be schema.table."""
    default_schema: str | None
    """The schema of a table named without one."""
    writes_across_databases: bool
    """A connection publishes into any database of the engine (else only its own)."""
    region_refused_formats: frozenset[str]
    """Input formats whose load refuses a connection's region setting."""


RULES: dict[TargetType, TargetRules] = {
    "hive": TargetRules("Hive", False, None, True, frozenset()),
    # A Redshift session is bound to the database it connected to: path must be the
    # connection's. COPY refuses REGION with columnar formats.
    "redshift": TargetRules("Redshift", True, "public", False, frozenset({"pqt"})),
}
