"""A result's rows as Arrow record batches of bounded size, file by file: never the whole result.

Parquet is read by row group slices (``ParquetFile.iter_batches``), CSV and JSON by blocks of
``TEXT_BLOCK`` bytes (pyarrow's streaming readers), Avro by records decoded with fastavro into
batches of ``batch_rows``. Local files are read by path; S3 objects by ranged GETs through the
result store (publisher/results/stores.py), so memory holds a batch or two and one read buffer.

CSV values come as text, exactly as written: the target parses them into its column types
(``01234`` stays ``01234`` in a text column). An unquoted empty field is NULL and a quoted ""
the empty string, as in inspection (docs/types.md, "NULL in CSV").
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import closing
from typing import TYPE_CHECKING, Any

from publisher.model.errors import InvalidInput
from publisher.results.stores import _open_store, _Store, _Stream
from publisher.results.text import _ArrowInput
from publisher.results.values import ResultFile, Results

if TYPE_CHECKING:
    import pyarrow as pa

BATCH_ROWS = 16 * 1024
"""Rows per batch: large enough that per-batch overhead vanishes (about 2 MB of CSV for the
11 columns of bench/load_speed.py), small enough that the few batches in flight stay small."""

PARQUET_BUFFER = 1024 * 1024
"""Bytes Parquet column chunks are read in: without it a row group's column chunks are read
whole (a 1M-row row group of the benchmark's table: about 50 MB more peak memory)."""

RELEASE_EVERY = 16
"""Batches between returns of Arrow's freed memory to the system: its allocator keeps freed
pages for reuse, which grows the peak by tens of MB over a large result."""

READ_CHUNK = 8 * 1024 * 1024
"""Bytes per read (a ranged GET on S3) of a result file."""

TEXT_BLOCK = 4 * 1024 * 1024
"""Bytes pyarrow's CSV and JSON readers parse at a time: their batches are at most this big."""


def result_batches(
    results: Results, s3_client: Any | None = None, *, batch_rows: int = BATCH_ROWS
) -> Iterator[pa.RecordBatch]:
    """The rows of every file of ``results``, in file order, as record batches of at most
    ``batch_rows`` rows: the whole result is never in memory. CSV columns come as text."""
    store = _open_store(results.location, s3_client)
    for f in results.files:
        yield from _READERS[results.format](store, f, results, batch_rows)


def _parquet(store: _Store, f: ResultFile, results: Results, batch_rows: int) -> Iterator[pa.RecordBatch]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    with closing(store.stream(f, READ_CHUNK)) as stream:
        source: Any = pa.PythonFile(_SeekableInput(stream), mode="r") if results.is_s3 else f.uri
        try:
            parquet = pq.ParquetFile(source, buffer_size=PARQUET_BUFFER, pre_buffer=False)
            names = [c.name for c in results.columns]
            for i, batch in enumerate(parquet.iter_batches(batch_size=batch_rows, columns=names, use_threads=False)):
                yield batch
                if i % RELEASE_EVERY == RELEASE_EVERY - 1:
                    pa.default_memory_pool().release_unused()
        except (pa.ArrowException, OSError) as e:
            raise InvalidInput(f"{f.uri}: cannot read Parquet rows: {e}") from e


class _SeekableInput:
    """A result stream as pyarrow reads a Python file, seekable: Parquet reads its footer first."""

    closed = False

    def __init__(self, stream: _Stream) -> None:
        self._stream = stream

    def read(self, n: int = -1) -> bytes:
        return self._stream.read(n)

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._stream.seek(offset, whence)

    def tell(self) -> int:
        return self._stream.tell()

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def close(self) -> None:
        self.closed = True


def _csv(store: _Store, f: ResultFile, results: Results, batch_rows: int) -> Iterator[pa.RecordBatch]:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    names = [c.name for c in results.columns]
    with closing(store.stream(f, READ_CHUNK)) as stream:
        try:
            reader = pacsv.open_csv(
                pa.PythonFile(_ArrowInput(stream), mode="r"),
                read_options=pacsv.ReadOptions(block_size=TEXT_BLOCK, use_threads=False),
                parse_options=pacsv.ParseOptions(delimiter=",", newlines_in_values=True),
                # Every value as text, as written: PostgreSQL parses it into the column's type.
                # An unquoted empty field is NULL, a quoted "" the empty string (docs/types.md).
                convert_options=pacsv.ConvertOptions(
                    column_types={name: pa.string() for name in names},
                    null_values=[""],
                    strings_can_be_null=True,
                    quoted_strings_can_be_null=False,
                    include_columns=names,
                ),
            )
            for batch in reader:
                yield from _sliced(batch, batch_rows)
        except (pa.ArrowException, OSError) as e:
            raise InvalidInput(f"{f.uri}: cannot read CSV rows: {e}") from e


def _json(store: _Store, f: ResultFile, results: Results, batch_rows: int) -> Iterator[pa.RecordBatch]:
    import pyarrow as pa
    import pyarrow.json as pajson

    schema = pa.schema([pa.field(c.name, c.type, c.nullable) for c in results.columns])
    with closing(store.stream(f, READ_CHUNK)) as stream:
        try:
            reader = pajson.open_json(
                pa.PythonFile(_ArrowInput(stream), mode="r"),
                read_options=pajson.ReadOptions(block_size=TEXT_BLOCK, use_threads=False),
                parse_options=pajson.ParseOptions(explicit_schema=schema, unexpected_field_behavior="error"),
            )
            for batch in reader:
                yield from _sliced(batch.select(schema.names), batch_rows)
        except (pa.ArrowException, OSError) as e:
            raise InvalidInput(f"{f.uri}: cannot read JSON rows: {e}") from e


def _avro(store: _Store, f: ResultFile, results: Results, batch_rows: int) -> Iterator[pa.RecordBatch]:
    import fastavro
    import pyarrow as pa

    schema = pa.schema([pa.field(c.name, c.type, c.nullable) for c in results.columns])
    reader_schema = json.loads(results.avro_schema) if results.avro_schema else None
    with closing(store.stream(f, READ_CHUNK)) as stream:
        try:
            records = fastavro.reader(stream, reader_schema=reader_schema)  # type: ignore[arg-type]
            rows: list[Any] = []
            for record in records:
                rows.append(record)
                if len(rows) == batch_rows:
                    yield _avro_batch(rows, schema)
                    rows = []
            if rows:
                yield _avro_batch(rows, schema)
        except (ValueError, EOFError, pa.ArrowException) as e:
            raise InvalidInput(f"{f.uri}: cannot read Avro rows: {e}") from e


def _avro_batch(rows: list[dict[str, Any]], schema: pa.Schema) -> pa.RecordBatch:
    import pyarrow as pa

    return pa.RecordBatch.from_pylist([_arrow_ready(r) for r in rows], schema=schema)


def _arrow_ready(value: Any) -> Any:
    # fastavro gives maps as dicts; pyarrow builds a map column from (key, value) pairs.
    if isinstance(value, dict):
        return {k: _arrow_ready(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_arrow_ready(v) for v in value]
    return value


def _sliced(batch: pa.RecordBatch, rows: int) -> Iterator[pa.RecordBatch]:
    for start in range(0, batch.num_rows, rows):
        yield batch.slice(start, rows)


_READERS = {"pqt": _parquet, "avro": _avro, "csv": _csv, "json": _json}
