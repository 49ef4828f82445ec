"""Avro: the header schema and block row counts without decoding, Arrow types, the reader schema."""

from __future__ import annotations

import json
from contextlib import closing
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from publisher.model.errors import InvalidInput
from publisher.results.formats import _AVRO_MAGIC, _Corrupt, _wrong_format
from publisher.results.reads import read_each
from publisher.results.schema import _one_schema
from publisher.results.stores import _Store, _Stream
from publisher.results.values import Column, ResultFile, _Inspected

if TYPE_CHECKING:
    import pyarrow as pa

S3_CHUNK = 8 * 1024 * 1024
"""Range fetched when scanning an Avro file on S3: many blocks per request."""


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
    with closing(read_each(store, files, lambda f: _avro_file(store, f))) as headers:
        for f, (columns, rows, schema) in zip(files, headers, strict=True):
            schemas.append((f, columns))
            counted.append(replace(f, rows=rows))
            writer = schema  # the last file's, as before
    return counted, _one_schema(schemas), avro_reader_schema(writer), ()


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
