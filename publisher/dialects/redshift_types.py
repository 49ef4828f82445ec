"""Arrow types to Redshift types, and Redshift's spelling of the types it reports."""

from __future__ import annotations

from typing import TYPE_CHECKING

from publisher.dialects.hive_types import PRIMITIVES as HIVE_PRIMITIVES
from publisher.dialects.postgres_types import ALIASES as POSTGRES_ALIASES
from publisher.dialects.types import (
    Parser,
    TypeMap,
    TypeNode,
    TypeTarget,
    ddl_type,
    decimal,
    length,
    render,
    widens,
)

if TYPE_CHECKING:
    import pyarrow as pa

# Hive's map, where Redshift names a type otherwise.
PRIMITIVES: dict[str, str] = {
    **HIVE_PRIMITIVES,
    # Redshift has no TINYINT and calls INT "INTEGER".
    "int8": "SMALLINT",
    "int32": "INTEGER",
    "uint16": "INTEGER",
    "halffloat": "REAL",
    "float": "REAL",
    "double": "DOUBLE PRECISION",
    # VARCHAR length counts bytes; 65535 is Redshift's maximum.
    "string": "VARCHAR(65535)",
    "large_string": "VARCHAR(65535)",
    "string_view": "VARCHAR(65535)",
    # Plain VARBYTE is VARBYTE(64000), accepted by every Redshift release.
    "binary": "VARBYTE",
    "large_binary": "VARBYTE",
    "binary_view": "VARBYTE",
}

VARBYTE_DEFAULT = 64000
"""VARBYTE without a length is VARBYTE(64000) (Redshift VARBYTE docs)."""

REDSHIFT = TypeTarget(
    "Redshift",
    "booleans, integers, floats, decimals up to precision 38, strings, binary, "
    "dates, timestamps and times to the microsecond, nested types as SUPER (see docs/types.md)",
)


TYPES = TypeMap(
    REDSHIFT,
    PRIMITIVES,
    fixed_size_binary="VARBYTE",
    decimal=decimal,
    timestamp="TIMESTAMP",
    zoned_timestamp="TIMESTAMPTZ",
    time="TIME",
    keeps_text_as="VARCHAR",
    # SUPER holds any nested value; COPY needs SERIALIZETOJSON for Parquet/ORC.
    nested=lambda t, column: "SUPER",
)


def redshift_type(t: pa.DataType, *, column: str = "") -> str:
    """The canonical Redshift DDL type for an Arrow type; ``column`` names it in errors."""
    return ddl_type(t, TYPES, column)


_REDSHIFT_ALIASES = {
    **POSTGRES_ALIASES,  # PostgreSQL's, which Redshift (a PostgreSQL 8.0 descendant) kept
    "NVARCHAR": "VARCHAR",
    "TEXT": "VARCHAR",
    "NCHAR": "CHAR",
    "VARBINARY": "VARBYTE",
    "BINARY VARYING": "VARBYTE",
}
"""Redshift's synonyms (Redshift data types page) and the names its catalog reports."""

_REDSHIFT_DEFAULT_ARGS = {"VARCHAR": ("256",), "CHAR": ("1",), "DECIMAL": ("18", "0")}
"""Lengths Redshift assumes when DDL gives none (TEXT is VARCHAR(256))."""


def _redshift_node(node: TypeNode) -> TypeNode:
    name = _REDSHIFT_ALIASES.get(node.name, node.name)
    args = tuple("65535" if a == "MAX" else a for a in node.args)
    if name == "DOUBLE PRECISION" and args:
        # FLOAT(p) is REAL up to 24 bits of precision (PostgreSQL rule Redshift keeps).
        name, args = ("REAL" if int(args[0]) <= 24 else "DOUBLE PRECISION"), ()
    if name in ("TIMESTAMP", "TIMESTAMPTZ", "TIME", "TIMETZ"):
        args = ()
    default = _REDSHIFT_DEFAULT_ARGS.get(name)
    if default is not None:
        args = (args + default[len(args) :])[: len(default)]
    if name == "VARBYTE" and args == (str(VARBYTE_DEFAULT),):
        args = ()
    return TypeNode(name, args, tuple((n, _redshift_node(c)) for n, c in node.children))


def normalize_redshift_type(s: str) -> str:
    """The canonical spelling of a type as Redshift reports it: 'integer' -> 'INTEGER'."""
    return render(_redshift_node(Parser(s, REDSHIFT.title).parse()))


INTEGERS = {"SMALLINT": 5, "INTEGER": 10, "BIGINT": 19}
"""Integer types, narrowest first, with the decimal digits their values can need."""


def redshift_loads_into(result_type: str, table_type: str) -> bool:
    """Whether a result column of one Redshift type loads into a table column without loss."""
    r = _redshift_node(Parser(result_type, REDSHIFT.title).parse())
    t = _redshift_node(Parser(table_type, REDSHIFT.title).parse())
    for sized, default in (("VARCHAR", 256), ("VARBYTE", VARBYTE_DEFAULT)):
        if r.name == sized and t.name == sized:
            return length(t, default) >= length(r, default)
    return widens(r, t, INTEGERS, ("REAL", "DOUBLE PRECISION"))
