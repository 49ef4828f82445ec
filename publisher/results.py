"""Locate a job's result files and read their schema and row counts from metadata.

Only metadata is read where the format has it (the Parquet footer, the Avro header and
block headers), so inspecting a 1 GB result costs about what a 1 KB one does. CSV and
JSON have no metadata: their schema is inferred from a bounded sample.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Protocol

from publisher.model.errors import InvalidInput
from publisher.model.names import column_problems
from publisher.model.vocabulary import InputFormat

if TYPE_CHECKING:
    import pyarrow as pa

FORMAT_NAMES: dict[InputFormat, str] = {
    "pqt": "Parquet",
    "avro": "Avro",
    "csv": "CSV (comma-delimited, with a header row)",
    "json": "newline-delimited JSON",
}

PARQUET_TAIL = 64 * 1024
"""Bytes fetched from a Parquet file's end: the footer of most files fits in one GET."""

S3_CHUNK = 8 * 1024 * 1024
"""Range fetched when scanning an Avro file on S3: many blocks per request."""

S3_PROBE = 64 * 1024
"""Range fetched after a long seek on S3: enough for a block header and sync marker."""

TEXT_SAMPLE_LIMIT = 64 * 1024 * 1024
"""Most bytes read for a CSV/JSON sample, whatever sample_rows says."""

_PARQUET_MAGIC = b"PAR1"
_AVRO_MAGIC = b"Obj\x01"


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


@dataclass(frozen=True)
class Results:
    """A result: its files in one format and the schema they share."""

    location: str
    format: InputFormat
    files: tuple[ResultFile, ...]
    columns: tuple[Column, ...]
    avro_schema: str | None = None  # Avro: a reader schema (JSON) with the files' exact field names

    @property
    def rows(self) -> int | None:
        """Rows in all files, from metadata; None when a format has no row count."""
        counts = [f.rows for f in self.files]
        return None if any(c is None for c in counts) else sum(c or 0 for c in counts)

    @property
    def is_s3(self) -> bool:
        """Whether the result lives on S3."""
        return self.location.startswith("s3://")


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
    listed = store.list(template)
    if not listed:
        raise InvalidInput(
            f"results at {store.location} contain no data files (names starting with '_' "
            f"or '.' are ignored); expected {FORMAT_NAMES[fmt]} files"
        )
    files, columns, avro_schema = _INSPECTORS[fmt](store, listed, sample_rows)
    problems = column_problems(c.name for c in columns)
    if problems:
        raise InvalidInput(f"{files[0].uri}: {'; '.join(problems)}; rename the columns where the job writes them")
    return Results(store.location, fmt, tuple(files), tuple(columns), avro_schema)


_Inspected = tuple[list[ResultFile], tuple[Column, ...], str | None]
"""The files with their row counts, the columns they share, and an Avro reader schema."""


# --- Where the files are ----------------------------------------------------------


class _Stream(Protocol):
    def read(self, n: int = -1, /) -> bytes: ...
    def seek(self, offset: int, whence: int = 0, /) -> int: ...
    def tell(self) -> int: ...
    def close(self) -> None: ...


class _Store(Protocol):
    location: str

    def list(self, template: str | None) -> list[ResultFile]: ...
    def read_range(self, f: ResultFile, start: int, end: int) -> bytes: ...
    def stream(self, f: ResultFile, chunk: int) -> _Stream: ...


def _open_store(location: str, s3_client: Any | None) -> _Store:
    if location.startswith("s3://"):
        if s3_client is None:
            raise InvalidInput(f"results at {location} are on S3: they need an S3 connection")
        return _S3Store(location, s3_client)
    return _LocalStore(location)


def _ignored(name: str) -> bool:
    # Hadoop convention: _SUCCESS, _metadata, .part-0.crc are not data.
    return name == "" or name.startswith(("_", "."))


def _not_found(location: str, template: str | None, why: str = "") -> InvalidInput:
    source = f" (results template {template!r})" if template else ""
    return InvalidInput(f"results not found at {location}{why}; is the job finished?{source}")


