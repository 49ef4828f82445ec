"""docs/types.md: how each Arrow/Avro type is published to each target, generated from the
type maps themselves (each dialect's column_type), so the two cannot drift."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from publisher.dialects import dialect_for
from publisher.dialects.types import UnsupportedType
from publisher.targets import TARGETS

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


def _cell(convert: Callable[[pa.DataType, str], str], t: pa.DataType) -> str:
    try:
        return f"`{convert(t, '')}`"
    except UnsupportedType:
        return "refused"


def _table_lines() -> Iterator[str]:
    dialects = [dialect_for(name) for name in TARGETS]
    yield "| Arrow type | Avro type | " + " | ".join(d.title for d in dialects) + " | note |"
    yield "|---|---|" + "---|" * len(dialects) + "---|"
    for row in doc_rows():
        t = row.arrow()
        avro = f"`{avro_label(row.avro)}`" if row.avro is not None else ""
        cells = " | ".join(_cell(d.column_type, t) for d in dialects)
        yield f"| `{t}` | {avro} | {cells} | {row.note} |"


def type_table_markdown() -> str:
    """docs/types.md: how each Arrow/Avro type is published to Hive and Redshift."""
    intro = (
        "# Types\n\n"
        "Generated by `python -m publisher.reports.type_table > docs/types.md` from the type maps"
        " (`publisher/dialects/*_types.py`); a test keeps them equal.\n\n"
        "Result schemas are read as Arrow types (Avro schemas are converted first).\n"
        'Avro `["null", T]` unions are nullable `T`; a column is NOT NULL only where the\n'
        "metadata says so. A type is refused, with the column named, where the target\n"
        "would lose data: nothing is truncated silently.\n\n"
        "Loading into an existing table accepts the same type or a lossless widening:\n"
        "a wider integer, FLOAT into DOUBLE, an integer into a DECIMAL with enough integer\n"
        "digits, DECIMAL(p,s) into DECIMAL(p2,s2) with s2 >= s and p2 - s2 >= p - s,\n"
        "a longer VARCHAR (or VARBYTE on Redshift). Nested types must match exactly.\n\n"
    )
    return intro + "\n".join(_table_lines()) + "\n" + TEXT_RULES


TEXT_RULES = """
## NULL, empty strings and values an engine would change

Every value arrives as sent, or the publication is refused before any change:

- **NULL in CSV** is an empty, unquoted field (Spark's convention); an empty string is a quoted
  `""`. Redshift's COPY is told `NULL AS ''`, so the text `\\N` loads as the text `\\N` (without
  it, `\\N` is COPY's default NULL). COPY reads an empty field as NULL whether quoted or not,
  so an empty string cannot travel in CSV: a quoted `""` in the sampled rows is refused at plan
  time (have the job write Parquet, JSON or Avro); one beyond the sample would load as NULL, as
  the plan's note says. JSON `null` and `""`, and Parquet and Avro NULLs, stay apart.
- **Hive partitions**: Hive and Spark store a partition value `''` as `__HIVE_DEFAULT_PARTITION__`,
  the partition of NULL, which reads back as NULL. A static `partition:` value `''` or
  `__HIVE_DEFAULT_PARTITION__` is refused at plan time, and so is a partition column whose
  Parquet statistics show an empty string; otherwise apply counts those values in the staging
  table first and stops, naming the column, the count and an example. NULL stays NULL.
- **Hive text tables** without `ESCAPED BY` (read from `DESCRIBE FORMATTED`) split a value at
  the field delimiter, and a row at a line break (unless `serialization.escape.crlf`): apply
  counts string values holding them in the staging table first and stops likewise.
- After the insert, non-NULL counts are checked again in the table wherever it holds only the
  new rows (createAndLoad, dropAndLoad's new table, truncateAndLoad's twin or transaction);
  load and merge count them in the staged results only, and the plan says so.

## CSV and JSON: types from a sample, as written

CSV and newline-delimited JSON carry no schema: it is inferred from the first 1,000
rows of the first file (at most 64 MB), then each column's type is checked against the
sampled values' text (`publisher/results/text.py`), so that every value reaches the table
as written:

- **Leading zeros stay text.** A column where any sampled value has a leading zero
  (`01234`, `-01`, `007.5`) is a string: the zero is part of the value (codes, zip codes,
  account numbers). `0` itself and decimals such as `0.5` are no leading zeros.
- **Integers** that fit BIGINT are `BIGINT`. Wider ones (a 23-digit JSON integer) are
  `DECIMAL(38,0)`, which holds up to 38 digits exactly; longer ones stay text.
- **Decimals are exact.** Numbers with a decimal point are `DECIMAL(p,s)`: `s` the widest
  scale seen (`1.10` counts 2), `p - s` the widest integer part seen, while `p <= 38`.
  Only exponent notation (`1e-3`), infinities and numbers of more than 38 digits are
  doubles, and then the plan carries a warning naming the column: a double keeps 15 to 17
  significant digits. A later row with more digits than the sample's fails the load
  (integer part) or is rounded by COPY (scale): give the column its type in `columnTypes`
  when the sample may not show the widest values.
- **Timestamps** keep microseconds. A sampled value with 7 to 9 fractional digits makes
  the column nanoseconds, which Redshift refuses as it refuses Parquet nanoseconds
  ("Redshift keeps microseconds and would truncate the nanoseconds") instead of rounding
  them; `columnTypes: {col: VARCHAR(64)}` keeps the text, `TIMESTAMP` accepts the loss.
  JSON timestamps with fractional seconds are strings already (pyarrow reads only whole
  seconds as timestamps), and stay so.
- **Every JSON field is known.** After the sample, every line of every file is read
  (pyarrow's streaming reader, one block in memory; line by line in Python where a value
  has another type than the sample's) and its fields, nested ones too, are checked against
  the inferred schema: COPY would drop a field the schema lacks. An unknown field is an
  error naming the file and line, `part-00001.json:1001: field 'late' is not in the schema
  inferred from ...`; write every field on every line, null where it has no value (Spark:
  `ignoreNullFields=false`). Inspecting a 100 MB file of 565,000 lines took 0.7 to 1.1 s,
  and 3.1 to 3.5 s where the line-by-line path runs (2 busy cores).
- **Subfolders are named.** Only the files directly in the results folder or prefix are
  published. Subfolders (a partitioned `dt=.../` output, a nested result) are listed in
  the plan's warnings, and a result of subfolders only is an error that names them;
  names starting with `_` or `.` (`_temporary/`, `.spark-staging/`) are ignored.

## columnTypes that narrow

A `columnTypes` DECIMAL or integer type with fewer decimal places or fewer integer digits
than the results' `DECIMAL(p,s)` (Parquet, Avro, or inferred from CSV/JSON) is refused when
planning: `{amount: DECIMAL(10,0)}` over a `decimal(10,2)` would round 4.75 to 5. The spec
accepts the loss explicitly by listing the column in `allowNarrowing: [amount]`, which may
name only columns of `columnTypes`. A narrower VARCHAR is not refused: Redshift's INSERT
refuses a value too long for it at apply (publisher never CASTs strings into a shorter
column), rather than cut it.
"""


if __name__ == "__main__":
    print(type_table_markdown(), end="")
