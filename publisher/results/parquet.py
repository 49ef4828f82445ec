"""Parquet: columns, row counts and NULL counts from the footer alone."""

from __future__ import annotations

from contextlib import closing
from dataclasses import replace
from typing import Any

from publisher.results.formats import _PARQUET_MAGIC, _wrong_format
from publisher.results.reads import read_each
from publisher.results.schema import _one_schema
from publisher.results.stores import _Store
from publisher.results.values import Column, ResultFile, _Inspected

PARQUET_TAIL = 64 * 1024
"""Bytes fetched from a Parquet file's end: the footer of most files fits in one GET."""


def _parquet_footer(store: _Store, f: ResultFile) -> bytes:
    """The footer bytes (metadata, length, magic), fetched from the file's end only."""
    if f.size < 12:
        head = store.read_range(f, 0, f.size)
        raise _wrong_format(f, "pqt", f"only {f.size} bytes", head if head else None)
    tail = store.read_range(f, max(0, f.size - PARQUET_TAIL), f.size)
    if not tail.endswith(_PARQUET_MAGIC):
        head = tail if f.size <= PARQUET_TAIL else store.read_range(f, 0, 1024)
        raise _wrong_format(f, "pqt", "no Parquet footer (magic bytes PAR1 at the end)", head)
    length = int.from_bytes(tail[-8:-4], "little")
    if length + 12 > f.size:
        raise _wrong_format(f, "pqt", f"footer length {length} exceeds the file", None)
    if length + 8 > len(tail):
        tail = store.read_range(f, f.size - 8 - length, f.size - len(tail)) + tail
    return tail[-8 - length :]


def _parquet_file(store: _Store, f: ResultFile) -> tuple[tuple[Column, ...], int]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    footer = _parquet_footer(store, f)
    try:
        # Spark's legacy INT96 timestamps hold microseconds: read them as such rather
        # than as nanoseconds that Redshift would refuse.
        pf = pq.ParquetFile(pa.BufferReader(_PARQUET_MAGIC + footer), coerce_int96_timestamp_unit="us")
        nulls, pinned, empty = _statistics(pf.metadata)
        columns = tuple(
            Column(c.name, c.type, c.nullable, nulls.get(c.name), pinned.get(c.name), c.name in empty)
            for c in pf.schema_arrow
        )
        return columns, int(pf.metadata.num_rows)
    except (pa.ArrowException, OSError, ValueError) as e:
        raise _wrong_format(f, "pqt", f"unreadable footer ({e})", None) from e


MAX_PINNED = 10_000
"""Distinct values kept per column: enough for any partitioning a plan lists."""


def _statistics(metadata: Any) -> tuple[dict[str, int], dict[str, frozenset[str]], frozenset[str]]:
    """From the row groups' statistics, in one pass (each chunk's statistics are built on
    access, the footer's main cost after parsing it), per top-level column:

    - NULLs, for columns that have a NULL count in every row group; nested columns are left
      out (their leaves count other NULLs);
    - its values, where every row group's statistics pin one (min equal to max, no NULLs):
      what a plan can tell of the partitions the rows go into;
    - whether it holds an empty string: a row group's minimum is '' (a minimum is exact, or
      a prefix of the smallest value, never '' for a value that is not): Hive cannot store
      one as a partition value.
    """
    import datetime as dt

    nulls: dict[str, int] = {}
    uncounted: set[str] = set()
    found: dict[str, set[str]] = {}
    unpinned: set[str] = set()
    empty: set[str] = set()
    timestamps = {i for i in range(metadata.num_columns) if metadata.schema.column(i).logical_type.type == "TIMESTAMP"}
    for g in range(metadata.num_row_groups):
        group = metadata.row_group(g)
        for i in range(group.num_columns):
            chunk = group.column(i)
            name, stats = chunk.path_in_schema, chunk.statistics
            if "." in name or stats is None:
                uncounted.add(name)
                unpinned.add(name)
                continue
            if stats.has_null_count:
                nulls[name] = nulls.get(name, 0) + int(stats.null_count)
            else:
                uncounted.add(name)
            if stats.has_min_max and stats.physical_type == "BYTE_ARRAY" and stats.min in ("", b""):
                empty.add(name)
            if name in unpinned:
                continue
            if i in timestamps:
                # Not even read: pyarrow boxes a timestamp statistic through pandas, ~0.2 s of
                # imports for a value the check below would refuse anyway.
                unpinned.add(name)
                continue
            if not stats.has_min_max or stats.min != stats.max or stats.null_count:
                unpinned.add(name)
                continue
            value = stats.min
            if isinstance(value, bytes):
                value = value.decode("utf-8", "replace")
            if isinstance(value, bool) or not isinstance(value, (int, str, dt.date)) or isinstance(value, dt.datetime):
                unpinned.add(name)  # types whose text form a partition path may not share
                continue
            found.setdefault(name, set()).add(value.isoformat() if isinstance(value, dt.date) else str(value))
            if len(found[name]) > MAX_PINNED:
                unpinned.add(name)
    return (
        {name: n for name, n in nulls.items() if name not in uncounted},
        {name: frozenset(v) for name, v in found.items() if name not in unpinned},
        frozenset(empty),
    )


def _inspect_parquet(store: _Store, files: list[ResultFile], sample_rows: int) -> _Inspected:
    schemas = []
    counted = []
    with closing(read_each(store, files, lambda f: _parquet_file(store, f))) as footers:
        for f, (columns, rows) in zip(files, footers, strict=True):
            schemas.append((f, columns))
            counted.append(replace(f, rows=rows))
    return counted, _one_schema(schemas), None, ()
