"""Arrow types (Avro schemas arrive converted to Arrow) to Hive and to Redshift types.

The mapping is lossless wherever the target has the type; where it would lose data
(nanoseconds on Redshift, decimals wider than 38 digits, Hive TIME) it refuses with
UnsupportedType instead of truncating silently. docs/types.md is generated from this
module by type_table_markdown() and a test keeps the two equal.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from publisher.model.errors import InvalidInput, Location, PublisherError

if TYPE_CHECKING:
    import pyarrow as pa

SUPPORTED: dict[str, str] = {
    "Hive": "booleans, integers, floats, decimals up to precision 38, strings, binary, "
    "dates, timestamps, lists, structs and maps (see docs/types.md)",
    "Redshift": "booleans, integers, floats, decimals up to precision 38, strings, binary, "
    "dates, timestamps and times to the microsecond, nested types as SUPER (see docs/types.md)",
}

# Parameterless Arrow types, keyed by str(arrow_type): Arrow's own spelling.
HIVE_PRIMITIVES: dict[str, str] = {
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

REDSHIFT_PRIMITIVES: dict[str, str] = {
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

MAX_DECIMAL_PRECISION = 38
"""Both Hive and Redshift cap DECIMAL precision at 38 digits."""

REDSHIFT_VARBYTE_DEFAULT = 64000
"""VARBYTE without a length is VARBYTE(64000) (Redshift VARBYTE docs)."""

_SIMPLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


class UnsupportedType(InvalidInput):
    """A column whose type the target cannot hold without loss."""

    def __init__(
        self,
        message: str,
        location: Location | None = None,
        *,
        column: str = "",
        arrow_type: str = "",
        target: str = "",
    ) -> None:
        super().__init__(message, location)
        self.column = column
        self.arrow_type = arrow_type
        self.target = target

    def at(self, location: Location | None) -> PublisherError:
        """This error, placed at ``location``, keeping its fields."""
        if self.location is not None or location is None:
            return self
        return UnsupportedType(
            self.message,
            location,
            column=self.column,
            arrow_type=self.arrow_type,
            target=self.target,
        )


def _refuse(t: pa.DataType, target: str, column: str, reason: str, hint: str) -> UnsupportedType:
    who = f"column {column!r}" if column else "a column"
    message = (
        f"{who} has Arrow type {t}, which {target} cannot hold: {reason}; {hint}. "
        f"Supported for {target}: {SUPPORTED[target]}"
    )
    return UnsupportedType(message, column=column, arrow_type=str(t), target=target)


def _unwrap(t: pa.DataType) -> pa.DataType:
    """The type whose values are stored: dictionary, extension and run-end encodings removed."""
    import pyarrow as pa

    while True:
        if pa.types.is_dictionary(t):
            t = t.value_type
        elif isinstance(t, pa.ExtensionType):
            t = t.storage_type
        elif pa.types.is_run_end_encoded(t):
            t = t.value_type
        else:
            return t


def _is_list(t: pa.DataType) -> bool:
    import pyarrow as pa

    return bool(
        pa.types.is_list(t)
        or pa.types.is_large_list(t)
        or pa.types.is_fixed_size_list(t)
        or pa.types.is_list_view(t)
        or pa.types.is_large_list_view(t)
    )


def _decimal(t: pa.DataType, target: str, column: str) -> str:
    if t.precision > MAX_DECIMAL_PRECISION:
        raise _refuse(
            t,
            target,
            column,
            f"its DECIMAL precision is at most {MAX_DECIMAL_PRECISION}",
            "round the column to 38 digits in the job, or publish it as a string",
        )
    if not 0 <= t.scale <= t.precision:
        raise _refuse(
            t,
            target,
            column,
            "DECIMAL scale must be between 0 and the precision",
            "rescale the column in the job",
        )
    return f"DECIMAL({t.precision},{t.scale})"


def _refuse_null(t: pa.DataType, target: str, column: str) -> UnsupportedType:
    return _refuse(
        t,
        target,
        column,
        "the column has no type (every value seen is null)",
        "cast it to a real type in the job, or give the column a type override",
    )


def _refuse_other(t: pa.DataType, target: str, column: str) -> UnsupportedType:
    return _refuse(
        t,
        target,
        column,
        "there is no equivalent type",
        "cast the column to a supported type in the job",
    )


def hive_type(t: pa.DataType, *, column: str = "") -> str:
    """The canonical Hive DDL type for an Arrow type; ``column`` names it in errors."""
    import pyarrow as pa

    t = _unwrap(t)
    simple = HIVE_PRIMITIVES.get(str(t))
    if simple is not None:
        return simple
    if pa.types.is_fixed_size_binary(t):
        return "BINARY"
    if pa.types.is_decimal(t):
        return _decimal(t, "Hive", column)
    if pa.types.is_timestamp(t):
        # Hive TIMESTAMP keeps nanoseconds; a zoned instant is stored as its UTC time.
        return "TIMESTAMP"
    if _is_list(t):
        return f"ARRAY<{hive_type(t.value_type, column=f'{column}.item')}>"
    if pa.types.is_map(t):
        return _hive_map(t, column)
    if pa.types.is_struct(t):
        return _hive_struct(t, column)
    if pa.types.is_time(t):
        raise _refuse(
            t,
            "Hive",
            column,
            "Hive has no TIME type",
            "cast it to a string or to a duration in seconds in the job, or publish to Redshift",
        )
    if pa.types.is_null(t):
        raise _refuse_null(t, "Hive", column)
    raise _refuse_other(t, "Hive", column)


def _hive_map(t: pa.DataType, column: str) -> str:
    key = hive_type(t.key_type, column=f"{column}.key")
    if "<" in key:
        raise _refuse(
            t,
            "Hive",
            column,
            "Hive map keys must be primitive types",
            "use a string or integer key in the job",
        )
    value = hive_type(t.item_type, column=f"{column}.value")
    return f"MAP<{key},{value}>"


def _hive_struct(t: pa.DataType, column: str) -> str:
    if t.num_fields == 0:
        raise _refuse(t, "Hive", column, "a Hive STRUCT needs at least one field", "drop the column")
    parts = []
    for field in (t.field(i) for i in range(t.num_fields)):
        # Field names go into DDL unquoted: only identifier characters are safe there.
        if not _SIMPLE_NAME.match(field.name):
            raise _refuse(
                t,
                "Hive",
                column,
                f"struct field name {field.name!r} is not letters, digits and underscores",
                "rename the field in the job",
            )
        parts.append(f"{field.name.lower()}:{hive_type(field.type, column=f'{column}.{field.name}')}")
    return f"STRUCT<{','.join(parts)}>"


def redshift_type(t: pa.DataType, *, column: str = "") -> str:
    """The canonical Redshift DDL type for an Arrow type; ``column`` names it in errors."""
    import pyarrow as pa

    t = _unwrap(t)
    simple = REDSHIFT_PRIMITIVES.get(str(t))
    if simple is not None:
        return simple
    if pa.types.is_fixed_size_binary(t):
        return "VARBYTE"
    if pa.types.is_decimal(t):
        return _decimal(t, "Redshift", column)
    if pa.types.is_timestamp(t):
        _refuse_nanoseconds(t, column)
        return "TIMESTAMPTZ" if t.tz is not None else "TIMESTAMP"
    if pa.types.is_time(t):
        _refuse_nanoseconds(t, column)
        return "TIME"
    if _is_list(t) or pa.types.is_map(t) or pa.types.is_struct(t):
        # SUPER holds any nested value; COPY needs SERIALIZETOJSON for Parquet/ORC.
        return "SUPER"
    if pa.types.is_null(t):
        raise _refuse_null(t, "Redshift", column)
    raise _refuse_other(t, "Redshift", column)


def _refuse_nanoseconds(t: pa.DataType, column: str) -> None:
    if t.unit == "ns":
        raise _refuse(
            t,
            "Redshift",
            column,
            "Redshift keeps microseconds and would truncate the nanoseconds",
            "write the column with microsecond precision (pyarrow coerce_timestamps='us', "
            "Spark spark.sql.parquet.outputTimestampType=TIMESTAMP_MICROS; CSV and JSON: at most 6 "
            "fractional digits), or, for CSV and JSON, name its type in columnTypes: VARCHAR keeps the text, "
            "TIMESTAMP accepts losing the finer digits",
        )


# --- Engine-reported type strings -------------------------------------------------


@dataclass(frozen=True)
class _Type:
    """A parsed type: a (possibly multi-word) name, (args) and <children>."""

    name: str
    args: tuple[str, ...] = ()
    children: tuple[tuple[str | None, _Type], ...] = ()


_TOKEN = re.compile(
    r"\s*(?:(?P<word>[A-Za-z_][A-Za-z0-9_$]*)|(?P<num>\d+)|`(?P<quoted>(?:[^`]|``)*)`"
    r"|(?P<punct>[<>(),:]))"
)


def _tokens(s: str, dialect: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    while pos < len(s.rstrip()):
        m = _TOKEN.match(s, pos)
        if m is None or m.end() == pos:
            raise InvalidInput(f"cannot read the {dialect} type {s!r} at character {pos + 1}")
        kind = m.lastgroup or ""
        text = m.group(kind)
        out.append((kind, text.replace("``", "`") if kind == "quoted" else text))
        pos = m.end()
    return out


class _Parser:
    """Recursive descent over one type string."""

    def __init__(self, s: str, dialect: str) -> None:
        self.s = s
        self.dialect = dialect
        self.toks = _tokens(s, dialect)
        self.i = 0

    def fail(self) -> InvalidInput:
        return InvalidInput(f"cannot read the {self.dialect} type {self.s!r}")

    def peek(self) -> tuple[str, str]:
        return self.toks[self.i] if self.i < len(self.toks) else ("end", "")

    def take(self, text: str | None = None) -> str:
        kind, value = self.peek()
        if kind == "end" or (text is not None and value != text):
            raise self.fail()
        self.i += 1
        return value

    def parse(self) -> _Type:
        node = self.type()
        if self.peek()[0] != "end":
            raise self.fail()
        return node

    def type(self) -> _Type:
        words: list[str] = []
        args: tuple[str, ...] = ()
        # Multi-word names ('character varying', 'timestamp with time zone') may carry
        # arguments between their words: 'timestamp(3) with time zone'.
        while self.peek()[0] == "word":
            words.append(self.take().upper())
            if self.peek()[1] == "(":
                args = self.args()
        if not words:
            raise self.fail()
        name = " ".join(words)
        children: tuple[tuple[str | None, _Type], ...] = ()
        if self.peek()[1] == "<":
            self.take("<")
            children = self.children(struct=name == "STRUCT")
            self.take(">")
        return _Type(name, args, children)

    def args(self) -> tuple[str, ...]:
        self.take("(")
        out = [self.take().upper()]
        while self.peek()[1] == ",":
            self.take(",")
            out.append(self.take().upper())
        self.take(")")
        return tuple(out)

    def children(self, *, struct: bool) -> tuple[tuple[str | None, _Type], ...]:
        out: list[tuple[str | None, _Type]] = []
        while True:
            name: str | None = None
            if struct:
                name = self.take()
                self.take(":")
            out.append((name, self.type()))
            if self.peek()[1] != ",":
                return tuple(out)
            self.take(",")


def _render(node: _Type) -> str:
    text = node.name
    if node.args:
        text += f"({','.join(node.args)})"
    if node.children:
        parts = [
            f"{_render_name(name)}:{_render(child)}" if name is not None else _render(child)
            for name, child in node.children
        ]
        text += f"<{','.join(parts)}>"
    return text


def _render_name(name: str) -> str:
    return name if _SIMPLE_NAME.match(name) else "`" + name.replace("`", "``") + "`"


_HIVE_ALIASES = {"INTEGER": "INT", "DOUBLE PRECISION": "DOUBLE", "DEC": "DECIMAL", "NUMERIC": "DECIMAL"}
"""Hive 2.2+ accepts these spellings for its types."""


def _hive_node(node: _Type) -> _Type:
    name = _HIVE_ALIASES.get(node.name, node.name)
    args = node.args
    if name == "DECIMAL":
        # Hive's DECIMAL without arguments is DECIMAL(10,0).
        args = (args + ("10", "0")[len(args) :])[:2]
    children = tuple(
        (name_.lower() if name_ is not None else None, _hive_node(child)) for name_, child in node.children
    )
    return _Type(name, args, children)


def normalize_hive_type(s: str) -> str:
    """The canonical spelling of a type as Hive reports it: 'decimal(10,2)' -> 'DECIMAL(10,2)'."""
    return _render(_hive_node(_Parser(s, "Hive").parse()))


_REDSHIFT_ALIASES = {
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
    "NVARCHAR": "VARCHAR",
    "TEXT": "VARCHAR",
    "CHARACTER": "CHAR",
    "NCHAR": "CHAR",
    "BPCHAR": "CHAR",
    "TIMESTAMP WITHOUT TIME ZONE": "TIMESTAMP",
    "TIMESTAMP WITH TIME ZONE": "TIMESTAMPTZ",
    "TIME WITHOUT TIME ZONE": "TIME",
    "TIME WITH TIME ZONE": "TIMETZ",
    "VARBINARY": "VARBYTE",
    "BINARY VARYING": "VARBYTE",
}
"""Redshift's synonyms (Redshift data types page) and the names its catalog reports."""

