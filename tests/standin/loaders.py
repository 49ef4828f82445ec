"""Reading a COPY's S3 objects and turning them into CSV for `COPY ... FROM STDIN`.

Every format is re-encoded into one canonical CSV dialect that PostgreSQL reads without
options: comma separated, every non-NULL value quoted, NULL as an unquoted empty field.
Redshift's own rules (which file, which column, what counts as NULL) are applied here,
so PostgreSQL only parses values. Data is streamed in chunks; a LineMap remembers which
source file and line each streamed record came from, to report load errors as Redshift
does.
"""

from __future__ import annotations

import bisect
import bz2
import csv
import datetime as dt
import decimal
import gzip
import io
import json
import tempfile
import threading
import uuid
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import botocore.config
import botocore.exceptions
import fastavro
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from .s3copy import CopyError, CopySpec, split_s3_uri

csv.field_size_limit(64 * 1024 * 1024)  # long values must fail on DDL length, not here

CHUNK_BYTES = 1 << 20
PARQUET_BATCH_ROWS = 131072
PARQUET_IN_MEMORY_MAX = 256 * 1024 * 1024
# Redshift's err_code values for the load errors the stand-in itself detects.
ERR_LENGTH = 1204
ERR_DELIMITER = 1214
ERR_EXTRA_COLUMN = 1202
ERR_UTF8 = 1220
ERR_JSON = 1216
ERR_AVRO = 1216


