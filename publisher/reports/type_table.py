"""docs/types.md: how each Arrow/Avro type is published to Hive and Redshift, generated
from the type maps themselves (publisher/dialects/types.py), so the two cannot drift."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from publisher.dialects.types import UnsupportedType, hive_type, redshift_type

if TYPE_CHECKING:
    import pyarrow as pa


@dataclass(frozen=True)
class DocRow:
    """One row of docs/types.md: an example Arrow type and the Avro schema that yields it."""

    arrow: Callable[[], pa.DataType]
    avro: Any
    note: str


def doc_rows() -> tuple[DocRow, ...]:
    """The examples docs/types.md shows, one per kind of type."""
    import pyarrow as pa

    def row(arrow: Callable[[], pa.DataType], avro: Any = None, note: str = "") -> DocRow:
        return DocRow(arrow, avro, note)

    def logical(base: str, name: str, **params: int) -> dict[str, Any]:
        return {"type": base, "logicalType": name, **params}

    return (
        row(pa.bool_, "boolean"),
        row(pa.int8, note="Redshift has no TINYINT"),
        row(pa.int16),
        row(pa.int32, "int"),
        row(pa.int64, "long"),
        row(pa.uint8, note="unsigned integers widen to the next signed type"),
        row(pa.uint16),
        row(pa.uint32),
        row(pa.uint64, note="no unsigned 64-bit type: DECIMAL(20,0) holds every value"),
        row(pa.float16, note="widened to a 32-bit float"),
        row(pa.float32, "float"),
        row(pa.float64, "double"),
        row(
            lambda: pa.decimal128(12, 2),
            logical("bytes", "decimal", precision=12, scale=2),
            "any precision up to 38 keeps its precision and scale (Avro fixed too)",
        ),
        row(
            lambda: pa.decimal256(40, 2),
            logical("bytes", "decimal", precision=40, scale=2),
            "refused: both targets stop at 38 digits",
        ),
        row(pa.string, "string", "Avro enum and uuid become strings; Redshift VARCHAR holds up to 65535 bytes"),
        row(pa.large_string),
        row(
            pa.binary, "bytes", "Avro fixed too; Redshift VARBYTE holds up to 64000 bytes (longer values fail the load)"
        ),
        row(pa.date32, logical("int", "date")),
        row(pa.date64),
        row(
            lambda: pa.timestamp("ms", tz="UTC"),
            logical("long", "timestamp-millis"),
            "Avro timestamps are UTC instants; Hive TIMESTAMP has no zone and stores the UTC time",
        ),
        row(lambda: pa.timestamp("us", tz="UTC"), logical("long", "timestamp-micros")),
        row(lambda: pa.timestamp("ms"), logical("long", "local-timestamp-millis")),
        row(lambda: pa.timestamp("us"), logical("long", "local-timestamp-micros")),
        row(
            lambda: pa.timestamp("ns"),
            logical("long", "local-timestamp-nanos"),
            "refused for Redshift, which keeps microseconds: write microseconds in the job",
        ),
        row(lambda: pa.timestamp("ns", tz="UTC"), logical("long", "timestamp-nanos")),
        row(
            lambda: pa.time32("ms"),
            logical("int", "time-millis"),
            "refused for Hive, which has no TIME: cast to a string in the job",
        ),
        row(lambda: pa.time64("us"), logical("long", "time-micros")),
        row(lambda: pa.time64("ns"), None, "refused: Hive has no TIME, Redshift keeps microseconds"),
        row(
            lambda: pa.list_(pa.int64()),
            {"type": "array", "items": "long"},
            "Redshift SUPER holds any nested value (COPY with SERIALIZETOJSON)",
        ),
        row(
            lambda: pa.struct([("a", pa.int32()), ("b", pa.string())]),
            {"type": "record", "name": "r", "fields": [{"name": "a", "type": "int"}, {"name": "b", "type": "string"}]},
            "Hive struct field names must be letters, digits and underscores",
        ),
        row(
            lambda: pa.map_(pa.string(), pa.int64()),
            {"type": "map", "values": "long"},
            "Hive map keys must be primitive",
        ),
        row(lambda: pa.dictionary(pa.int32(), pa.string()), None, "published as its value type"),
        row(pa.null, "null", "refused: a column with no type; cast it in the job"),
        row(lambda: pa.duration("s"), None, "refused: no equivalent type"),
    )


def avro_label(schema: Any) -> str:
    """A short spelling of an Avro schema for the table: 'long (timestamp-millis)'."""
    if isinstance(schema, str):
        return schema
    if isinstance(schema, list):
        return "[" + ", ".join(avro_label(s) for s in schema) + "]"
    kind = schema["type"]
    if "logicalType" in schema:
        name = schema["logicalType"]
        if name == "decimal":
            name += f"({schema['precision']},{schema['scale']})"
        return f"{kind} ({name})"
    if kind == "array":
        return f"array<{avro_label(schema['items'])}>"
    if kind == "map":
        return f"map<{avro_label(schema['values'])}>"
    if kind == "record":
        return "record {" + ", ".join(f"{f['name']}: {avro_label(f['type'])}" for f in schema["fields"]) + "}"
    return str(kind)


def _cell(convert: Callable[..., str], t: pa.DataType) -> str:
    try:
        return f"`{convert(t)}`"
    except UnsupportedType:
        return "refused"


def _table_lines() -> Iterator[str]:
    yield "| Arrow type | Avro type | Hive | Redshift | note |"
    yield "|---|---|---|---|---|"
    for row in doc_rows():
        t = row.arrow()
        avro = f"`{avro_label(row.avro)}`" if row.avro is not None else ""
        yield (f"| `{t}` | {avro} | {_cell(hive_type, t)} | {_cell(redshift_type, t)} | {row.note} |")


def type_table_markdown() -> str:
    """docs/types.md: how each Arrow/Avro type is published to Hive and Redshift."""
    intro = (
        "# Types\n\n"
        "Generated by `python -m publisher.reports.type_table > docs/types.md` from `publisher/dialects/types.py`;"
        " a test keeps them equal.\n\n"
        "Result schemas are read as Arrow types (Avro schemas are converted first).\n"
        'Avro `["null", T]` unions are nullable `T`; a column is NOT NULL only where the\n'
        "metadata says so. A type is refused, with the column named, where the target\n"
        "would lose data: nothing is truncated silently.\n\n"
        "Loading into an existing table accepts the same type or a lossless widening:\n"
        "a wider integer, FLOAT into DOUBLE, an integer into a DECIMAL with enough integer\n"
        "digits, DECIMAL(p,s) into DECIMAL(p2,s2) with s2 >= s and p2 - s2 >= p - s,\n"
        "a longer VARCHAR (or VARBYTE on Redshift). Nested types must match exactly.\n\n"
    )
    return intro + "\n".join(_table_lines()) + "\n"


if __name__ == "__main__":
    print(type_table_markdown(), end="")
