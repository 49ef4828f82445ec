"""Redshift table layout: distribution and sort keys, as a spec asks for them or a table has."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

DistStyle = Literal["AUTO", "EVEN", "KEY", "ALL"]


@dataclass(frozen=True)
class Layout:
    """Redshift: how a table's rows are spread over the slices and sorted (DISTSTYLE, DISTKEY,
    compound SORTKEY). Empty: the engine's defaults."""

    dist_style: DistStyle | None = None
    dist_key: str | None = None
    sort_keys: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.dist_style or self.dist_key or self.sort_keys)


NO_LAYOUT = Layout()