class LoadError(Exception):
    """A bad record or value: recorded in stl_load_errors, reported as 'Load into table failed'."""

    def __init__(
        self,
        reason: str,
        code: int,
        uri: str = "",
        line: int = 0,
        colname: str = "",
        col_type: str = "",
        raw_value: str = "",
        raw_line: str = "",
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code
        self.uri = uri
        self.line = line
        self.colname = colname
        self.col_type = col_type
        self.raw_value = raw_value
        self.raw_line = raw_line


class CopyAbort(Exception):
    """A failure that is not a bad value (schema mismatch, unreadable file): a plain error."""

    def __init__(self, message: str, sqlstate: str = "XX000", detail: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.sqlstate = sqlstate
        self.detail = detail


@dataclass(frozen=True)
class TargetColumn:
    name: str
    type_name: str  # format_type(), e.g. 'character varying(10)'
    base: str  # typname of the base type: varchar, int4, jsonb (for the super domain), ...
    category: str  # pg_type.typcategory of the base type
    is_super: bool
    max_bytes: int | None  # VARCHAR(n)/CHAR(n): Redshift counts n in bytes

    @property
    def is_char(self) -> bool:
        return self.category == "S"

    @property
    def short_type(self) -> str:
        return "super" if self.is_super else self.base


@dataclass(frozen=True)
class S3Object:
    uri: str
    bucket: str
    key: str
    size: int


# --- S3 ---------------------------------------------------------------------------------

_clients: dict[tuple[str, str, str, str, str | None], Any] = {}
_clients_lock = threading.Lock()


def s3_client(endpoint: str, spec: CopySpec) -> Any:
    """A boto3 client for the COPY's credentials (an IAM role maps to fixed keys: moto
    accepts any). Cached: building a client costs tens of milliseconds."""
    creds = spec.credentials
    if creds.kind == "iam_role":
        key_id, secret, token = "standin-iam-role", "standin-iam-role", None
    else:
        key_id, secret, token = creds.access_key_id, creds.secret_access_key, creds.session_token
    region = spec.region or "us-east-1"
    cache_key = (endpoint, region, key_id, secret, token)
    with _clients_lock:
        client = _clients.get(cache_key)
        if client is None:
            config = botocore.config.Config(
                s3={"addressing_style": "path"}, retries={"max_attempts": 2}, max_pool_connections=4
            )
            client = boto3.session.Session().client(
                "s3",
                endpoint_url=endpoint,
                region_name=region,
                aws_access_key_id=key_id,
                aws_secret_access_key=secret,
                aws_session_token=token,
                config=config,
            )
            _clients[cache_key] = client
        return client


def _s3_error(exc: botocore.exceptions.ClientError) -> CopyError:
    error = exc.response.get("Error", {})
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", "")
    return CopyError(
        f"S3ServiceException:{error.get('Message', str(exc))},Status {status},Error {error.get('Code', '')}", "XX000"
    )


def resolve_objects(s3: Any, spec: CopySpec) -> list[S3Object]:
    """The objects a COPY loads: every key with the prefix, or exactly a manifest's entries."""
    bucket, key = spec.bucket_and_key
    try:
        return _manifest_objects(s3, spec, bucket, key) if spec.manifest else _prefix_objects(s3, bucket, key)
    except botocore.exceptions.ClientError as exc:
        raise _s3_error(exc) from None


def _prefix_objects(s3: Any, bucket: str, prefix: str) -> list[S3Object]:
    # Redshift matches the prefix as a plain string: 'data/part' also loads
    # 'data/part-extra.csv' and 'data/partition/x'. Folder markers (keys ending in '/',
    # empty) are no files.
    objects = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            if item["Key"].endswith("/") and item["Size"] == 0:
                continue
            objects.append(S3Object(f"s3://{bucket}/{item['Key']}", bucket, item["Key"], item["Size"]))
    if not objects:
        raise CopyError(f"The specified S3 prefix '{prefix}' does not exist", "XX000", detail=f"bucket: {bucket}")
    return objects


def _manifest_objects(s3: Any, spec: CopySpec, bucket: str, key: str) -> list[S3Object]:
    try:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except botocore.exceptions.ClientError as exc:
        raise CopyError("Problem reading manifest file - " + _s3_error(exc).message, "XX000") from None
    try:
        manifest = json.loads(body)
        entries = manifest["entries"]
        if not isinstance(entries, list):
            raise TypeError("entries")
    except (ValueError, KeyError, TypeError):
        raise CopyError(
            "Manifest file is not in correct json format", "XX000", detail=f"manifest: {spec.source}"
        ) from None
    objects = []
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("url"), str):
            raise CopyError("Manifest file is not in correct json format: an entry has no url", "XX000")
        url = entry["url"]
        entry_bucket, entry_key = split_s3_uri(url)
        length = (entry.get("meta") or {}).get("content_length")
        if spec.fmt == "parquet" and length is None:
            raise CopyError(
                f"Manifest entry '{url}' has no meta.content_length, which is required for columnar files", "XX000"
            )
        try:
            size = s3.head_object(Bucket=entry_bucket, Key=entry_key)["ContentLength"]
        except botocore.exceptions.ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code not in ("404", "NoSuchKey", "NotFound"):
                raise _s3_error(exc) from None
            if entry.get("mandatory", False) is True:
                raise CopyError(
                    f"Manifest file entry '{url}' is mandatory but the file does not exist",
                    "XX000",
                    detail=f"manifest: {spec.source}",
                ) from None
            continue
        if length is not None and length != size:
            raise CopyError(
                f"Manifest entry '{url}' has meta.content_length {length} but the object has {size} bytes", "XX000"
            )
        objects.append(S3Object(url, entry_bucket, entry_key, size))
    return objects


class _RawBody(io.RawIOBase):
    """A botocore StreamingBody as a raw stream, so io/gzip/bz2 can buffer over it."""

    def __init__(self, body: Any) -> None:
        self.body = body

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.body.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self.body.close()
        super().close()


# --- where each streamed record came from -------------------------------------------------


@dataclass
class FileSpan:
    uri: str
    first: int  # global number (1-based) of the file's first streamed record
    count: int = 0
    # (record number within the file, source line) wherever the line is not the previous
    # record's line + 1; without breaks, record k is line k.
    break_records: list[int] = field(default_factory=list)
    break_lines: list[int] = field(default_factory=list)

    def locate(self, record_in_file: int) -> int:
        i = bisect.bisect_right(self.break_records, record_in_file) - 1
        if i < 0:
            return record_in_file
        return self.break_lines[i] + (record_in_file - self.break_records[i])


class LineMap:
    """Maps PostgreSQL's COPY line numbers back to source files and lines.

    PostgreSQL counts one line per record plus the newlines inside quoted values, except
    in the stream's first record, where it counts carriage returns instead (it learns
    the line ending only at the end of that record). The loader reports such newlines
    with add_extra_lines(), which are rare, and every other record is one line.
    """

    def __init__(self) -> None:
        self.spans: list[FileSpan] = []
        self.extra_records: list[int] = []  # global record numbers ...
        self.extra_totals: list[int] = []  # ... and the extra lines counted through them

    def add_extra_lines(self, record: int, count: int) -> None:
        self.extra_records.append(record)
        self.extra_totals.append((self.extra_totals[-1] if self.extra_totals else 0) + count)

    def record_of_line(self, line: int) -> int:
        """The record PostgreSQL calls 'line N' in its error context."""
        # PostgreSQL's line of record r is r + (extra lines through r): increasing in r.
        keys = [r + total for r, total in zip(self.extra_records, self.extra_totals, strict=True)]
        i = bisect.bisect_right(keys, line) - 1
        return line if i < 0 else line - self.extra_totals[i]

    def start_file(self, uri: str, first: int) -> FileSpan:
        span = FileSpan(uri, first)
        self.spans.append(span)
        return span

    def locate(self, record: int) -> tuple[str, int]:
        """(file URI, line in that file) of the record-th record streamed (1-based)."""
        for span in reversed(self.spans):
            if span.first <= record and (record < span.first + span.count or span is self.spans[-1]):
                return span.uri, span.locate(record - span.first + 1)
        return (self.spans[0].uri if self.spans else ""), record


# --- values -------------------------------------------------------------------------------


class JsonNumber(str):
    """A JSON number kept as its source text: loading it into DECIMAL loses nothing."""


def _plain(value: Any) -> Any:
    """A value json.dumps can write: nested data for SUPER or a VARCHAR column."""
    if isinstance(value, JsonNumber):
        return float(value) if any(c in value for c in ".eE") else int(value)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, decimal.Decimal):
        return float(value) if value != value.to_integral_value() else int(value)
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, bytes):
        return value.hex()
    return value


