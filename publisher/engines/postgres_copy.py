"""Rows of a result streamed into PostgreSQL with ``COPY ... FROM STDIN``, one bounded batch at a time.

PostgreSQL cannot read S3 or a client's files, so the rows pass through this process. They are
read as Arrow record batches of bounded size (``result_batches``, publisher/results/batches.py)
and each batch is written into the COPY as soon as it is encoded: memory holds a few batches
(``AHEAD``), whatever the size of the result.

Why CSV rows through psycopg's ``copy()`` (measured by bench/postgres_writers.py; the figures
are in docs/benchmarks.md, "PostgreSQL"): at 1M rows of the benchmark's 11 mixed columns,
CSV took 1.29x the server's own COPY of a file, psycopg's binary rows 2.32x (every value
becomes a Python object and is encoded alone: 3.8 s of client CPU against 1.1 s), and the
ADBC driver's ``adbc_ingest`` 1.13x: binary COPY spares the server the parsing of numbers and
times. ADBC is not used because it brings its own connection: the rows could not be part of
the caller's transaction, which is what keeps readers on the old rows until the swap commits
(``truncateAndLoad``, ``dropAndLoad``); it would need a committed staging table and a second
copy, and it peaked higher (253 MB against 224 MB). The encoder runs in a thread, ahead of the
socket, so that the client's reading and encoding overlap the server's parsing.

Values reach the table as written: CSV values are read as text and parsed by PostgreSQL into the
column's type (``01234`` stays ``01234`` in a text column, ``1.10`` is numeric 1.10); Parquet,
Avro and JSON values are written by Arrow's CSV writer, which prints decimals with their scale,
doubles in the shortest form that reads back to the same bits and timestamps with their zone
(``Z``) or without one; binary goes as bytea hex, nested values as JSON text for jsonb, lists
as array literals where the target column is an array.
"""

from __future__ import annotations

import json
import math
import queue
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime, time
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeVar

from publisher.results.batches import BATCH_ROWS, result_batches

__all__ = ["copy_results", "result_batches"]

_T = TypeVar("_T")

if TYPE_CHECKING:
    import psycopg
    import pyarrow as pa


def copy_results(
    conn: psycopg.Connection[Any],
    table_sql: str,
    columns_sql: Sequence[str],
    pg_types: Sequence[str],
    batches: Iterable[pa.RecordBatch],
) -> int:
    """Write ``batches`` into ``table_sql`` with one COPY; the rows written. Runs in the caller's
    transaction and does not commit. ``table_sql`` and ``columns_sql`` are quoted identifiers;
    ``pg_types`` are the columns' types in the table (``jsonb``, ``bigint[]``)."""
    import pyarrow.csv as pacsv

    options = pacsv.WriteOptions(include_header=False, quoting_style="needed", batch_size=BATCH_ROWS)
    statement = f"COPY {table_sql} ({', '.join(columns_sql)}) FROM STDIN (FORMAT csv)"

    def encoded() -> Iterator[tuple[int, pa.Buffer]]:
        for batch in batches:
            if batch.num_columns != len(columns_sql):
                raise ValueError(f"a batch of {batch.num_columns} columns for {len(columns_sql)} table columns")
            if batch.num_rows:
                yield batch.num_rows, _csv_bytes(_printable(batch, pg_types), options)

    rows = 0
    with conn.cursor() as cursor, cursor.copy(statement) as copy, _ahead(encoded()) as chunks:
        for count, data in chunks:
            copy.write(memoryview(data))
            rows += count
    return rows


AHEAD = 2
"""Encoded batches waiting for the socket: what lets reading and encoding the next batch overlap
with sending this one, and what bounds memory."""


@contextmanager
def _ahead(items: Iterator[_T]) -> Iterator[Iterator[_T]]:
    """``items`` produced in a thread of their own, at most ``AHEAD`` ahead of the consumer.

    Without it the client reads and encodes a batch while the server, having drained the socket,
    waits; then the server parses while the client waits on the socket: the two take turns. Arrow's
    readers and CSV writer and libpq's send release the GIL, so a thread is enough. An error in the
    producer is raised in the consumer; a consumer that stops early (a COPY error) stops the producer.
    """
    out: queue.Queue[tuple[bool, Any]] = queue.Queue(maxsize=AHEAD)
    stop = threading.Event()

    def put(item: tuple[bool, Any]) -> bool:
        while not stop.is_set():
            try:
                out.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put((True, item)):
                    return
            put((False, None))
        except BaseException as e:  # noqa: BLE001 - raised again in the consumer
            put((False, e))
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()  # the result files, at once (a generator stopped early holds them open)

    def consume() -> Iterator[_T]:
        while True:
            more, value = out.get()
            if not more:
                if value is not None:
                    raise value
                return
            yield value

    worker = threading.Thread(target=produce, name="copy-encoder", daemon=True)
    worker.start()
    try:
        yield consume()
    finally:
        stop.set()
        worker.join()


def _csv_bytes(batch: pa.RecordBatch, options: Any) -> pa.Buffer:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    sink = pa.BufferOutputStream()
    pacsv.write_csv(batch, sink, options)
    return sink.getvalue()


