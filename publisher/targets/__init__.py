"""The registry of targets: one descriptor each (publisher/targets/<name>.py). Code outside a
target's own modules reads what differs between targets from here, never from its name."""

from __future__ import annotations

from publisher.model.vocabulary import TARGET_TYPES, TargetType
from publisher.targets.base import Ledger, TargetDescriptor, TargetSettings
from publisher.targets.hive import HIVE
from publisher.targets.postgres import POSTGRES
from publisher.targets.redshift import REDSHIFT

TARGETS: dict[TargetType, TargetDescriptor] = {t.name: t for t in (HIVE, REDSHIFT, POSTGRES)}
"""Every target, in TargetType's order."""

assert tuple(TARGETS) == TARGET_TYPES, "the registry lists every TargetType, in its order"


def target(name: str) -> TargetDescriptor:
    """The descriptor of a target type (a connection's ``type``); any other name is a bug of the caller."""
    for descriptor in TARGETS.values():
        if descriptor.name == name:
            return descriptor
    raise KeyError(f"no target {name!r}")


__all__ = ["TARGETS", "Ledger", "TargetDescriptor", "TargetSettings", "target"]