def to_json_text(value: Any) -> str:
    return json.dumps(_plain(value), ensure_ascii=False, separators=(",", ":"))


def scalar_text(value: Any) -> str:
    """Text of a decoded JSON or Avro value for a non-SUPER column."""
    if isinstance(value, str):
        return value
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, decimal.Decimal):
        return format(value, "f")
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, (int, uuid.UUID)):
        return str(value)
    if isinstance(value, bytes):
        return value.decode("utf-8")
    return to_json_text(value)


def check_length(value: str, column: TargetColumn) -> None:
    # Redshift's VARCHAR(n) holds n bytes of UTF-8, PostgreSQL's n characters: check bytes.
    limit = column.max_bytes
    if limit is not None and len(value) * 4 > limit and len(value.encode("utf-8")) > limit:
        raise LoadError(
            "String length exceeds DDL length",
            ERR_LENGTH,
            colname=column.name,
            col_type=column.short_type,
            raw_value=value[:1024],
        )


def _encode_row(values: list[str | None]) -> str:
    return ",".join('"' + v.replace('"', '""') + '"' if v is not None else "" for v in values) + "\n"


# --- the loader ---------------------------------------------------------------------------


Row = tuple[int, list[str | None]]  # (source line, values)


class Loader:
    """Streams the objects of one COPY as canonical CSV chunks."""

    def __init__(self, s3: Any, spec: CopySpec, objects: list[S3Object], targets: list[TargetColumn]) -> None:
        self.s3 = s3
        self.spec = spec
        self.objects = objects
        self.targets = targets
        self.rows = 0
        self.linemap = LineMap()

    def chunks(self) -> Generator[bytes | pa.Buffer, None, None]:
        for obj in self.objects:
            span = self.linemap.start_file(obj.uri, self.rows + 1)
            if self.spec.fmt == "parquet":
                yield from self._parquet_chunks(obj, span)
            else:
                yield from self._row_chunks(obj, span)

    # Row formats: CSV, JSON, Avro -----------------------------------------------------

    def _row_chunks(self, obj: S3Object, span: FileSpan) -> Iterator[bytes]:
        body = self.s3.get_object(Bucket=obj.bucket, Key=obj.key)["Body"]
        stream: Any = io.BufferedReader(_RawBody(body), 1 << 20)
        try:
            if self.spec.compression == "gzip":
                stream = gzip.GzipFile(fileobj=stream)
            elif self.spec.compression == "bzip2":
                stream = bz2.BZ2File(stream)
            if self.spec.fmt == "avro":
                rows = self._avro_rows(stream, obj.uri)
            else:
                text = io.TextIOWrapper(stream, encoding="utf-8", newline="")
                rows = self._csv_rows(text, obj.uri) if self.spec.fmt == "csv" else self._json_rows(text, obj.uri)
            yield from self._encode(rows, span, obj.uri)
        finally:
            stream.close()

    def _encode(self, rows: Iterator[Row], span: FileSpan, uri: str) -> Iterator[bytes]:
        parts: list[str] = []
        size = 0
        previous_line = 0
        try:
            for line, values in rows:
                if line != previous_line + 1:
                    span.break_records.append(span.count + 1)
                    span.break_lines.append(line)
                previous_line = line
                text = _encode_row(values)
                if "\r" in text or "\n" in text[:-1]:
                    self._count_embedded_newlines(self.rows + 1, text)
                parts.append(text)
                size += len(text)
                span.count += 1
                self.rows += 1
                if size >= CHUNK_BYTES:
                    yield "".join(parts).encode("utf-8")
                    parts, size = [], 0
        except UnicodeDecodeError:
            raise LoadError(
                "String contains invalid or unsupported UTF8 codepoints", ERR_UTF8, uri=uri, line=previous_line + 1
            ) from None
        if parts:
            yield "".join(parts).encode("utf-8")

    def _count_embedded_newlines(self, record: int, text: str) -> None:
        extra = text.count("\r") if record == 1 else text.count("\n") - 1
        if extra:
            self.linemap.add_extra_lines(record, extra)

    def _csv_rows(self, text: io.TextIOBase, uri: str) -> Iterator[Row]:
        spec = self.spec
        reader = csv.reader(text, delimiter=spec.delimiter, quotechar=spec.quote, doublequote=True)
        converters = [self._csv_converter(column) for column in self.targets]
        width = len(converters)
        previous_end = 0
        record = 0
        while True:
            try:
                fields = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                raise LoadError(f"Invalid quoted field: {exc}", ERR_DELIMITER, uri=uri, line=previous_end + 1) from None
            start, previous_end = previous_end + 1, reader.line_num
            record += 1
            if record <= spec.ignoreheader:
                continue
            if not fields:
                fields = [""]
            if len(fields) != width:
                reason = "Delimiter not found" if len(fields) < width else "Extra column(s) found"
                code = ERR_DELIMITER if len(fields) < width else ERR_EXTRA_COLUMN
                raise LoadError(reason, code, uri=uri, line=start, raw_line=spec.delimiter.join(fields)[:1024])
            try:
                yield start, [convert(value) for convert, value in zip(converters, fields, strict=True)]
            except LoadError as exc:
                exc.uri, exc.line = uri, start
                raise

    def _csv_converter(self, column: TargetColumn) -> Callable[[str], str | None]:
        spec = self.spec
        null_as = spec.null_as
        # Redshift: an empty field is NULL for non-character columns, an empty string for
        # CHAR/VARCHAR unless EMPTYASNULL; blank (whitespace-only) likewise with BLANKSASNULL.
        empty_is_null = not column.is_char or spec.emptyasnull
        blank_is_null = not column.is_char or spec.blanksasnull
        check = column.max_bytes is not None

        def convert(value: str) -> str | None:
            if value == null_as:
                return None
            if not value:
                return None if empty_is_null else ""
            if blank_is_null and value.isspace():
                return None
            if check:
                check_length(value, column)
            return value

        return convert

    def _column_index(self, names: list[str]) -> dict[str, int]:
        """Source field name -> target position, as JSON/Avro 'auto' match them: exactly
        (Redshift column names are lower case), or ignoring case with 'auto ignorecase'."""
        by_name = {column.name: i for i, column in enumerate(self.targets)}
        if not self.spec.ignorecase:
            return {name: by_name[name] for name in names if name in by_name}
        lowered = {column.name.lower(): i for i, column in enumerate(self.targets)}
        return {name: lowered[name.lower()] for name in names if name.lower() in lowered}

    def _value_text(self, value: Any, column: TargetColumn) -> str | None:
        if value is None:
            return None
        if column.base == "timestamptz" and isinstance(value, dt.datetime) and value.tzinfo is None:
            # Redshift reads a timestamp without offset as UTC, whatever the session's TimeZone.
            value = value.replace(tzinfo=dt.UTC)
        text = to_json_text(value) if column.is_super else scalar_text(value)
        if column.is_char:
            if text == "" and self.spec.emptyasnull:
                return None
            if self.spec.blanksasnull and text.isspace():
                return None
            check_length(text, column)
        return text

    def _json_rows(self, text: io.TextIOBase, uri: str) -> Iterator[Row]:
        decoder = json.JSONDecoder(parse_float=JsonNumber)
        index_cache: dict[tuple[str, ...], dict[str, int]] = {}
        pending = ""
        pending_start = 0
        for line_no, line in enumerate(text, start=1):
            if not pending:
                pending_start = line_no
            pending += line
            pos = 0
            while True:
                while pos < len(pending) and pending[pos] in " \t\r\n":
                    pos += 1
                if pos == len(pending):
                    pending = ""
                    break
                try:
                    obj, pos = decoder.raw_decode(pending, pos)
                except json.JSONDecodeError:
                    # Maybe an object spanning lines: wait for more, within reason.
                    pending = pending[pos:]
                    if line_no - pending_start > 10000 or len(pending) > (16 << 20):
                        raise LoadError(
                            "Invalid JSON object", ERR_JSON, uri=uri, line=pending_start, raw_line=pending[:1024]
                        ) from None
                    break
                yield line_no, self._json_values(obj, index_cache, uri, line_no)
                pending_start = line_no
        if pending.strip():
            raise LoadError("Invalid JSON object", ERR_JSON, uri=uri, line=pending_start, raw_line=pending[:1024])

    def _json_values(
        self, obj: Any, index_cache: dict[tuple[str, ...], dict[str, int]], uri: str, line: int
    ) -> list[str | None]:
        if not isinstance(obj, dict):
            raise LoadError(
                "Invalid JSONPath format: Member is not an object.",
                ERR_JSON,
                uri=uri,
                line=line,
                raw_line=to_json_text(obj)[:1024],
            )
        keys = tuple(obj)
        index = index_cache.get(keys)
        if index is None:
            index = index_cache[keys] = self._column_index(list(keys))
        values: list[str | None] = [None] * len(self.targets)
        try:
            for name, position in index.items():
                values[position] = self._value_text(obj[name], self.targets[position])
        except LoadError as exc:
            exc.uri, exc.line = uri, line
            raise
        return values

    def _avro_rows(self, stream: Any, uri: str) -> Iterator[Row]:
        try:
            reader = fastavro.reader(stream)
            schema = reader.writer_schema
            if not isinstance(schema, dict) or schema.get("type") != "record":
                raise CopyAbort(f"Avro file '{uri}' does not hold records")
            index = self._column_index([f["name"] for f in schema["fields"]])
        except (ValueError, EOFError, StopIteration, TypeError) as exc:
            raise CopyAbort(f"Invalid Avro file '{uri}': {exc}") from None
        targets = self.targets
        width = len(targets)
        record = 0
        while True:
            try:
                item: Any = next(reader)
            except StopIteration:
                return
            except (ValueError, EOFError, TypeError) as exc:
                raise LoadError(f"Invalid Avro record: {exc}", ERR_AVRO, uri=uri, line=record + 1) from None
            record += 1
            values: list[str | None] = [None] * width
            try:
                for name, position in index.items():
                    values[position] = self._value_text(item.get(name), targets[position])
            except LoadError as exc:
                exc.uri, exc.line = uri, record
                raise
            yield record, values

    # Parquet ----------------------------------------------------------------------------

    def _parquet_chunks(self, obj: S3Object, span: FileSpan) -> Iterator[pa.Buffer]:
        source, cleanup = self._fetch(obj)
        try:
            try:
                parquet = pq.ParquetFile(source)
                schema = parquet.schema_arrow
            except (pa.ArrowException, OSError) as exc:
                raise CopyAbort(f"File '{obj.uri}' is not a valid Parquet file: {exc}") from None
            # Redshift maps Parquet columns to the table's (or the column list's) by
            # position, never by name; a different count is an error.
            if len(schema) != len(self.targets):
                raise CopyAbort(
                    f"Mismatched column count: file '{obj.uri}' has {len(schema)} columns, the COPY "
                    f"target has {len(self.targets)} (Redshift maps Parquet columns by position)"
                )
            plans = [self._parquet_plan(obj.uri, f, column) for f, column in zip(schema, self.targets, strict=True)]
            options = pacsv.WriteOptions(include_header=False, quoting_style="all_valid")
            names = [f"c{i}" for i in range(len(plans))]
            for batch in parquet.iter_batches(batch_size=PARQUET_BATCH_ROWS, use_threads=True):
                arrays = [plan(batch.column(i), span.count) for i, plan in enumerate(plans)]
                self._count_batch_newlines(arrays)
                sink = pa.BufferOutputStream()
                pacsv.write_csv(pa.RecordBatch.from_arrays(arrays, names=names), sink, options)
                span.count += batch.num_rows
                self.rows += batch.num_rows
                yield sink.getvalue()
        finally:
            cleanup()

    def _count_batch_newlines(self, arrays: list[pa.Array]) -> None:
        """LineMap bookkeeping for the newlines inside this batch's string values."""
        strings = [a for a in arrays if pa.types.is_string(a.type) or pa.types.is_large_string(a.type)]
        if not strings:
            return
        newlines = pc.fill_null(pc.count_substring(strings[0], "\n"), 0)
        for array in strings[1:]:
            newlines = pc.add(newlines, pc.fill_null(pc.count_substring(array, "\n"), 0))
        if not pc.max(newlines).as_py() and self.rows:
            return
        counts = newlines.to_numpy(zero_copy_only=False).copy()  # Arrow's memory is read-only
        if self.rows == 0:  # the stream's first record: PostgreSQL counts \r there
            counts[0] = sum(pc.fill_null(pc.count_substring(a[:1], "\r"), 0)[0].as_py() for a in strings)
        for index in counts.nonzero()[0]:
            self.linemap.add_extra_lines(self.rows + int(index) + 1, int(counts[index]))

    def _fetch(self, obj: S3Object) -> tuple[Any, Callable[[], None]]:
        """Parquet needs random access: the object in memory, or in a temporary file if big."""
        response = self.s3.get_object(Bucket=obj.bucket, Key=obj.key)
        if obj.size <= PARQUET_IN_MEMORY_MAX:
            return pa.py_buffer(response["Body"].read()), lambda: None
        spool = tempfile.NamedTemporaryFile(prefix="standin-", suffix=".parquet")  # noqa: SIM115 - closed by cleanup()
        for chunk in response["Body"].iter_chunks(1 << 20):
            spool.write(chunk)
        spool.flush()
        return spool.name, spool.close

    def _parquet_plan(self, uri: str, source: pa.Field, column: TargetColumn) -> Callable[[pa.Array, int], pa.Array]:
        """How to turn one Parquet column into CSV-ready Arrow, after checking that
        Redshift would accept its type for the target column."""
        arrow_type = source.type
        if pa.types.is_dictionary(arrow_type):
            arrow_type = arrow_type.value_type
        nested = pa.types.is_nested(arrow_type)
        if not _parquet_compatible(arrow_type, column, self.spec.serializetojson):
            raise CopyAbort(
                f"File '{uri}' has an incompatible Parquet schema for column '{column.name}'. "
                f"Column type: {column.type_name.upper()}, Parquet schema: {source.name} {arrow_type}"
            )
        spec_uri = uri

        def plan(array: pa.Array, offset: int) -> pa.Array:
            if pa.types.is_dictionary(array.type):
                array = array.dictionary_decode()
            if column.is_super or nested:
                return pa.array([None if v is None else to_json_text(v) for v in array.to_pylist()], pa.string())
            if pa.types.is_timestamp(array.type) and (array.type.tz or column.base == "timestamptz"):
                # Written with 'Z': Redshift reads Parquet timestamps as UTC, whatever the
                # session's TimeZone; a TIMESTAMP column keeps the UTC wall time.
                array = array.cast(pa.timestamp(array.type.unit, "UTC"))
            if pa.types.is_binary(array.type) or pa.types.is_large_binary(array.type):
                try:
                    array = array.cast(pa.string())
                except pa.ArrowInvalid:
                    raise LoadError(
                        "String contains invalid or unsupported UTF8 codepoints",
                        ERR_UTF8,
                        uri=spec_uri,
                        line=offset + 1,
                        colname=column.name,
                        col_type=column.short_type,
                    ) from None
            if column.max_bytes is not None and (
                pa.types.is_string(array.type) or pa.types.is_large_string(array.type)
            ):
                _check_lengths(array, column, spec_uri, offset)
            return array

        return plan