def _printable(batch: pa.RecordBatch, pg_types: Sequence[str]) -> pa.RecordBatch:
    """The batch with every column Arrow's CSV writer cannot print as PostgreSQL reads it
    replaced by its text: binary as bytea hex, nested values as JSON, lists as array literals."""
    import pyarrow as pa

    columns = []
    changed = False
    for column, pg_type in zip(batch.columns, pg_types, strict=True):
        t = column.type
        if pa.types.is_dictionary(t):
            column = column.cast(t.value_type)
            t = column.type
            changed = True
        if pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_fixed_size_binary(t):
            column = _bytea_hex(column)
            changed = True
        elif pa.types.is_nested(t):
            render = _array_literal if pg_type.rstrip().endswith("]") else _json_text
            column = pa.array([None if v is None else render(v) for v in _plain(column)], pa.string())
            changed = True
        columns.append(column)
    if not changed:
        return batch
    return pa.RecordBatch.from_arrays(columns, names=batch.schema.names)


def _plain(column: pa.Array) -> list[Any]:
    """Python values of a nested column, maps as dicts (pyarrow gives them as pairs)."""
    import pyarrow as pa

    def unpair(v: Any, t: pa.DataType) -> Any:
        if v is None:
            return None
        if pa.types.is_map(t):
            return {k: unpair(x, t.item_type) for k, x in v}
        if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t):
            return [unpair(x, t.value_type) for x in v]
        if pa.types.is_struct(t):
            return {f.name: unpair(v[f.name], f.type) for f in t}
        return v

    return [unpair(v, column.type) for v in column.to_pylist()]


def _bytea_hex(column: pa.Array) -> pa.Array:
    """Binary values as PostgreSQL's bytea hex input (``\\x0aff``), NULLs kept, in bulk."""
    import numpy as np
    import pyarrow as pa

    column = column.cast(pa.large_binary())
    n = len(column)
    validity, offsets_buf, data_buf = column.buffers()
    offsets = np.frombuffer(offsets_buf, np.int64, n + 1, column.offset * 8)
    data = np.frombuffer(data_buf, np.uint8) if data_buf is not None else np.empty(0, np.uint8)
    data = data[offsets[0] : offsets[-1]]
    lengths = np.diff(offsets)
    out_offsets = np.empty(n + 1, np.int64)
    out_offsets[0] = 0
    np.cumsum(lengths * 2 + 2, out=out_offsets[1:])
    out = np.empty(int(out_offsets[-1]), np.uint8)
    starts = out_offsets[:-1]
    out[starts] = ord("\\")
    out[starts + 1] = ord("x")
    # Each input byte i of value r lands at starts[r] + 2 + 2 * (i - offsets[r]).
    where = np.repeat(starts + 2 - 2 * (offsets[:-1] - offsets[0]), lengths) + 2 * np.arange(len(data))
    out[where] = _HEX_DIGITS[data >> 4]
    out[where + 1] = _HEX_DIGITS[data & 0x0F]
    if validity is not None and column.offset:
        validity = pa.array(column.is_valid()).buffers()[1]
    return pa.Array.from_buffers(
        pa.large_string(), n, [validity, pa.py_buffer(out_offsets), pa.py_buffer(out)], column.null_count
    )


def _hex_digits() -> Any:
    import numpy as np

    return np.frombuffer(b"0123456789abcdef", np.uint8)


class _Lazy:
    def __init__(self) -> None:
        self.value: Any = None

    def __getitem__(self, key: Any) -> Any:
        if self.value is None:
            self.value = _hex_digits()
        return self.value[key]


_HEX_DIGITS = _Lazy()
"""The hex digits as bytes, made on first use (numpy is imported only when a load runs)."""


def _json_text(value: Any) -> str:
    """A Python value from Arrow as JSON text: decimals with their digits as written (``1.10``),
    times as ISO text, bytes as bytea hex text; NaN and infinities as strings (JSON has none)."""
    if value is None:
        return "null"
    if isinstance(value, dict):
        return "{" + ",".join(_json_string(str(k)) + ":" + _json_text(v) for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_json_text(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        return str(value) if value.is_finite() else _json_string(str(value))
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else _json_string(repr(value))
    if isinstance(value, str):
        return _json_string(value)
    if isinstance(value, bytes):
        return _json_string("\\x" + value.hex())
    if isinstance(value, datetime | date | time):
        return _json_string(value.isoformat())
    return _json_string(str(value))


def _json_string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _array_literal(value: Any) -> str:
    """A list as a PostgreSQL array literal (``{1,NULL,"a b"}``); nested lists as dimensions."""
    if value is None:
        return "NULL"
    if isinstance(value, list):
        return "{" + ",".join(_array_literal(v) for v in value) + "}"
    if isinstance(value, dict):
        text = _json_text(value)
    elif isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, bytes):
        text = "\\x" + value.hex()
    elif isinstance(value, datetime | date | time):
        text = value.isoformat()
    elif isinstance(value, float):
        text = repr(value)
    else:
        text = str(value)
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
