"""The one schema every file of a result must share, and how a file differs from it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from publisher.model.errors import InvalidInput
from publisher.results.values import Column, ResultFile

if TYPE_CHECKING:
    import pyarrow as pa


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
        values = None if c.values is None or o.values is None else c.values | o.values
        out.append(Column(c.name, t, c.nullable or o.nullable, nulls, values, c.empty or o.empty))
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
