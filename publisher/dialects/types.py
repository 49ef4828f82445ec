"""What every target's type map shares: the one mapping of an Arrow type (``ddl_type``, driven
by a target's ``TypeMap``), refusing a type with UnsupportedType, the parser of engine-reported
type strings, and the widening rules. Each target's table is its own module (hive_types.py,
redshift_types.py, postgres_types.py).

A map is lossless wherever the target has the type; where it would lose data (nanoseconds
on Redshift, decimals wider than 38 digits, Hive TIME) it refuses with UnsupportedType
instead of truncating silently. docs/types.md is generated from the maps by
type_table_markdown() and a test keeps the two equal.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from publisher.model.errors import InvalidInput, Location, PublisherError

if TYPE_CHECKING:
    import pyarrow as pa


@dataclass(frozen=True)
class TypeTarget:
    """Whose types a map writes, as messages name them: the target's title and what it holds."""

    title: str
    supported: str


MAX_DECIMAL_PRECISION = 38
"""Both Hive and Redshift cap DECIMAL precision at 38 digits."""

SIMPLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


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


def refuse(t: pa.DataType, target: TypeTarget, column: str, reason: str, hint: str) -> UnsupportedType:
    """The error for a type ``target`` cannot hold, with the reason, a hint and what it holds."""
    who = f"column {column!r}" if column else "a column"
    message = (
        f"{who} has Arrow type {t}, which {target.title} cannot hold: {reason}; {hint}. "
        f"Supported for {target.title}: {target.supported}"
    )
    return UnsupportedType(message, column=column, arrow_type=str(t), target=target.title)


def unwrap(t: pa.DataType) -> pa.DataType:
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


def is_list(t: pa.DataType) -> bool:
    import pyarrow as pa

    return bool(
        pa.types.is_list(t)
        or pa.types.is_large_list(t)
        or pa.types.is_fixed_size_list(t)
        or pa.types.is_list_view(t)
        or pa.types.is_large_list_view(t)
    )


def decimal(t: pa.DataType, target: TypeTarget, column: str) -> str:
    if t.precision > MAX_DECIMAL_PRECISION:
        raise refuse(
            t,
            target,
            column,
            f"its DECIMAL precision is at most {MAX_DECIMAL_PRECISION}",
            "round the column to 38 digits in the job, or publish it as a string",
        )
    if not 0 <= t.scale <= t.precision:
        raise refuse(
            t,
            target,
            column,
            "DECIMAL scale must be between 0 and the precision",
            "rescale the column in the job",
        )
    return f"DECIMAL({t.precision},{t.scale})"


def refuse_nanoseconds(t: pa.DataType, target: TypeTarget, column: str, text_type: str) -> None:
    """Stop at a nanosecond timestamp or time where the target keeps microseconds (Redshift,
    PostgreSQL); ``text_type``: the target's type that keeps CSV and JSON text as written."""
    if t.unit == "ns":
        raise refuse(
            t,
            target,
            column,
            f"{target.title} keeps microseconds and would truncate the nanoseconds",
            "write the column with microsecond precision (pyarrow coerce_timestamps='us', "
            "Spark spark.sql.parquet.outputTimestampType=TIMESTAMP_MICROS; CSV and JSON: at most 6 "
            f"fractional digits), or, for CSV and JSON, name its type in columnTypes: {text_type} keeps the text, "
            "TIMESTAMP accepts losing the finer digits",
        )


def refuse_null(t: pa.DataType, target: TypeTarget, column: str) -> UnsupportedType:
    return refuse(
        t,
        target,
        column,
        "the column has no type (every value seen is null)",
        "cast it to a real type in the job, or give the column a type override",
    )


def refuse_other(t: pa.DataType, target: TypeTarget, column: str) -> UnsupportedType:
    return refuse(
        t,
        target,
        column,
        "there is no equivalent type",
        "cast the column to a supported type in the job",
    )


# --- Arrow types to DDL types ---------------------------------------------------------


