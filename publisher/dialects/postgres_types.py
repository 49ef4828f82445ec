"""Arrow types to PostgreSQL types, and PostgreSQL's spelling of the types it reports."""

from __future__ import annotations

from typing import TYPE_CHECKING

from publisher.dialects.types import (
    Parser,
    TypeMap,
    TypeNode,
    TypeTarget,
    ddl_type,
    is_list,
    length,
    refuse,
    render,
    unwrap,
    widens,
)

if TYPE_CHECKING:
    import pyarrow as pa

PRIMITIVES: dict[str, str] = {
    "bool": "BOOLEAN",
    # PostgreSQL has no 1-byte integer; unsigned integers widen to the next signed type.
    "int8": "SMALLINT",
    "int16": "SMALLINT",
    "int32": "INTEGER",
    "int64": "BIGINT",
    "uint8": "SMALLINT",
    "uint16": "INTEGER",
    "uint32": "BIGINT",
    "uint64": "DECIMAL(20,0)",
    "halffloat": "REAL",
    "float": "REAL",
    "double": "DOUBLE PRECISION",
    # TEXT has no length limit but 1 GB a value: no length to guess from a sample.
    "string": "TEXT",
    "large_string": "TEXT",
    "string_view": "TEXT",
    "binary": "BYTEA",
    "large_binary": "BYTEA",
    "binary_view": "BYTEA",
    "date32[day]": "DATE",
    "date64[ms]": "DATE",
}

MAX_NUMERIC_PRECISION = 1000
"""NUMERIC(p,s) takes a precision up to 1000 (PostgreSQL docs, "Arbitrary Precision Numbers")."""

POSTGRES = TypeTarget(
    "PostgreSQL",
    "booleans, integers, floats, decimals up to precision 1000, strings, binary, dates, timestamps "
    "and times to the microsecond, lists of those as arrays, other nested types as JSONB (see docs/types.md)",
)


def _numeric(t: pa.DataType, target: TypeTarget, column: str) -> str:
    if t.precision > MAX_NUMERIC_PRECISION or not 0 <= t.scale <= t.precision:
        raise refuse(t, target, column, "NUMERIC precision is at most 1000, scale 0 to it", "rescale it in the job")
    return f"DECIMAL({t.precision},{t.scale})"


def _nested(t: pa.DataType, column: str) -> str:
    import pyarrow as pa

    if is_list(t):
        element = unwrap(t.value_type)
        if not (is_list(element) or pa.types.is_struct(element) or pa.types.is_map(element)):
            # A one-dimensional array of a type that maps: PostgreSQL arrays keep NULL elements
            # and order; nested lists would need equal lengths (arrays are rectangular).
            return f"{postgres_type(element, column=column)}[]"
    return "JSONB"


TYPES = TypeMap(
    POSTGRES,
    PRIMITIVES,
    fixed_size_binary="BYTEA",
    decimal=_numeric,
    # An instant (a zone in the type) is TIMESTAMPTZ; a wall-clock time is TIMESTAMP.
    timestamp="TIMESTAMP",
    zoned_timestamp="TIMESTAMPTZ",
    time="TIME",
    keeps_text_as="TEXT",
    nested=_nested,
)


def postgres_type(t: pa.DataType, *, column: str = "") -> str:
    """The canonical PostgreSQL DDL type for an Arrow type; ``column`` names it in errors."""
    return ddl_type(t, TYPES, column)


ALIASES = {
    "INT2": "SMALLINT",
    "INT": "INTEGER",
    "INT4": "INTEGER",
    "INT8": "BIGINT",
    "FLOAT4": "REAL",
    "FLOAT8": "DOUBLE PRECISION",
    "FLOAT": "DOUBLE PRECISION",
    "BOOL": "BOOLEAN",
    "NUMERIC": "DECIMAL",
    "CHARACTER VARYING": "VARCHAR",
    "CHARACTER": "CHAR",
    "BPCHAR": "CHAR",
    "TIMESTAMP WITHOUT TIME ZONE": "TIMESTAMP",
    "TIMESTAMP WITH TIME ZONE": "TIMESTAMPTZ",
    "TIME WITHOUT TIME ZONE": "TIME",
    "TIME WITH TIME ZONE": "TIMETZ",
}
"""PostgreSQL's synonyms, and the names format_type() reports ("Data Types", Table 8.1)."""


def _node(node: TypeNode) -> TypeNode:
    name = ALIASES.get(node.name, node.name)
    args = node.args
    if name == "DOUBLE PRECISION" and args:
        # FLOAT(p) is REAL up to 24 bits of precision.
        name, args = ("REAL" if int(args[0]) <= 24 else "DOUBLE PRECISION"), ()
    if name == "DECIMAL" and len(args) == 1:
        args = (args[0], "0")  # NUMERIC(p) is NUMERIC(p,0)
    if name in ("TIMESTAMP", "TIMESTAMPTZ", "TIME", "TIMETZ") and args == ("6",):
        args = ()  # microseconds: the default precision
    if name == "CHAR" and not args:
        args = ("1",)
    return TypeNode(name, args, ())


def _parse(s: str) -> tuple[TypeNode, int]:
    """The element type and the array dimensions of a type string ('integer[]': INTEGER, 1)."""
    text, dims = s.strip(), 0
    while text.endswith("[]"):
        text, dims = text[:-2].rstrip(), dims + 1
    return _node(Parser(text, POSTGRES.title).parse()), dims


def normalize_postgres_type(s: str) -> str:
    """The canonical spelling of a type as PostgreSQL reports it: 'integer[]' -> 'INTEGER[]'."""
    node, dims = _parse(s)
    return render(node) + "[]" * dims


INTEGERS = {"SMALLINT": 5, "INTEGER": 10, "BIGINT": 19}
"""Integer types, narrowest first, with the decimal digits their values can need."""

_TEXT = ("TEXT", "VARCHAR")


def postgres_loads_into(result_type: str, table_type: str) -> bool:
    """Whether a result column of one PostgreSQL type loads into a table column without loss."""
    (r, r_dims), (t, t_dims) = _parse(result_type), _parse(table_type)
    if r_dims != t_dims:
        return False
    if t.name == "DECIMAL" and not t.args:
        return r.name == "DECIMAL" or r.name in INTEGERS  # unconstrained NUMERIC holds any exact number
    if r.name in _TEXT and t.name in _TEXT:
        # TEXT (and VARCHAR without a length) takes any string; VARCHAR(n) only a shorter one.
        return not t.args or (bool(r.args) and length(t, 0) >= length(r, 0))
    if (r.name, t.name) == ("JSONB", "JSON"):
        return True
    return widens(r, t, INTEGERS, ("REAL", "DOUBLE PRECISION"))
