"""CSV and newline-delimited JSON: the schema inferred from a bounded sample.

pyarrow's inference reads ``01234`` as the integer 1234, ``1.10`` and 23-digit integers as
doubles, and any fractional second as nanoseconds: each a guess that loses what was
written. The column types are refined from the sampled values as written (docs/types.md, "CSV and JSON"):

- a value with a leading zero (``01234``, ``007.5``; not ``0`` or ``0.5``) keeps the
  column text: the zero is part of the value (codes, zip codes, account numbers);
- integers stay BIGINT where pyarrow read them so; beyond BIGINT, DECIMAL(38,0) holds up
  to 38 digits and longer ones stay text;
- numbers with a decimal point are DECIMAL(p,s), s the widest scale seen and p - s the
  widest integer part, while p <= 38; exponent notation, infinities and wider numbers
  are doubles, with a warning that says what may be lost;
- timestamps keep microseconds, or nanoseconds where a sampled value has 7 to 9
  fractional digits: the target then refuses them as it refuses Parquet nanoseconds,
  rather than rounding.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Iterator
from contextlib import closing
from typing import TYPE_CHECKING

from publisher.dialects.types import MAX_DECIMAL_PRECISION
from publisher.model.errors import InvalidInput
from publisher.model.vocabulary import InputFormat
from publisher.results.formats import _AVRO_MAGIC, _PARQUET_MAGIC, _Corrupt, _wrong_format
from publisher.results.reads import read_each
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


def _csv_sample(
    store: _Store, f: ResultFile, sample_rows: int
) -> tuple[pa.Schema, dict[str, list[str]], frozenset[str]]:
    """The schema pyarrow infers from the sample, each column's non-null values as written,
    and the columns where the sample holds an empty string: a quoted "" (an unquoted empty
    field is NULL, Spark's convention; docs/types.md, "NULL in CSV")."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    text, _ = _text_head(store, f, "csv", sample_rows + 1)
    data = text.encode("utf-8")
    parse = pacsv.ParseOptions(delimiter=",", newlines_in_values=True)
    try:
        table = pacsv.read_csv(pa.BufferReader(data), parse_options=parse)
        as_text = pacsv.read_csv(
            pa.BufferReader(data),
            parse_options=parse,
            # The same NULLs as the inference above: only the other values have digits to keep.
            convert_options=pacsv.ConvertOptions(
                column_types={name: pa.string() for name in table.column_names}, strings_can_be_null=True
            ),
        )
        quoted = pacsv.read_csv(
            pa.BufferReader(data),
            parse_options=parse,
            convert_options=pacsv.ConvertOptions(
                column_types={name: pa.string() for name in table.column_names},
                null_values=[""],
                quoted_strings_can_be_null=False,
                strings_can_be_null=True,
            ),
        )
    except pa.ArrowException as e:
        raise _wrong_format(f, "csv", str(e), None) from e
    values = {name: [v for v in as_text.column(name).to_pylist() if v is not None] for name in table.column_names}
    empty = frozenset(name for name in table.column_names if "" in quoted.column(name).to_pylist())
    return table.schema, values, empty


def _json_sample(store: _Store, f: ResultFile, sample_rows: int) -> tuple[pa.Schema, dict[str, list[str]], int]:
    """The schema pyarrow infers from the sample, each top-level field's non-null scalar
    values as written (numbers as their JSON text), and the sample's line count."""
    import pyarrow as pa
    import pyarrow.json as pajson

    text, count = _text_head(store, f, "json", sample_rows)
    if count == 0 or not text.strip():
        raise _wrong_format(f, "json", "the file is empty", None)
    try:
        schema = pajson.read_json(pa.BufferReader(text.encode("utf-8"))).schema
    except pa.ArrowException as e:
        raise _wrong_format(f, "json", str(e), text.encode("utf-8")) from e
    values: dict[str, list[str]] = {name: [] for name in schema.names}
    for line in text.splitlines():
        if not line.strip():
            continue
        record = json.loads(line, parse_int=str, parse_float=str)  # pyarrow read every line already
        for name, value in record.items() if isinstance(record, dict) else ():
            if isinstance(value, str) and name in values:
                values[name].append(value)
    return schema, values, text.count("\n") + (not text.endswith("\n"))


def _text_columns(
    schema: pa.Schema, values: dict[str, list[str]], empty: frozenset[str] = frozenset()
) -> tuple[tuple[Column, ...], tuple[str, ...]]:
    """The columns, each typed from its sampled values as written (_refined_type), and the
    warnings of columns whose values may lose digits."""
    columns, warnings = [], []
    for f in schema:
        t, warning = _refined_type(f.name, f.type, values.get(f.name, ()))
        # Text formats cannot say NOT NULL: every column may hold nulls.
        columns.append(Column(f.name, t, True, empty=f.name in empty))
        if warning:
            warnings.append(warning)
    return tuple(columns), tuple(warnings)


# --- Column types from the values as written ---------------------------------------

_LEADING_ZERO = re.compile(r"[+-]?0\d")
_PLAIN_NUMBER = re.compile(r"[+-]?(\d*)(?:\.(\d*))?")
_FRACTION = re.compile(r"\d:\d\d[.,](\d+)")

MICROSECOND_DIGITS = 6
"""Fractional digits of a microsecond timestamp, what Redshift (and PostgreSQL) keep."""


def _refined_type(name: str, t: pa.DataType, values: Iterable[str]) -> tuple[pa.DataType, str | None]:
    """The column's type given its sampled non-null values as written, and a warning
    where values may lose digits in that type."""
    import pyarrow as pa

    if pa.types.is_integer(t) or pa.types.is_floating(t):
        return _numeric(name, t, values)
    if pa.types.is_timestamp(t) and t.unit in ("ms", "us", "ns"):
        digits = max((len(m.group(1)) for v in values if (m := _FRACTION.search(v))), default=0)
        return pa.timestamp("ns" if digits > MICROSECOND_DIGITS else "us", tz=t.tz), None
    return t, None


def _numeric(name: str, t: pa.DataType, values: Iterable[str]) -> tuple[pa.DataType, str | None]:
    import pyarrow as pa

    integer_digits = scale = 0
    inexact = ""  # the first value a decimal cannot hold
    for value in values:
        text = value.strip()
        if _LEADING_ZERO.match(text):
            return pa.string(), None
        m = _PLAIN_NUMBER.fullmatch(text)
        if m is None or not (m.group(1) or m.group(2)):
            inexact = inexact or text
            continue
        integer_digits = max(integer_digits, len(m.group(1).lstrip("0")))
        scale = max(scale, len(m.group(2) or ""))
    if inexact:
        return pa.float64(), _double_warning(name, f"values such as {inexact} are not plain decimals")
    if pa.types.is_integer(t):
        return t, None
    if scale == 0:  # integers beyond BIGINT, which pyarrow read as doubles
        if integer_digits <= MAX_DECIMAL_PRECISION:
            return pa.decimal128(MAX_DECIMAL_PRECISION, 0), None
        return pa.string(), None
    precision = max(integer_digits + scale, 1)
    if precision <= MAX_DECIMAL_PRECISION:
        return pa.decimal128(precision, scale), None
    why = f"values need {precision} digits ({integer_digits} before the point, {scale} after), more than DECIMAL's 38"
    return pa.float64(), _double_warning(name, why)


def _double_warning(name: str, why: str) -> str:
    return (
        f"column {name!r} is published as a double: {why}; a double keeps 15 to 17 significant digits "
        f"and rounds the rest. To keep every digit, write plain decimals of at most 38 digits in the job, "
        f"or give the column a DECIMAL(p,s) or VARCHAR in columnTypes"
    )


def _inspect_csv(store: _Store, files: list[ResultFile], sample_rows: int) -> _Inspected:
    header = _csv_header(store, files[0])
    columns, warnings = _text_columns(*_csv_sample(store, files[0], sample_rows))
    with closing(read_each(store, files[1:], lambda f: _csv_header(store, f))) as headers:
        for f, other in zip(files[1:], headers, strict=True):
            if other != header:
                diff = _differences(
                    tuple(Column(n, _null(), True) for n in header),
                    tuple(Column(n, _null(), True) for n in other),
                )
                raise InvalidInput(
                    f"{f.uri} does not match {files[0].uri}: {'; '.join(diff)}; "
                    "all files of one result must have the same header row"
                )
    return files, columns, None, warnings


def _null() -> pa.DataType:
    import pyarrow as pa

    return pa.null()


def _inspect_json(store: _Store, files: list[ResultFile], sample_rows: int) -> _Inspected:
    schema, values, sampled = _json_sample(store, files[0], sample_rows)
    columns, warnings = _text_columns(schema, values)
    shape = _shape(pa_struct(schema))
    sample = f"the first {sampled} lines of {files[0].uri}"
    for f in files:
        if not _arrow_reads_as(store, f, schema):
            _json_fields_known(store, f, shape, sample)
    return files, columns, None, warnings


class _ArrowInput:
    """A result stream as pyarrow reads a Python file: forward only."""

    closed = False

    def __init__(self, stream: _Stream) -> None:
        self._stream = stream

    def read(self, n: int = -1) -> bytes:
        return self._stream.read(n)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def close(self) -> None:
        self.closed = True


def _arrow_reads_as(store: _Store, f: ResultFile, schema: pa.Schema) -> bool:
    """Whether pyarrow's streaming reader reads every line of ``f`` with the sample's schema,
    failing at any field the schema lacks: the fast check (about 0.8 s per 100 MB, against
    about 3.3 s line by line in Python). False for anything else, too (a value of another type
    than the sample's, a line longer than a block), which the line-by-line check sorts out."""
    import pyarrow as pa
    import pyarrow.json as pajson

    options = pajson.ParseOptions(explicit_schema=schema, unexpected_field_behavior="error")
    with closing(store.stream(f, TEXT_CHUNK)) as stream:
        try:
            source = pa.PythonFile(_ArrowInput(stream), mode="r")
            reader = pajson.open_json(
                source, read_options=pajson.ReadOptions(block_size=TEXT_CHUNK), parse_options=options
            )
            for _ in reader:
                pass  # each block is dropped once read: memory holds one block
        except (pa.ArrowException, ValueError, OSError):
            return False
    return True


Shape = dict[str, "Shape | None"]
"""The fields of a JSON object, each with the fields of its objects (None: a leaf)."""


def pa_struct(schema: pa.Schema) -> pa.DataType:
    import pyarrow as pa

    return pa.struct(list(schema))


def _shape(t: pa.DataType) -> Shape | None:
    import pyarrow as pa

    while pa.types.is_list(t) or pa.types.is_large_list(t):
        t = t.value_type
    if not pa.types.is_struct(t):
        return None
    return {t.field(i).name: _shape(t.field(i).type) for i in range(t.num_fields)}


def _unknown_field(value: object, shape: Shape | None, path: str = "") -> str | None:
    """The first field of ``value`` (a parsed JSON value) that ``shape`` lacks, as a dotted path."""
    if shape is None:
        return None
    if isinstance(value, list):
        for item in value:
            found = _unknown_field(item, shape, path)
            if found:
                return found
    elif isinstance(value, dict):
        for key, item in value.items():
            if key not in shape:
                return f"{path}{key}"
            found = _unknown_field(item, shape[key], f"{path}{key}.")
            if found:
                return found
    return None


def _json_lines(store: _Store, f: ResultFile) -> Iterator[tuple[int, bytes]]:
    """The file's lines with their 1-based numbers, read in chunks: memory holds one chunk
    and the line it ends in, whatever the file's size."""
    with closing(store.stream(f, TEXT_CHUNK)) as stream:
        rest = b""
        number = 0
        first = True
        while True:
            chunk = stream.read(TEXT_CHUNK)
            if first and chunk.startswith(b"\xef\xbb\xbf"):
                chunk = chunk[3:]
            first = False
            if not chunk:
                break
            lines = (rest + chunk).split(b"\n")
            rest = lines.pop()
            for line in lines:
                number += 1
                yield number, line
        if rest:
            yield number + 1, rest


def _json_fields_known(store: _Store, f: ResultFile, shape: Shape | None, sample: str) -> None:
    """Every line of ``f`` is a JSON object whose fields (nested ones too) are in ``shape``:
    COPY would drop a field that the schema, inferred from a sample, does not have."""
    for number, line in _json_lines(store, f):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            record = None
        if not isinstance(record, dict):
            raise _wrong_format(f, "json", f"line {number} is not a JSON object", line[:1024] if number == 1 else None)
        unknown = _unknown_field(record, shape)
        if unknown is not None:
            known = ", ".join(shape) if shape else ""
            raise InvalidInput(
                f"{f.uri}:{number}: field {unknown!r} is not in the schema inferred from {sample} "
                f"(fields: {known}); the schema comes from a sample, so every field must appear in it: "
                "write every field on every line, null where it has no value (Spark: ignoreNullFields=false)"
            )
