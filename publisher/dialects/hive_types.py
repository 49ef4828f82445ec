"""Arrow types to Hive types, and Hive's spelling of the types it reports."""

from __future__ import annotations

from typing import TYPE_CHECKING

from publisher.dialects.types import (
    SIMPLE_NAME,
    Parser,
    TypeMap,
    TypeNode,
    TypeTarget,
    ddl_type,
    decimal,
    length,
    refuse,
    render,
    widens,
)

if TYPE_CHECKING:
    import pyarrow as pa

# Parameterless Arrow types, keyed by str(arrow_type): Arrow's own spelling.
PRIMITIVES: dict[str, str] = {
    "bool": "BOOLEAN",
    "int8": "TINYINT",
    "int16": "SMALLINT",
    "int32": "INT",
    "int64": "BIGINT",
    # Unsigned integers widen to the next signed type so every value fits.
    "uint8": "SMALLINT",
    "uint16": "INT",
    "uint32": "BIGINT",
    "uint64": "DECIMAL(20,0)",
    "halffloat": "FLOAT",
    "float": "FLOAT",
    "double": "DOUBLE",
    "string": "STRING",
    "large_string": "STRING",
    "string_view": "STRING",
    "binary": "BINARY",
    "large_binary": "BINARY",
    "binary_view": "BINARY",
    "date32[day]": "DATE",
    "date64[ms]": "DATE",
}

HIVE = TypeTarget(
    "Hive",
    "booleans, integers, floats, decimals up to precision 38, strings, binary, "
    "dates, timestamps, lists, structs and maps (see docs/types.md)",
)


def hive_type(t: pa.DataType, *, column: str = "") -> str:
    """The canonical Hive DDL type for an Arrow type; ``column`` names it in errors."""
    return ddl_type(t, TYPES, column)


def _hive_nested(t: pa.DataType, column: str) -> str:
    import pyarrow as pa

    if pa.types.is_map(t):
        return _hive_map(t, column)
    if pa.types.is_struct(t):
        return _hive_struct(t, column)
    return f"ARRAY<{hive_type(t.value_type, column=f'{column}.item')}>"


def _hive_map(t: pa.DataType, column: str) -> str:
    key = hive_type(t.key_type, column=f"{column}.key")
    if "<" in key:
        raise refuse(
            t,
            HIVE,
            column,
            "Hive map keys must be primitive types",
            "use a string or integer key in the job",
        )
    value = hive_type(t.item_type, column=f"{column}.value")
    return f"MAP<{key},{value}>"


def _hive_struct(t: pa.DataType, column: str) -> str:
    if t.num_fields == 0:
        raise refuse(t, HIVE, column, "a Hive STRUCT needs at least one field", "drop the column")
    parts = []
    for field in (t.field(i) for i in range(t.num_fields)):
        # Field names go into DDL unquoted: only identifier characters are safe there.
        if not SIMPLE_NAME.match(field.name):
            raise refuse(
                t,
                HIVE,
                column,
                f"struct field name {field.name!r} is not letters, digits and underscores",
                "rename the field in the job",
            )
        parts.append(f"{field.name.lower()}:{hive_type(field.type, column=f'{column}.{field.name}')}")
    return f"STRUCT<{','.join(parts)}>"


TYPES = TypeMap(
    HIVE,
    PRIMITIVES,
    fixed_size_binary="BINARY",
    decimal=decimal,
    # Hive TIMESTAMP keeps nanoseconds; a zoned instant is stored as its UTC time.
    timestamp="TIMESTAMP",
    zoned_timestamp="TIMESTAMP",
    time=None,
    no_time_hint="cast it to a string or to a duration in seconds in the job, or publish to Redshift",
    nested=_hive_nested,
)


_HIVE_ALIASES = {"INTEGER": "INT", "DOUBLE PRECISION": "DOUBLE", "DEC": "DECIMAL", "NUMERIC": "DECIMAL"}
"""Hive 2.2+ accepts these spellings for its types."""


def _hive_node(node: TypeNode) -> TypeNode:
    name = _HIVE_ALIASES.get(node.name, node.name)
    args = node.args
    if name == "DECIMAL":
        # Hive's DECIMAL without arguments is DECIMAL(10,0).
        args = (args + ("10", "0")[len(args) :])[:2]
    children = tuple(
        (name_.lower() if name_ is not None else None, _hive_node(child)) for name_, child in node.children
    )
    return TypeNode(name, args, children)


def normalize_hive_type(s: str) -> str:
    """The canonical spelling of a type as Hive reports it: 'decimal(10,2)' -> 'DECIMAL(10,2)'."""
    return render(_hive_node(Parser(s, HIVE.title).parse()))


INTEGERS = {"TINYINT": 3, "SMALLINT": 5, "INT": 10, "BIGINT": 19}
"""Integer types, narrowest first, with the decimal digits their values can need."""


def hive_loads_into(result_type: str, table_type: str) -> bool:
    """Whether a result column of one Hive type loads into a table column without loss."""
    r = _hive_node(Parser(result_type, HIVE.title).parse())
    t = _hive_node(Parser(table_type, HIVE.title).parse())
    if r.name == "VARCHAR" and t.name in ("VARCHAR", "STRING"):
        return t.name == "STRING" or length(t, 0) >= length(r, 0)
    # Nested types must match exactly: Hive does not convert inside ARRAY/MAP/STRUCT.
    return widens(r, t, INTEGERS, ("FLOAT", "DOUBLE"))
