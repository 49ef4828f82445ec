"""A table's address in a target; dialects quote and render it."""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Relation:
    """database.schema.name; Hive has no schema level (schema is None).

    Names are validated identifiers (schemas/ patterns), kept as the target stores them
    unquoted: its name case (publisher/targets/; Hive and Redshift fold them to lower case).
    """

    database: str
    schema: str | None
    name: str

    def renamed(self, name: str) -> Relation:
        return replace(self, name=name)

    def __str__(self) -> str:
        parts = [self.database, self.schema, self.name]
        return ".".join(p for p in parts if p)