@dataclass(frozen=True)
class TypeMap:
    """A target's mapping of Arrow types, as data: what ``ddl_type`` looks up, kind by kind.
    Each field is one kind of Arrow type; the callables are the targets' real special cases."""

    target: TypeTarget
    primitives: Mapping[str, str]
    """Parameterless Arrow types, keyed by str(arrow_type): Arrow's own spelling."""
    fixed_size_binary: str
    decimal: Callable[[pa.DataType, TypeTarget, str], str]
    """DECIMAL(p,s), or the refusal of a precision or scale the target cannot hold."""
    timestamp: str
    """A wall-clock timestamp (no zone in the Arrow type)."""
    zoned_timestamp: str
    """An instant (a zone in the Arrow type)."""
    time: str | None
    """A time of day; None: the target has none (refused, ``no_time_hint`` says what to do)."""
    nested: Callable[[pa.DataType, str], str]
    """Lists, maps and structs."""
    keeps_text_as: str | None = None
    """Where the target keeps microseconds: its type that keeps CSV and JSON text as written,
    named when a nanosecond timestamp or time is refused. None: it keeps nanoseconds."""
    no_time_hint: str = ""


def ddl_type(t: pa.DataType, types: TypeMap, column: str) -> str:
    """The canonical DDL type ``types`` gives an Arrow type; ``column`` names it in errors."""
    import pyarrow as pa

    t = unwrap(t)
    simple = types.primitives.get(str(t))
    if simple is not None:
        return simple
    if pa.types.is_fixed_size_binary(t):
        return types.fixed_size_binary
    if pa.types.is_decimal(t):
        return types.decimal(t, types.target, column)
    if pa.types.is_timestamp(t):
        if types.keeps_text_as is not None:
            refuse_nanoseconds(t, types.target, column, types.keeps_text_as)
        return types.zoned_timestamp if t.tz is not None else types.timestamp
    if pa.types.is_time(t):
        if types.time is None:
            raise refuse(t, types.target, column, f"{types.target.title} has no TIME type", types.no_time_hint)
        if types.keeps_text_as is not None:
            refuse_nanoseconds(t, types.target, column, types.keeps_text_as)
        return types.time
    if is_list(t) or pa.types.is_map(t) or pa.types.is_struct(t):
        return types.nested(t, column)
    if pa.types.is_null(t):
        raise refuse_null(t, types.target, column)
    raise refuse_other(t, types.target, column)


# --- Engine-reported type strings -------------------------------------------------


@dataclass(frozen=True)
class TypeNode:
    """A parsed type: a (possibly multi-word) name, (args) and <children>."""

    name: str
    args: tuple[str, ...] = ()
    children: tuple[tuple[str | None, TypeNode], ...] = ()


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


class Parser:
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

    def parse(self) -> TypeNode:
        node = self.type()
        if self.peek()[0] != "end":
            raise self.fail()
        return node

    def type(self) -> TypeNode:
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
        children: tuple[tuple[str | None, TypeNode], ...] = ()
        if self.peek()[1] == "<":
            self.take("<")
            children = self.children(struct=name == "STRUCT")
            self.take(">")
        return TypeNode(name, args, children)

    def args(self) -> tuple[str, ...]:
        self.take("(")
        out = [self.take().upper()]
        while self.peek()[1] == ",":
            self.take(",")
            out.append(self.take().upper())
        self.take(")")
        return tuple(out)

    def children(self, *, struct: bool) -> tuple[tuple[str | None, TypeNode], ...]:
        out: list[tuple[str | None, TypeNode]] = []
        while True:
            name: str | None = None
            if struct:
                name = self.take()
                self.take(":")
            out.append((name, self.type()))
            if self.peek()[1] != ",":
                return tuple(out)
            self.take(",")


def render(node: TypeNode) -> str:
    text = node.name
    if node.args:
        text += f"({','.join(node.args)})"
    if node.children:
        parts = [
            f"{_render_name(name)}:{render(child)}" if name is not None else render(child)
            for name, child in node.children
        ]
        text += f"<{','.join(parts)}>"
    return text


def _render_name(name: str) -> str:
    return name if SIMPLE_NAME.match(name) else "`" + name.replace("`", "``") + "`"


# --- Widening ----------------------------------------------------------------------


def length(node: TypeNode, default: int) -> int:
    return int(node.args[0]) if node.args else default


def widens(r: TypeNode, t: TypeNode, integers: dict[str, int], floats: tuple[str, str]) -> bool:
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


def exact_digits(canonical: str, integers: dict[str, int]) -> tuple[int, int] | None:
    """(integer digits, decimal places) of an exact numeric type in a dialect's canonical
    spelling (DECIMAL(p,s), one of its ``integers``); None for any other type."""
    m = re.fullmatch(r"DECIMAL\((\d+),(\d+)\)", canonical)
    if m:
        return int(m.group(1)) - int(m.group(2)), int(m.group(2))
    digits = integers.get(canonical)
    return (digits, 0) if digits else None
