"""Arrow types to Hive and Redshift types, engine spellings, widening, and docs/types.md."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from publisher.dialects.hive_types import hive_loads_into, hive_type, normalize_hive_type
from publisher.dialects.redshift_types import normalize_redshift_type, redshift_loads_into, redshift_type
from publisher.dialects.types import UnsupportedType
from publisher.model.errors import InvalidInput, Location
from publisher.reports.type_table import DocRow, doc_rows, type_table_markdown
from publisher.results.avro import arrow_type_from_avro
from publisher.results.schema import _relaxed

ROOT = Path(__file__).resolve().parents[1]

# (Arrow type, Hive, Redshift); None: refused with UnsupportedType.
MAPPING = [
    (pa.bool_(), "BOOLEAN", "BOOLEAN"),
    (pa.int8(), "TINYINT", "SMALLINT"),
    (pa.int16(), "SMALLINT", "SMALLINT"),
    (pa.int32(), "INT", "INTEGER"),
    (pa.int64(), "BIGINT", "BIGINT"),
    (pa.uint8(), "SMALLINT", "SMALLINT"),
    (pa.uint16(), "INT", "INTEGER"),
    (pa.uint32(), "BIGINT", "BIGINT"),
    (pa.uint64(), "DECIMAL(20,0)", "DECIMAL(20,0)"),
    (pa.float16(), "FLOAT", "REAL"),
    (pa.float32(), "FLOAT", "REAL"),
    (pa.float64(), "DOUBLE", "DOUBLE PRECISION"),
    (pa.string(), "STRING", "VARCHAR(65535)"),
    (pa.large_string(), "STRING", "VARCHAR(65535)"),
    (pa.string_view(), "STRING", "VARCHAR(65535)"),
    (pa.binary(), "BINARY", "VARBYTE"),
    (pa.large_binary(), "BINARY", "VARBYTE"),
    (pa.binary(16), "BINARY", "VARBYTE"),
    (pa.date32(), "DATE", "DATE"),
    (pa.date64(), "DATE", "DATE"),
    (pa.timestamp("s"), "TIMESTAMP", "TIMESTAMP"),
    (pa.timestamp("ms"), "TIMESTAMP", "TIMESTAMP"),
    (pa.timestamp("us"), "TIMESTAMP", "TIMESTAMP"),
    (pa.timestamp("ms", tz="UTC"), "TIMESTAMP", "TIMESTAMPTZ"),
    (pa.timestamp("us", tz="Europe/Paris"), "TIMESTAMP", "TIMESTAMPTZ"),
    (pa.timestamp("ns"), "TIMESTAMP", None),
    (pa.timestamp("ns", tz="UTC"), "TIMESTAMP", None),
    (pa.decimal128(10, 2), "DECIMAL(10,2)", "DECIMAL(10,2)"),
    (pa.decimal128(38, 0), "DECIMAL(38,0)", "DECIMAL(38,0)"),
    (pa.decimal256(38, 10), "DECIMAL(38,10)", "DECIMAL(38,10)"),
    (pa.decimal256(40, 2), None, None),
    (pa.decimal128(5, -2), None, None),
    (pa.time32("s"), None, "TIME"),
    (pa.time32("ms"), None, "TIME"),
    (pa.time64("us"), None, "TIME"),
    (pa.time64("ns"), None, None),
    (pa.list_(pa.string()), "ARRAY<STRING>", "SUPER"),
    (pa.large_list(pa.int32()), "ARRAY<INT>", "SUPER"),
    (pa.list_(pa.int16(), 3), "ARRAY<SMALLINT>", "SUPER"),
    (pa.map_(pa.string(), pa.int64()), "MAP<STRING,BIGINT>", "SUPER"),
    (pa.struct([("a", pa.int32()), ("b", pa.string())]), "STRUCT<a:INT,b:STRING>", "SUPER"),
    (
        pa.struct([("Upper", pa.list_(pa.struct([("x", pa.float64())])))]),
        "STRUCT<upper:ARRAY<STRUCT<x:DOUBLE>>>",
        "SUPER",
    ),
    (pa.map_(pa.int32(), pa.list_(pa.date32())), "MAP<INT,ARRAY<DATE>>", "SUPER"),
    (pa.dictionary(pa.int32(), pa.string()), "STRING", "VARCHAR(65535)"),
    (pa.dictionary(pa.int8(), pa.int64()), "BIGINT", "BIGINT"),
    (pa.null(), None, None),
    (pa.duration("s"), None, None),
    (pa.month_day_nano_interval(), None, None),
]


@pytest.mark.parametrize(("arrow", "hive", "redshift"), MAPPING, ids=[str(m[0]) for m in MAPPING])
def test_mapping(arrow: pa.DataType, hive: str | None, redshift: str | None) -> None:
    for convert, expected in ((hive_type, hive), (redshift_type, redshift)):
        if expected is None:
            with pytest.raises(UnsupportedType):
                convert(arrow, column="c")
        else:
            assert convert(arrow, column="c") == expected


def test_canonical_types_are_their_own_normal_form() -> None:
    for arrow, hive, redshift in MAPPING:
        if hive is not None:
            assert normalize_hive_type(hive) == hive, arrow
        if redshift is not None:
            assert normalize_redshift_type(redshift) == redshift, arrow


def test_unsupported_type_says_column_type_target_and_what_is_supported() -> None:
    with pytest.raises(UnsupportedType) as exc:
        redshift_type(pa.timestamp("ns", tz="UTC"), column="created_at")
    err = exc.value
    assert isinstance(err, InvalidInput)
    assert (err.column, err.arrow_type, err.target) == ("created_at", "timestamp[ns, tz=UTC]", "Redshift")
    assert "'created_at'" in err.message
    assert "timestamp[ns, tz=UTC]" in err.message
    assert "microsecond" in err.message
    assert "coerce_timestamps='us'" in err.message
    assert "Supported for Redshift" in err.message


@pytest.mark.parametrize(
    ("convert", "arrow", "words"),
    [
        (hive_type, pa.time64("us"), ["Hive has no TIME", "cast it to a string"]),
        (hive_type, pa.null(), ["no type", "type override"]),
        (redshift_type, pa.null(), ["no type", "type override"]),
        (hive_type, pa.decimal256(40, 2), ["at most 38"]),
        (redshift_type, pa.duration("ms"), ["no equivalent type"]),
        (hive_type, pa.struct([("a b", pa.int32())]), ["'a b'", "letters, digits and underscores"]),
        (hive_type, pa.struct([]), ["at least one field"]),
        (hive_type, pa.map_(pa.list_(pa.int8()), pa.int8()), ["map keys must be primitive"]),
    ],
)
def test_refusals_explain(convert: object, arrow: pa.DataType, words: list[str]) -> None:
    with pytest.raises(UnsupportedType) as exc:
        convert(arrow, column="col")  # type: ignore[operator]
    for word in words:
        assert word in exc.value.message


def test_nested_refusal_names_the_nested_path() -> None:
    with pytest.raises(UnsupportedType) as exc:
        hive_type(pa.struct([("inner", pa.list_(pa.time32("s")))]), column="s")
    assert exc.value.column == "s.inner.item"


def test_refusals_without_a_column_still_read_well() -> None:
    with pytest.raises(UnsupportedType) as exc:
        hive_type(pa.null())
    assert exc.value.message.startswith("a column has Arrow type null")


def test_unsupported_type_keeps_its_fields_when_placed() -> None:
    with pytest.raises(UnsupportedType) as exc:
        hive_type(pa.null(), column="x")
    placed = exc.value.at(Location("specs/a.yaml", 3, 1))
    assert isinstance(placed, UnsupportedType)
    assert placed.column == "x" and placed.target == "Hive"
    assert str(placed).startswith("specs/a.yaml:3:1: error: column 'x'")


@pytest.mark.parametrize(
    ("reported", "canonical"),
    [
        ("bigint", "BIGINT"),
        ("int", "INT"),
        ("integer", "INT"),
        ("tinyint", "TINYINT"),
        ("double precision", "DOUBLE"),
        ("string", "STRING"),
        ("varchar(20)", "VARCHAR(20)"),
        ("decimal", "DECIMAL(10,0)"),
        ("decimal(12)", "DECIMAL(12,0)"),
        ("decimal(10,2)", "DECIMAL(10,2)"),
        ("DECIMAL( 10 , 2 )", "DECIMAL(10,2)"),
        ("numeric(5,1)", "DECIMAL(5,1)"),
        ("array<string>", "ARRAY<STRING>"),
        ("map<string,bigint>", "MAP<STRING,BIGINT>"),
        ("map<string, array<int>>", "MAP<STRING,ARRAY<INT>>"),
        ("struct<a:int>", "STRUCT<a:INT>"),
        ("struct<A:int,b : string>", "STRUCT<a:INT,b:STRING>"),
        ("struct<`my field`:int>", "STRUCT<`my field`:INT>"),
        ("array<struct<x:decimal(5,2),y:map<string,double>>>", "ARRAY<STRUCT<x:DECIMAL(5,2),y:MAP<STRING,DOUBLE>>>"),
        ("timestamp", "TIMESTAMP"),
        ("timestamp with local time zone", "TIMESTAMP WITH LOCAL TIME ZONE"),
        ("uniontype<int,string>", "UNIONTYPE<INT,STRING>"),
    ],
)
def test_normalize_hive_type(reported: str, canonical: str) -> None:
    assert normalize_hive_type(reported) == canonical


@pytest.mark.parametrize(
    ("reported", "canonical"),
    [
        ("character varying(256)", "VARCHAR(256)"),
        ("varchar(max)", "VARCHAR(65535)"),
        ("character varying", "VARCHAR(256)"),
        ("text", "VARCHAR(256)"),
        ("nvarchar(10)", "VARCHAR(10)"),
        ("character(3)", "CHAR(3)"),
        ("bpchar", "CHAR(1)"),
        ("integer", "INTEGER"),
        ("int4", "INTEGER"),
        ("int2", "SMALLINT"),
        ("int8", "BIGINT"),
        ("smallint", "SMALLINT"),
        ("bigint", "BIGINT"),
        ("real", "REAL"),
        ("float4", "REAL"),
        ("float8", "DOUBLE PRECISION"),
        ("float", "DOUBLE PRECISION"),
        ("double precision", "DOUBLE PRECISION"),
        ("boolean", "BOOLEAN"),
        ("bool", "BOOLEAN"),
        ("numeric(10,2)", "DECIMAL(10,2)"),
        ("numeric", "DECIMAL(18,0)"),
        ("decimal(12)", "DECIMAL(12,0)"),
        ("date", "DATE"),
        ("timestamp without time zone", "TIMESTAMP"),
        ("timestamp with time zone", "TIMESTAMPTZ"),
        ("timestamptz", "TIMESTAMPTZ"),
        ("time without time zone", "TIME"),
        ("timetz", "TIMETZ"),
        ("super", "SUPER"),
        ("varbyte", "VARBYTE"),
        ("varbyte(64000)", "VARBYTE"),
        ("binary varying(1024)", "VARBYTE(1024)"),
        ("varbinary(10)", "VARBYTE(10)"),
    ],
)
def test_normalize_redshift_type(reported: str, canonical: str) -> None:
    assert normalize_redshift_type(reported) == canonical


@pytest.mark.parametrize("bad", ["", "array<", "decimal(10,", "struct<a int>", "int;drop", "map<string,int>>"])
def test_unreadable_type_strings_are_invalid_input(bad: str) -> None:
    with pytest.raises(InvalidInput, match="cannot read the Hive type"):
        normalize_hive_type(bad)


@pytest.mark.parametrize(
    ("result", "table", "ok"),
    [
        ("BIGINT", "BIGINT", True),
        ("TINYINT", "SMALLINT", True),
        ("SMALLINT", "INT", True),
        ("INT", "BIGINT", True),
        ("TINYINT", "BIGINT", True),
        ("BIGINT", "INT", False),
        ("INT", "SMALLINT", False),
        ("FLOAT", "DOUBLE", True),
        ("DOUBLE", "FLOAT", False),
        ("INT", "DOUBLE", False),
        ("BIGINT", "DECIMAL(19,0)", True),
        ("BIGINT", "DECIMAL(20,2)", False),
        ("BIGINT", "DECIMAL(21,2)", True),
        ("INT", "DECIMAL(10,0)", True),
        ("INT", "DECIMAL(9,0)", False),
        ("TINYINT", "DECIMAL(3,0)", True),
        ("DECIMAL(10,2)", "DECIMAL(12,2)", True),
        ("DECIMAL(10,2)", "DECIMAL(11,3)", True),
        ("DECIMAL(10,2)", "DECIMAL(10,3)", False),
        ("DECIMAL(10,2)", "DECIMAL(12,1)", False),
        ("DECIMAL(10,2)", "BIGINT", False),
        ("DECIMAL(10,2)", "DOUBLE", False),
        ("DATE", "TIMESTAMP", False),
        ("TIMESTAMP", "DATE", False),
        ("STRING", "VARCHAR(100)", False),
        ("VARCHAR(10)", "STRING", True),
        ("ARRAY<INT>", "ARRAY<INT>", True),
        ("ARRAY<INT>", "ARRAY<BIGINT>", False),
        ("STRUCT<a:INT>", "struct<a:int>", True),
        ("STRUCT<a:INT>", "STRUCT<b:INT>", False),
        ("bigint", "decimal(20,0)", True),
        ("STRING", "BINARY", False),
    ],
)
def test_hive_loads_into(result: str, table: str, ok: bool) -> None:
    assert hive_loads_into(result, table) is ok


@pytest.mark.parametrize(
    ("result", "table", "ok"),
    [
        ("INTEGER", "INTEGER", True),
        ("SMALLINT", "INTEGER", True),
        ("SMALLINT", "BIGINT", True),
        ("INTEGER", "BIGINT", True),
        ("BIGINT", "INTEGER", False),
        ("REAL", "DOUBLE PRECISION", True),
        ("DOUBLE PRECISION", "REAL", False),
        ("INTEGER", "numeric(12,2)", True),
        ("BIGINT", "DECIMAL(18,0)", False),
        ("DECIMAL(20,0)", "DECIMAL(38,0)", True),
        ("DECIMAL(20,0)", "BIGINT", False),
        ("DECIMAL(10,2)", "numeric(11,3)", True),
        ("DECIMAL(10,2)", "numeric(10,3)", False),
        ("VARCHAR(65535)", "character varying(65535)", True),
        ("VARCHAR(65535)", "character varying(256)", False),
        ("VARCHAR(10)", "text", True),
        ("VARCHAR(10)", "CHAR(10)", False),
        ("VARBYTE", "varbyte(64000)", True),
        ("VARBYTE", "varbyte(1024000)", True),
        ("VARBYTE", "varbyte(100)", False),
        ("TIMESTAMP", "timestamp without time zone", True),
        ("TIMESTAMP", "timestamp with time zone", False),
        ("TIMESTAMPTZ", "timestamp without time zone", False),
        ("DATE", "TIMESTAMP", False),
        ("SUPER", "super", True),
        ("BOOLEAN", "SMALLINT", False),
    ],
)
def test_redshift_loads_into(result: str, table: str, ok: bool) -> None:
    assert redshift_loads_into(result, table) is ok


def test_every_mapped_type_loads_into_itself_as_the_engine_reports_it() -> None:
    for _, hive, redshift in MAPPING:
        if hive is not None:
            assert hive_loads_into(hive, hive.lower())
        if redshift is not None:
            assert redshift_loads_into(redshift, redshift.lower())


def test_docs_types_md_is_generated_from_the_mapping() -> None:
    assert (ROOT / "docs" / "types.md").read_text(encoding="utf-8") == type_table_markdown()


def test_doc_table_cells_come_from_the_functions() -> None:
    lines = type_table_markdown().splitlines()
    assert "| `decimal128(12, 2)` | `bytes (decimal(12,2))` | `DECIMAL(12,2)` | `DECIMAL(12,2)` |" in "\n".join(lines)
    assert any(line.startswith("| `timestamp[ns]` |") and "| `TIMESTAMP` | refused |" in line for line in lines)
    assert any(line.startswith("| `time32[ms]` |") and "| refused | `TIME` |" in line for line in lines)


@pytest.mark.parametrize("row", [r for r in doc_rows() if r.avro is not None], ids=lambda r: str(r.arrow()))
def test_doc_avro_column_converts_to_the_arrow_column(row: DocRow) -> None:
    # Avro items and fields without a null union are NOT NULL; the table ignores nested nullability.
    converted, _ = arrow_type_from_avro(row.avro)
    assert _relaxed(converted) == _relaxed(row.arrow())


def test_the_readme_links_to_the_type_table_and_keeps_no_copy_of_it() -> None:
    # docs/types.md is the one copy (checked equal to the code above); a copy in the README would drift.
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    assert "(docs/types.md)" in readme
    assert "| `decimal128(12, 2)` |" not in readme


@pytest.mark.parametrize(
    ("storage", "arrow_type", "lost"),
    [
        ("avro", pa.timestamp("us", tz="UTC"), "microseconds"),
        ("avro", pa.timestamp("ns"), "nanoseconds"),
        ("avro", pa.timestamp("ms", tz="UTC"), None),
        ("avro", pa.date32(), None),
        ("parquet", pa.timestamp("us", tz="UTC"), None),
        ("textfile", pa.timestamp("ns"), None),
    ],
)
def test_a_hive_avro_table_cannot_hold_timestamps_finer_than_milliseconds(
    storage: str, arrow_type: pa.DataType, lost: str | None
) -> None:
    """Hive 2.3's AvroSerDe writes timestamp-millis: the planner refuses what it would cut off."""
    from publisher.dialects.hive import Hive

    found = Hive().storage_loses(storage, "at", arrow_type)
    if lost is None:
        assert found is None
    else:
        assert found == (
            f"column at: results TIMESTAMP in {lost}, which an Avro table keeps only to the millisecond "
            "(results written in milliseconds load)"
        )