class _LocalStore:
    """A folder on this machine."""

    def __init__(self, location: str) -> None:
        self.path = os.path.abspath(os.path.expanduser(location))
        self.location = self.path.rstrip(os.sep) + os.sep

    def list(self, template: str | None) -> list[ResultFile]:
        if not os.path.exists(self.path):
            raise _not_found(self.location, template)
        if not os.path.isdir(self.path):
            raise InvalidInput(f"results location {self.path} is a file; expected a folder")
        files = []
        with os.scandir(self.path) as entries:
            for entry in entries:
                if _ignored(entry.name) or not entry.is_file():
                    continue
                st = entry.stat()
                files.append(ResultFile(entry.path, st.st_size, str(st.st_mtime_ns), None))
        return sorted(files, key=lambda f: f.uri)

    def read_range(self, f: ResultFile, start: int, end: int) -> bytes:
        with open(f.uri, "rb") as fh:
            fh.seek(start)
            return fh.read(end - start)

    def stream(self, f: ResultFile, chunk: int) -> _Stream:
        return open(f.uri, "rb", buffering=min(chunk, 1024 * 1024))


def _split_s3(uri: str) -> tuple[str, str]:
    bucket, _, key = uri[len("s3://") :].partition("/")
    return bucket, key


class _S3Store:
    """An S3 prefix, treated as a folder: keys directly under it, not deeper."""

    def __init__(self, location: str, client: Any) -> None:
        self.client = client
        self.bucket, prefix = _split_s3(location)
        self.prefix = prefix.rstrip("/") + "/" if prefix.strip("/") else ""
        self.location = f"s3://{self.bucket}/{self.prefix}"
        if not self.bucket:
            raise InvalidInput(f"results location {location!r} names no S3 bucket")

    def list(self, template: str | None) -> list[ResultFile]:
        from botocore.exceptions import BotoCoreError, ClientError

        files: list[ResultFile] = []
        seen_any = False
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self.prefix, Delimiter="/"
        )
        try:
            for page in pages:
                seen_any = seen_any or bool(page.get("CommonPrefixes"))
                for obj in page.get("Contents", ()):
                    seen_any = True
                    name = obj["Key"][len(self.prefix) :]
                    if not _ignored(name):
                        etag = str(obj.get("ETag", "")).strip('"')
                        uri = f"s3://{self.bucket}/{obj['Key']}"
                        files.append(ResultFile(uri, int(obj["Size"]), etag, None))
        except ClientError as e:
            code = e.response.get("Error", {}).get("Code", "")
            if code == "NoSuchBucket":
                raise _not_found(self.location, template, f" (bucket {self.bucket} does not exist)") from e
            raise InvalidInput(f"cannot list results at {self.location}: {code or e}") from e
        except BotoCoreError as e:
            raise InvalidInput(f"cannot list results at {self.location}: {e}") from e
        if not seen_any:
            raise _not_found(self.location, template)
        return sorted(files, key=lambda f: f.uri)

    def read_range(self, f: ResultFile, start: int, end: int) -> bytes:
        from botocore.exceptions import BotoCoreError, ClientError

        if end <= start:
            return b""
        _, key = _split_s3(f.uri)
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=key, Range=f"bytes={start}-{end - 1}")
            return bytes(response["Body"].read())
        except ClientError as e:
            code = e.response.get("Error", {}).get("Code", "")
            raise InvalidInput(f"cannot read {f.uri}: {code or e}; was it changed or removed after listing?") from e
        except BotoCoreError as e:
            raise InvalidInput(f"cannot read {f.uri}: {e}") from e

    def stream(self, f: ResultFile, chunk: int) -> _Stream:
        return _RangeStream(lambda start, end: self.read_range(f, start, end), f.size, chunk)