_REDSHIFT_DEFAULT_ARGS = {"VARCHAR": ("256",), "CHAR": ("1",), "DECIMAL": ("18", "0")}
"""Lengths Redshift assumes when DDL gives none (TEXT is VARCHAR(256))."""


def _redshift_node(node: _Type) -> _Type:
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
    if name == "VARBYTE" and args == (str(REDSHIFT_VARBYTE_DEFAULT),):
        args = ()
    return _Type(name, args, tuple((n, _redshift_node(c)) for n, c in node.children))


def normalize_redshift_type(s: str) -> str:
    """The canonical spelling of a type as Redshift reports it: 'integer' -> 'INTEGER'."""
    return _render(_redshift_node(_Parser(s, "Redshift").parse()))


# --- Widening ----------------------------------------------------------------------

_HIVE_INTEGERS = {"TINYINT": 3, "SMALLINT": 5, "INT": 10, "BIGINT": 19}
_REDSHIFT_INTEGERS = {"SMALLINT": 5, "INTEGER": 10, "BIGINT": 19}
"""Integer types, narrowest first, with the decimal digits their values can need."""


def _length(node: _Type, default: int) -> int:
    return int(node.args[0]) if node.args else default


def _widens(r: _Type, t: _Type, integers: dict[str, int], floats: tuple[str, str]) -> bool:
    if r == t:
        return True
    if r.name in integers and t.name in integers:
        return integers[r.name] <= integers[t.name]
    if (r.name, t.name) == floats:
        return True
    if r.name in integers and t.name == "DECIMAL":
        return int(t.args[0]) - int(t.args[1]) >= integers[r.name]
    if r.name == "DECIMAL" and t.name == "DECIMAL":
        p, s = int(r.args[0]), int(r.args[1])
        p2, s2 = int(t.args[0]), int(t.args[1])
        return s2 >= s and p2 - s2 >= p - s
    return False


