"""Locate a job's result files and read their schema and row counts from metadata.

Only metadata is read where the format has it (the Parquet footer, the Avro header and
block headers), so inspecting a 1 GB result costs about what a 1 KB one does. CSV and
JSON have no metadata: their schema is inferred from a bounded sample.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from publisher.model.errors import InvalidInput
from publisher.model.names import column_problems
from publisher.model.vocabulary import InputFormat
from publisher.results.avro import _inspect_avro
from publisher.results.formats import FORMAT_NAMES
from publisher.results.parquet import _inspect_parquet
from publisher.results.stores import _open_store, _Store
from publisher.results.text import _inspect_csv, _inspect_json
from publisher.results.values import Column, ResultFile, Results, _Inspected

__all__ = ["Column", "ResultFile", "Results", "inspect_results"]


def inspect_results(
    location: str,
    fmt: InputFormat,
    s3_client: Any | None = None,
    *,
    sample_rows: int = 1000,
    template: str | None = None,
) -> Results:
    """The files, schema and row count of the result at ``location``, read from metadata."""
    store = _open_store(location, s3_client)
    listed, folders = store.list(template)
    if not listed:
        inside = f"; it holds only subfolders, which are not read: {_shown(folders)}" if folders else ""
        raise InvalidInput(
            f"results at {store.location} contain no data files (names starting with '_' "
            f"or '.' are ignored); expected {FORMAT_NAMES[fmt]} files{inside}"
        )
    files, columns, avro_schema, warnings = _INSPECTORS[fmt](store, listed, sample_rows)
    problems = column_problems(c.name for c in columns)
    if problems:
        raise InvalidInput(f"{files[0].uri}: {'; '.join(problems)}; rename the columns where the job writes them")
    if folders:
        # Partitioned output (dt=.../) or a nested result: its rows would not be published.
        warnings = (
            f"not read: {len(folders)} subfolder(s) of {store.location}, {_shown(folders)}; only the files "
            "directly in the results folder are published (names starting with '_' or '.' are ignored)",
            *warnings,
        )
    return Results(store.location, fmt, tuple(files), tuple(columns), avro_schema, warnings)


SHOWN_FOLDERS = 5
"""Subfolders a message names; the rest are counted."""


def _shown(folders: list[str]) -> str:
    more = f" and {len(folders) - SHOWN_FOLDERS} more" if len(folders) > SHOWN_FOLDERS else ""
    return ", ".join(folders[:SHOWN_FOLDERS]) + more


_Inspector = Callable[[_Store, list[ResultFile], int], _Inspected]

_INSPECTORS: dict[InputFormat, _Inspector] = {
    "pqt": _inspect_parquet,
    "avro": _inspect_avro,
    "csv": _inspect_csv,
    "json": _inspect_json,
}