def _check_lengths(array: pa.Array, column: TargetColumn, uri: str, offset: int) -> None:
    lengths = pc.binary_length(array)
    longest = pc.max(lengths).as_py()
    limit = column.max_bytes or 0
    if longest is not None and longest > limit:
        row = pc.index(pc.greater(lengths, limit), True).as_py()
        raise LoadError(
            "String length exceeds DDL length",
            ERR_LENGTH,
            uri=uri,
            line=offset + row + 1,
            colname=column.name,
            col_type=column.short_type,
            raw_value=str(array[row].as_py())[:1024],
        )


def _parquet_compatible(arrow_type: pa.DataType, column: TargetColumn, serializetojson: bool) -> bool:
    """Redshift's type checks when reading Parquet (it refuses what would truncate or
    reinterpret: a BIGINT file column into INTEGER, a string into a number, ...)."""
    base = column.base
    if column.is_super or pa.types.is_null(arrow_type):
        return True
    if pa.types.is_nested(arrow_type):
        return serializetojson and column.is_char
    if (
        pa.types.is_string(arrow_type)
        or pa.types.is_large_string(arrow_type)
        or pa.types.is_binary(arrow_type)
        or pa.types.is_large_binary(arrow_type)
    ):
        return column.is_char
    if pa.types.is_boolean(arrow_type):
        return base == "bool"
    if pa.types.is_integer(arrow_type):
        width = arrow_type.bit_width + (1 if pa.types.is_unsigned_integer(arrow_type) else 0)
        limits = {"int2": 16, "int4": 32, "int8": 64}
        return (base in limits and width <= limits[base]) or base == "numeric"
    if pa.types.is_floating(arrow_type):
        return base == "float8" or (base == "float4" and arrow_type.bit_width <= 32)
    if pa.types.is_decimal(arrow_type):
        return base == "numeric"
    if pa.types.is_timestamp(arrow_type):
        return base in ("timestamp", "timestamptz")
    if pa.types.is_date(arrow_type):
        return base == "date"
    if pa.types.is_time(arrow_type):
        return base in ("time", "timetz")
    return False