class _RangeStream:
    """A seekable reader over ranged GETs: one buffer, refilled on demand.

    Reading on from the buffer fetches ``chunk`` bytes; a long seek forward (past a big
    Avro block) fetches only a small probe, so skipping data costs no transfer.
    """

    def __init__(self, fetch: Any, size: int, chunk: int) -> None:
        self._fetch = fetch
        self._size = size
        self._chunk = chunk
        self._pos = 0
        self._buf = b""
        self._start = 0

    def tell(self) -> int:
        return self._pos

    def close(self) -> None:
        self._buf = b""

    def seek(self, offset: int, whence: int = 0, /) -> int:
        base = {0: 0, 1: self._pos, 2: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def read(self, n: int = -1, /) -> bytes:
        if n < 0:
            n = self._size - self._pos
        out = bytearray()
        while n > 0 and self._pos < self._size:
            end = self._start + len(self._buf)
            if not self._start <= self._pos < end:
                self._fill(end)
            offset = self._pos - self._start
            piece = self._buf[offset : offset + n]
            if not piece:
                break
            out += piece
            self._pos += len(piece)
            n -= len(piece)
        return bytes(out)

    def _fill(self, old_end: int) -> None:
        near = 0 <= self._pos - old_end < self._chunk // 8
        length = self._chunk if near or not self._buf else S3_PROBE
        self._start = self._pos
        self._buf = self._fetch(self._pos, min(self._size, self._pos + length))


# --- Checks shared by the formats -------------------------------------------------


def _looks_like(head: bytes) -> str:
    if head.startswith(_PARQUET_MAGIC):
        return "a Parquet file"
    if head.startswith(_AVRO_MAGIC):
        return "an Avro file"
    if head[:1] in (b"{", b"["):
        return "JSON text"
    if b"\0" in head[:1024]:
        return "binary data"
    return "text"


def _wrong_format(f: ResultFile, fmt: InputFormat, problem: str, head: bytes | None) -> InvalidInput:
    seen = f"; it looks like {_looks_like(head)}" if head is not None else ""
    return InvalidInput(f"{f.uri} is not a readable {FORMAT_NAMES[fmt]} file (inputFormat {fmt}): {problem}{seen}")


def _relaxed(t: pa.DataType) -> pa.DataType:
    """The type with every nested field nullable: writers differ there, targets do not care."""
    import pyarrow as pa

    if pa.types.is_struct(t):
        return pa.struct(
            [t.field(i).with_type(_relaxed(t.field(i).type)).with_nullable(True) for i in range(t.num_fields)]
        )
    if pa.types.is_map(t):
        return pa.map_(_relaxed(t.key_type), pa.field("value", _relaxed(t.item_type)))
    if pa.types.is_large_list(t):
        return pa.large_list(_relaxed(t.value_type))
    if pa.types.is_list(t):
        return pa.list_(_relaxed(t.value_type))
    return t


def _differences(first: tuple[Column, ...], other: tuple[Column, ...]) -> list[str]:
    a = {c.name: c for c in first}
    b = {c.name: c for c in other}
    out = [f"column {n!r} is missing" for n in a if n not in b]
    out += [f"extra column {n!r}" for n in b if n not in a]
    for name, col in a.items():
        if name in b and _relaxed(col.type) != _relaxed(b[name].type):
            out.append(f"column {name!r} is {b[name].type} instead of {col.type}")
    if not out and [c.name for c in first] != [c.name for c in other]:
        # Redshift COPY maps columnar files by position, so order matters too.
        out.append("the columns are in another order: " + ", ".join(c.name for c in other))
    return out


def _merged(first: tuple[Column, ...], other: tuple[Column, ...]) -> tuple[Column, ...]:
    by_name = {c.name: c for c in other}
    out = []
    for c in first:
        o = by_name[c.name]
        t = c.type if c.type == o.type else _relaxed(c.type)
        nulls = None if c.null_count is None or o.null_count is None else c.null_count + o.null_count
        out.append(Column(c.name, t, c.nullable or o.nullable, nulls))
    return tuple(out)


def _one_schema(schemas: list[tuple[ResultFile, tuple[Column, ...]]]) -> tuple[Column, ...]:
    """The schema every file shares; a clear error at the first file that differs."""
    first_file, columns = schemas[0]
    for f, other in schemas[1:]:
        diff = _differences(columns, other)
        if diff:
            raise InvalidInput(
                f"{f.uri} does not match {first_file.uri}: {'; '.join(diff)}; "
                "all files of one result must have the same columns"
            )
        columns = _merged(columns, other)
    return columns


def _columns(schema: pa.Schema) -> tuple[Column, ...]:
    return tuple(Column(f.name, f.type, f.nullable) for f in schema)


# --- Parquet ------------------------------------------------------------------------


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
        nulls = _parquet_null_counts(pf.metadata)
        columns = tuple(replace(c, null_count=nulls.get(c.name)) for c in _columns(pf.schema_arrow))
        return columns, int(pf.metadata.num_rows)
    except (pa.ArrowException, OSError, ValueError) as e:
        raise _wrong_format(f, "pqt", f"unreadable footer ({e})", None) from e


def _parquet_null_counts(metadata: Any) -> dict[str, int]:
    """NULLs per top-level column from the row groups' statistics, for columns that have
    them in every row group; nested columns are left out (their leaves count other NULLs)."""
    totals: dict[str, int] = {}
    missing: set[str] = set()
    for g in range(metadata.num_row_groups):
        group = metadata.row_group(g)
        for i in range(group.num_columns):
            chunk = group.column(i)
            name = chunk.path_in_schema
            stats = chunk.statistics
            if "." in name or stats is None or not stats.has_null_count:
                missing.add(name)
            else:
                totals[name] = totals.get(name, 0) + int(stats.null_count)
    return {name: n for name, n in totals.items() if name not in missing}


def _inspect_parquet(store: _Store, files: list[ResultFile], sample_rows: int) -> _Inspected:
    schemas = []
    counted = []
    for f in files:
        columns, rows = _parquet_file(store, f)
        schemas.append((f, columns))
        counted.append(replace(f, rows=rows))
    return counted, _one_schema(schemas), None


# --- Avro ---------------------------------------------------------------------------


class _Corrupt(Exception):
    """A structural problem in an Avro file, described for the user."""


def _read_exact(s: _Stream, n: int) -> bytes:
    data = s.read(n)
    if len(data) != n:
        raise _Corrupt(f"truncated at byte {s.tell()}")
    return data


def _read_long(s: _Stream, first: bytes | None = None) -> int:
    """An Avro long: zig-zag varint."""
    shift = 0
    value = 0
    while True:
        b = first if first is not None else s.read(1)
        first = None
        if not b:
            raise _Corrupt(f"truncated at byte {s.tell()}")
        value |= (b[0] & 0x7F) << shift
        if not b[0] & 0x80:
            return (value >> 1) ^ -(value & 1)
        shift += 7
        if shift > 63:
            raise _Corrupt(f"bad number at byte {s.tell()}")


def _read_bytes(s: _Stream) -> bytes:
    n = _read_long(s)
    if n < 0:
        raise _Corrupt(f"negative length at byte {s.tell()}")
    return _read_exact(s, n)


def _avro_header(s: _Stream) -> tuple[dict[str, bytes], bytes]:
    """The file metadata map and the sync marker (Avro spec, Object Container Files)."""
    if s.read(4) != _AVRO_MAGIC:
        raise _Corrupt("no Avro magic bytes (Obj\\x01) at the start")
    meta: dict[str, bytes] = {}
    while True:
        count = _read_long(s)
        if count == 0:
            break
        if count < 0:
            count = -count
            _read_long(s)  # byte size of the block, not needed
        for _ in range(count):
            key = _read_bytes(s).decode("utf-8", "replace")
            meta[key] = _read_bytes(s)
    return meta, _read_exact(s, 16)


def _avro_rows(s: _Stream, sync: bytes) -> int:
    """Sum of the blocks' record counts; block data is skipped, never decoded."""
    rows = 0
    while True:
        first = s.read(1)
        if not first:
            return rows
        count = _read_long(s, first)
        size = _read_long(s)
        if count < 0 or size < 0:
            raise _Corrupt(f"bad block header at byte {s.tell()}")
        s.seek(size, 1)
        if _read_exact(s, 16) != sync:
            raise _Corrupt(f"sync marker mismatch at byte {s.tell() - 16}")
        rows += count


def _avro_file(store: _Store, f: ResultFile) -> tuple[tuple[Column, ...], int, Any]:
    with closing(store.stream(f, S3_CHUNK)) as stream:
        try:
            meta, sync = _avro_header(stream)
            rows = _avro_rows(stream, sync)
        except _Corrupt as e:
            head = store.read_range(f, 0, min(f.size, 1024))
            raise _wrong_format(f, "avro", str(e), head) from e
    columns, schema = _avro_columns(f, meta)
    # A field that is not a union with null holds no NULLs: that much is known without decoding.
    return tuple(replace(c, null_count=None if c.nullable else 0) for c in columns), rows, schema


def avro_reader_schema(writer: Any) -> str:
    """The files' record schema with every top-level field nullable: one reader schema that
    resolves every file of the result (files may differ in nullability), with the files'
    exact field names."""
    fields = []
    for field in writer["fields"]:
        kind = field["type"]
        if not (kind == "null" or (isinstance(kind, list) and "null" in kind)):
            kind = ["null", *kind] if isinstance(kind, list) else ["null", kind]
        elif isinstance(kind, list) and kind[0] != "null":
            kind = ["null", *(k for k in kind if k != "null")]  # a null default needs null first
        fields.append({**field, "type": kind, "default": None})
    return json.dumps({**writer, "fields": fields}, separators=(",", ":"))


def _avro_columns(f: ResultFile, meta: dict[str, bytes]) -> tuple[tuple[Column, ...], Any]:
    import fastavro

    try:
        schema = json.loads(meta["avro.schema"])
        # Validates names and types; defaults matter to writers only.
        fastavro.parse_schema(schema, _write_hint=False, _ignore_default_error=True)
    except fastavro.schema.UnknownType as e:
        raise _wrong_format(f, "avro", f"the header schema names the unknown type {e.name!r}", None) from e
    except (KeyError, ValueError, TypeError, fastavro.schema.SchemaParseException) as e:
        raise _wrong_format(f, "avro", f"no valid schema in the header ({e})", None) from e
    try:
        return avro_columns(schema), schema
    except AvroTypeError as e:
        raise InvalidInput(f"{f.uri}: {e}") from e


def _inspect_avro(store: _Store, files: list[ResultFile], sample_rows: int) -> _Inspected:
    schemas = []
    counted = []
    writer = None
    for f in files:
        columns, rows, writer = _avro_file(store, f)
        schemas.append((f, columns))
        counted.append(replace(f, rows=rows))
    return counted, _one_schema(schemas), avro_reader_schema(writer)


class AvroTypeError(Exception):
    """An Avro schema that no Arrow type (and so no target column) can represent."""


_AVRO_PRIMITIVES = {
    "boolean": "bool_",
    "int": "int32",
    "long": "int64",
    "float": "float32",
    "double": "float64",
    "bytes": "binary",
    "string": "string",
    "null": "null",
}

_AVRO_TIMESTAMPS = {
    "timestamp-millis": ("ms", "UTC"),
    "timestamp-micros": ("us", "UTC"),
    "timestamp-nanos": ("ns", "UTC"),
    "local-timestamp-millis": ("ms", None),
    "local-timestamp-micros": ("us", None),
    "local-timestamp-nanos": ("ns", None),
}
"""Avro timestamps are UTC instants; local-timestamps are wall-clock times (Avro 1.10+)."""


def avro_columns(schema: Any) -> tuple[Column, ...]:
    """The columns of a top-level Avro record schema, as Arrow types."""
    import pyarrow as pa

    t, _ = _AvroConverter().convert(schema, "", "")
    if not pa.types.is_struct(t):
        raise AvroTypeError(f"the Avro schema is {t}, not a record; results must be records")
    return tuple(Column(fld.name, fld.type, fld.nullable) for fld in t)


def arrow_type_from_avro(schema: Any) -> tuple[pa.DataType, bool]:
    """The Arrow type of an Avro schema and whether it is nullable."""
    return _AvroConverter().convert(schema, "", "")


class _AvroConverter:
    """Avro schema to Arrow, resolving named types (records, enums, fixed) by full name."""

    def __init__(self) -> None:
        self.named: dict[str, Any] = {}
        self.converting: set[str] = set()

    def convert(self, schema: Any, namespace: str, path: str) -> tuple[pa.DataType, bool]:
        import pyarrow as pa

        if isinstance(schema, list):
            return self.union(schema, namespace, path)
        if isinstance(schema, str):
            if schema in _AVRO_PRIMITIVES:
                t = getattr(pa, _AVRO_PRIMITIVES[schema])()
                return t, schema == "null"
            return self.reference(schema, namespace, path)
        if not isinstance(schema, dict) or "type" not in schema:
            raise AvroTypeError(f"column {path!r} has an invalid Avro schema {schema!r}")
        logical = self.logical(schema, namespace)
        if logical is not None:
            return logical, False
        kind = schema["type"]
        if kind == "record" or kind == "error":
            return self.record(schema, namespace, path), False
        if kind == "enum":
            self.define(schema, namespace)
            return pa.string(), False
        if kind == "fixed":
            self.define(schema, namespace)
            return pa.binary(), False
        if kind == "array":
            item, nullable = self.convert(schema["items"], namespace, f"{path}.item")
            return pa.list_(pa.field("item", item, nullable)), False
        if kind == "map":
            value, nullable = self.convert(schema["values"], namespace, f"{path}.value")
            return pa.map_(pa.string(), pa.field("value", value, nullable)), False
        return self.convert(kind, namespace, path)

    def union(self, members: list[Any], namespace: str, path: str) -> tuple[pa.DataType, bool]:
        import pyarrow as pa

        others = [m for m in members if m != "null"]
        if not others:
            return pa.null(), True
        if len(others) > 1:
            kinds = ", ".join(m if isinstance(m, str) else str(m.get("type")) for m in others)
            raise AvroTypeError(
                f"column {path!r} is an Avro union of {kinds}; only a union of null and one type can be published"
            )
        t, _ = self.convert(others[0], namespace, path)
        return t, len(others) < len(members)

    def logical(self, schema: dict[str, Any], namespace: str) -> pa.DataType | None:
        """The Arrow type of a logical type; None for unknown ones (the spec says: ignore)."""
        import pyarrow as pa

        name = schema.get("logicalType")
        base = schema.get("type")
        if name == "date" and base == "int":
            return pa.date32()
        if name == "time-millis" and base == "int":
            return pa.time32("ms")
        if name == "time-micros" and base == "long":
            return pa.time64("us")
        if name in _AVRO_TIMESTAMPS and base == "long":
            unit, tz = _AVRO_TIMESTAMPS[str(name)]
            return pa.timestamp(unit, tz=tz)
        if name == "decimal" and base in ("bytes", "fixed"):
            precision = int(schema.get("precision", 0))
            scale = int(schema.get("scale", 0))
            if precision <= 0 or not 0 <= scale <= precision:
                return None
            if base == "fixed":
                self.define(schema, namespace)
            maker = pa.decimal128 if precision <= 38 else pa.decimal256
            return maker(precision, scale)
        if name == "uuid" and base == "string":
            return pa.string()
        return None

    def fullname(self, schema: dict[str, Any], namespace: str) -> tuple[str, str]:
        name = str(schema.get("name", ""))
        if "." in name:
            return name, name.rsplit(".", 1)[0]
        space = str(schema.get("namespace", namespace) or "")
        return (f"{space}.{name}" if space else name), space

    def define(self, schema: dict[str, Any], namespace: str) -> tuple[str, str]:
        full, space = self.fullname(schema, namespace)
        self.named[full] = (schema, space)
        return full, space

    def record(self, schema: dict[str, Any], namespace: str, path: str) -> pa.DataType:
        import pyarrow as pa

        full, space = self.define(schema, namespace)
        self.converting.add(full)
        fields = []
        for field in schema.get("fields", ()):
            sub = f"{path}.{field['name']}" if path else str(field["name"])
            t, nullable = self.convert(field["type"], space, sub)
            fields.append(pa.field(field["name"], t, nullable))
        self.converting.discard(full)
        return pa.struct(fields)

    def reference(self, name: str, namespace: str, path: str) -> tuple[pa.DataType, bool]:
        candidates = [f"{namespace}.{name}", name] if namespace and "." not in name else [name]
        for full in candidates:
            if full in self.converting:
                raise AvroTypeError(f"column {path!r} is the recursive Avro type {full}, which no table can hold")
            if full in self.named:
                schema, space = self.named[full]
                return self.convert(schema, space, path)
        raise AvroTypeError(f"column {path!r} has the unknown Avro type {name!r}")


# --- CSV and JSON -------------------------------------------------------------------

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


_Inspector = Callable[[_Store, list[ResultFile], int], _Inspected]

_INSPECTORS: dict[InputFormat, _Inspector] = {
    "pqt": _inspect_parquet,
    "avro": _inspect_avro,
    "csv": _inspect_csv,
    "json": _inspect_json,
}
