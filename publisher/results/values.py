"""What inspecting a result returns: the result, its files and its columns."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from publisher.model.vocabulary import InputFormat

if TYPE_CHECKING:
    import pyarrow as pa


@dataclass(frozen=True)
class ResultFile:
    """One data file of a result."""

    uri: str
    size: int
    version: str
    rows: int | None


@dataclass(frozen=True)
class Column:
    """One column of a result's schema."""

    name: str
    type: pa.DataType
    nullable: bool
    null_count: int | None = None  # NULLs in all files, where metadata says (Parquet statistics, Avro non-null)
    values: frozenset[str] | None = None  # every value, where Parquet statistics pin one per row group (as text)
    empty: bool = False  # an empty string seen: a row group's minimum '' (Parquet), a quoted "" in the sample (CSV)


@dataclass(frozen=True)
class Results:
    """A result: its files in one format and the schema they share."""

    location: str
    format: InputFormat
    files: tuple[ResultFile, ...]
    columns: tuple[Column, ...]
    avro_schema: str | None = None  # Avro: a reader schema (JSON) with the files' exact field names
    # What the plan must say about these results: subfolders not read, CSV/JSON columns
    # whose values may lose digits in their inferred type.
    warnings: tuple[str, ...] = ()

    @property
    def rows(self) -> int | None:
        """Rows in all files, from metadata; None when a format has no row count."""
        counts = [f.rows for f in self.files]
        return None if any(c is None for c in counts) else sum(c or 0 for c in counts)

    @property
    def is_s3(self) -> bool:
        """Whether the result lives on S3."""
        return self.location.startswith("s3://")


_Inspected = tuple[list[ResultFile], tuple[Column, ...], str | None, tuple[str, ...]]
"""The files with their row counts, the columns they share, an Avro reader schema, and
warnings about the columns' types."""