def exact_digits(canonical: str) -> tuple[int, int] | None:
    """(integer digits, decimal places) of an exact numeric type in a dialect's canonical
    spelling (DECIMAL(p,s), an integer type); None for any other type."""
    m = re.fullmatch(r"DECIMAL\((\d+),(\d+)\)", canonical)
    if m:
        return int(m.group(1)) - int(m.group(2)), int(m.group(2))
    digits = _HIVE_INTEGERS.get(canonical) or _REDSHIFT_INTEGERS.get(canonical)
    return (digits, 0) if digits else None


def hive_loads_into(result_type: str, table_type: str) -> bool:
    """Whether a result column of one Hive type loads into a table column without loss."""
    r = _hive_node(_Parser(result_type, "Hive").parse())
    t = _hive_node(_Parser(table_type, "Hive").parse())
    if r.name == "VARCHAR" and t.name in ("VARCHAR", "STRING"):
        return t.name == "STRING" or _length(t, 0) >= _length(r, 0)
    # Nested types must match exactly: Hive does not convert inside ARRAY/MAP/STRUCT.
    return _widens(r, t, _HIVE_INTEGERS, ("FLOAT", "DOUBLE"))


def redshift_loads_into(result_type: str, table_type: str) -> bool:
    """Whether a result column of one Redshift type loads into a table column without loss."""
    r = _redshift_node(_Parser(result_type, "Redshift").parse())
    t = _redshift_node(_Parser(table_type, "Redshift").parse())
    for sized, default in (("VARCHAR", 256), ("VARBYTE", REDSHIFT_VARBYTE_DEFAULT)):
        if r.name == sized and t.name == sized:
            return _length(t, default) >= _length(r, default)
    return _widens(r, t, _REDSHIFT_INTEGERS, ("REAL", "DOUBLE PRECISION"))
