"""CSV and newline-delimited JSON: the schema inferred from a bounded sample."""

from __future__ import annotations

import csv
import io
import json
from contextlib import closing
from typing import TYPE_CHECKING

from publisher.model.errors import InvalidInput
from publisher.model.vocabulary import InputFormat
from publisher.results.formats import _AVRO_MAGIC, _PARQUET_MAGIC, _Corrupt, _wrong_format
from publisher.results.schema import _differences
from publisher.results.stores import _Store, _Stream
from publisher.results.values import Column, ResultFile, _Inspected

if TYPE_CHECKING:
    import pyarrow as pa

TEXT_SAMPLE_LIMIT = 64 * 1024 * 1024
"""Most bytes read for a CSV/JSON sample, whatever sample_rows says."""

TEXT_CHUNK = 1024 * 1024
"""Range fetched for a CSV/JSON sample on S3."""


def _records(stream: _Stream, want: int, csv_quotes: bool) -> tuple[bytes, int]:
    """The file's first ``want`` records (fewer at EOF), and how many there were.

    Records end at a newline; for CSV only at one outside double quotes, since quoted
    values may span lines (RFC 4180: a doubled quote inside quotes keeps the parity).
    """
    data = bytearray()
    records = 0
    end = 0
    scan = 0  # start of the line not yet ended; its quotes are counted once it ends
    in_quotes = False
    while records < want and len(data) < TEXT_SAMPLE_LIMIT:
        chunk = stream.read(64 * 1024)
        if not chunk:
            if end < len(data) and data[end:].strip():
                records += 1
                end = len(data)
            break
        data += chunk
        while records < want:
            nl = data.find(b"\n", scan)
            if nl < 0:
                break
            if csv_quotes:
                in_quotes ^= data.count(b'"', scan, nl) % 2 == 1
            scan = nl + 1
            if not in_quotes:
                records += 1
                end = scan
    if records == 0 and len(data) >= TEXT_SAMPLE_LIMIT:
        raise _Corrupt(f"no complete line in the first {TEXT_SAMPLE_LIMIT} bytes")
    return bytes(data[:end]), records


def _text_head(store: _Store, f: ResultFile, fmt: InputFormat, want: int) -> tuple[str, int]:
    with closing(store.stream(f, TEXT_CHUNK)) as stream:
        try:
            data, count = _records(stream, want, csv_quotes=fmt == "csv")
        except _Corrupt as e:
            raise _wrong_format(f, fmt, str(e), None) from e
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if data.startswith((_PARQUET_MAGIC, _AVRO_MAGIC)) or b"\0" in data[:4096]:
        raise _wrong_format(f, fmt, "binary data", data)
    try:
        return data.decode("utf-8"), count
    except UnicodeDecodeError as e:
        raise _wrong_format(f, fmt, f"not UTF-8 text ({e.reason} at byte {e.start})", None) from e


def _csv_header(store: _Store, f: ResultFile) -> list[str]:
    text, count = _text_head(store, f, "csv", 1)
    if count == 0:
        raise _wrong_format(f, "csv", "the file is empty; a header row is required", None)
    header = next(csv.reader(io.StringIO(text)))
    blank = [i + 1 for i, name in enumerate(header) if not name.strip()]
    if blank:
        raise _wrong_format(f, "csv", f"header column {blank[0]} has no name", None)
    dupes = sorted({n for n in header if header.count(n) > 1})
    if dupes:
        raise _wrong_format(f, "csv", f"header names {', '.join(dupes)} more than once", None)
    return header


def _csv_schema(store: _Store, f: ResultFile, sample_rows: int) -> pa.Schema:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    text, _ = _text_head(store, f, "csv", sample_rows + 1)
    try:
        table = pacsv.read_csv(
            pa.BufferReader(text.encode("utf-8")),
            parse_options=pacsv.ParseOptions(delimiter=",", newlines_in_values=True),
        )
    except pa.ArrowException as e:
        raise _wrong_format(f, "csv", str(e), None) from e
    return table.schema


def _json_schema(store: _Store, f: ResultFile, sample_rows: int) -> pa.Schema:
    import pyarrow as pa
    import pyarrow.json as pajson

    text, count = _text_head(store, f, "json", sample_rows)
    if count == 0 or not text.strip():
        raise _wrong_format(f, "json", "the file is empty", None)
    try:
        return pajson.read_json(pa.BufferReader(text.encode("utf-8"))).schema
    except pa.ArrowException as e:
        raise _wrong_format(f, "json", str(e), text.encode("utf-8")) from e


def _json_first_record(store: _Store, f: ResultFile) -> None:
    """A cheap check that a file is newline-delimited JSON: its first line is an object."""
    text, _ = _text_head(store, f, "json", 1)
    line = text.strip()
    try:
        ok = isinstance(json.loads(line), dict) if line else f.size == 0
    except ValueError:
        ok = False
    if not ok:
        raise _wrong_format(f, "json", "the first line is not a JSON object", text.encode())


def _text_columns(schema: pa.Schema) -> tuple[Column, ...]:
    # Text formats cannot say NOT NULL: every column may hold nulls.
    return tuple(Column(f.name, _text_type(f.type), True) for f in schema)


def _text_type(t: pa.DataType) -> pa.DataType:
    """pyarrow types text timestamps in nanoseconds whatever they hold; job outputs write at
    most microseconds, which every target keeps (Redshift refuses nanoseconds)."""
    import pyarrow as pa

    if pa.types.is_timestamp(t) and t.unit == "ns":
        return pa.timestamp("us", tz=t.tz)
    return t


def _inspect_csv(store: _Store, files: list[ResultFile], sample_rows: int) -> _Inspected:
    header = _csv_header(store, files[0])
    columns = _text_columns(_csv_schema(store, files[0], sample_rows))
    for f in files[1:]:
        other = _csv_header(store, f)
        if other != header:
            diff = _differences(
                tuple(Column(n, _null(), True) for n in header),
                tuple(Column(n, _null(), True) for n in other),
            )
            raise InvalidInput(
                f"{f.uri} does not match {files[0].uri}: {'; '.join(diff)}; "
                "all files of one result must have the same header row"
            )
    return files, columns, None


def _null() -> pa.DataType:
    import pyarrow as pa

    return pa.null()


def _inspect_json(store: _Store, files: list[ResultFile], sample_rows: int) -> _Inspected:
    columns = _text_columns(_json_schema(store, files[0], sample_rows))
    for f in files[1:]:
        _json_first_record(store, f)
    return files, columns, None
