"""How a publication's rows go into a partitioned Hive table: which columns partition it,
which of them hold one value for all rows (static: the spec's ``partition``) and which take
each row's own value (dynamic: result columns). Checked against the table when planning."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

from publisher.dialects.base import ColumnDef
from publisher.dialects.hive import DEFAULT_PARTITION, partition_path
from publisher.inputs.spec import Spec
from publisher.model.errors import InvalidInput
from publisher.model.target import TableState
from publisher.results import Results

INTEGER = re.compile(r"^[+-]?[0-9]+$")
NUMBER = re.compile(r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$")


@dataclass(frozen=True)
class PartitionColumn:
    name: str
    type: str
    value: str | None = None  # static: the value for every row; None: each row's own (dynamic)


@dataclass(frozen=True)
class Partitioning:
    """The target table's partition columns, in the table's order; empty: not partitioned."""

    columns: tuple[PartitionColumn, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.columns)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def static(self) -> dict[str, str]:
        return {c.name: c.value for c in self.columns if c.value is not None}

    @property
    def dynamic(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.value is None)

    def shown(self) -> str:
        """``(dt='2026-12-01', origin)``: static values shown, dynamic columns named."""
        return "(" + ", ".join(c.name if c.value is None else f"{c.name}={c.value!r}" for c in self.columns) + ")"


def for_new_table(spec: Spec, results: tuple[ColumnDef, ...], old: TableState | None) -> tuple[Partitioning, str]:
    """The partitioning of a table the publication creates, and a note for the plan ("" for none).

    Static columns come first: Hive requires every static partition column before the
    dynamic ones. dropAndLoad keeps an old table's partitioning when the spec names none
    and the results have its columns: "the same table with new data"."""
    by_name = {c.name: c for c in results}
    missing = [c for c in spec.partition_by if c not in by_name]
    if missing:
        raise InvalidInput(
            f"partitionBy names {', '.join(missing)}, not among the results' columns "
            f"({', '.join(by_name)}); partition gives a static partition for a column the results lack",
            spec.location,
        )
    clash = [c for c in spec.partition if c in by_name]
    if clash:
        raise InvalidInput(
            f"partition names {', '.join(clash)}, which the results have as a column: "
            "use partitionBy to partition by the results' own values",
            spec.location,
        )
    note = ""
    dynamic = spec.partition_by
    if not dynamic and not spec.partition and old is not None and old.partition_columns:
        if all(c in by_name for c in old.partition_columns):
            dynamic = old.partition_columns
            note = f"the table is partitioned by ({', '.join(dynamic)}): so is the new one (partitionBy not given)"
        else:
            note = (
                f"the table is partitioned by ({', '.join(old.partition_columns)}), which the results lack: "
                "the new table is not partitioned"
            )
    static = []
    for name, value in spec.partition.items():
        kind = spec.column_types.get(name, "STRING")
        static.append(PartitionColumn(name, kind, checked(spec, name, kind, value)))
    partitioning = Partitioning(tuple(static) + tuple(PartitionColumn(c, by_name[c].type) for c in dynamic))
    if partitioning and len(partitioning.dynamic) == len(results):
        raise InvalidInput(
            "every result column would be a partition column: a Hive table needs at least one other column",
            spec.location,
        )
    return partitioning, note


def for_existing_table(spec: Spec, table: TableState, results: tuple[ColumnDef, ...]) -> Partitioning:
    """The partitioning of an existing table written into, checked against the spec and results."""
    relation = spec.relation
    names = table.partition_columns
    if not names:
        if spec.partition_by or spec.partition:
            key = "partitionBy" if spec.partition_by else "partition"
            raise InvalidInput(
                f"{spec.action}: table {relation} is not partitioned, but the spec gives {key}: remove it, or "
                "dropAndLoad recreates the table partitioned",
                spec.location,
            )
        return Partitioning()
    if spec.partition_by and spec.partition_by != tuple(c for c in names if c not in spec.partition):
        raise InvalidInput(
            f"{spec.action}: partitionBy ({', '.join(spec.partition_by)}) differs from table {relation}'s "
            f"partition columns ({', '.join(names)}): an existing table keeps its own (remove partitionBy, or "
            "dropAndLoad recreates the table partitioned as the spec says)",
            spec.location,
        )
    unknown = [c for c in spec.partition if c not in names]
    if unknown:
        raise InvalidInput(
            f"{spec.action}: partition names {', '.join(unknown)}, not a partition column of table {relation} "
            f"({', '.join(names)})",
            spec.location,
        )
    types = {c.name: c.type for c in table.columns}
    result_names = {c.name for c in results}
    columns = []
    for name in names:
        if name in spec.partition:
            if name in result_names:
                raise InvalidInput(
                    f"{spec.action}: partition names {name}, which the results have as a column: remove it from "
                    "partition (each row goes into the partition of its own value)",
                    spec.location,
                )
            columns.append(PartitionColumn(name, types[name], checked(spec, name, types[name], spec.partition[name])))
        elif name not in result_names:
            raise InvalidInput(
                f"{spec.action}: table {relation} is partitioned by {name}, which the results lack: give its "
                f"value in the spec (partition: {{{name}: ...}})",
                spec.location,
            )
        else:
            columns.append(PartitionColumn(name, types[name]))
    partitioning = Partitioning(tuple(columns))
    first_dynamic = next((i for i, c in enumerate(columns) if c.value is None), len(columns))
    late = [c.name for c in columns[first_dynamic:] if c.value is not None]
    if late:
        raise InvalidInput(
            f"{spec.action}: static partition {', '.join(late)} follows a column taken from the results in table "
            f"{relation}'s partitioning {partitioning.shown()}: Hive needs static partition columns first",
            spec.location,
        )
    return partitioning


def refuse_unstored(spec: Spec, partitioning: Partitioning, results: Results) -> None:
    """Refuses, at plan time, a partition column taken from the results whose Parquet
    statistics show an empty string: Hive writes the rows into __HIVE_DEFAULT_PARTITION__, and
    they read back as NULL (where statistics do not tell, apply counts them in staging first)."""
    by_name = {c.name.lower(): c for c in results.columns}
    empty = [name for name in partitioning.dynamic if name in by_name and by_name[name].empty]
    if empty:
        raise InvalidInput(
            f"{spec.action}: partition column {empty[0]} holds an empty string in the results (Parquet statistics), "
            f"which Hive stores as {DEFAULT_PARTITION} and reads back as NULL: write NULL or a value instead, or "
            "partition by another column",
            spec.location,
        )


def checked(spec: Spec, column: str, kind: str, value: str) -> str:
    """A static partition value, refused now unless it is a value of the column's type that
    Hive stores as given: '' and __HIVE_DEFAULT_PARTITION__ name the partition of NULL."""
    if value in ("", DEFAULT_PARTITION):
        raise InvalidInput(
            f"partition: {column}={value!r} is stored by Hive as {DEFAULT_PARTITION}, the partition of NULL, and "
            "reads back as NULL: give a value",
            spec.location,
        )
    base = kind.lower().split("(")[0].strip()
    ok = True
    if base in ("tinyint", "smallint", "int", "integer", "bigint"):
        ok = bool(INTEGER.match(value))
    elif base in ("decimal", "double", "float", "numeric"):
        ok = bool(NUMBER.match(value))
    elif base == "date":
        ok = _parses(date.fromisoformat, value) and len(value) == 10
    elif base == "timestamp":
        ok = _parses(datetime.fromisoformat, value)
    elif base == "boolean":
        ok = value.lower() in ("true", "false")
    elif base not in ("string", "varchar", "char"):
        raise InvalidInput(
            f"{spec.action}: partition column {column} is {kind}, a type publisher does not write static "
            "partition values of (string, integer, decimal, date, timestamp, boolean)",
            spec.location,
        )
    if not ok:
        raise InvalidInput(f"partition: {column}={value!r} is not a {kind.upper()} value", spec.location)
    return value


def _parses(parse: object, value: str) -> bool:
    try:
        parse(value)  # type: ignore[operator]
    except ValueError:
        return False
    return True


def expected_partitions(partitioning: Partitioning, results: Results) -> tuple[str, ...] | None:
    """The partitions the results' rows go into, where the plan can know them: the static
    values, and at most one column from the results whose Parquet statistics pin its values
    (several such columns pin each one's values, not which combinations occur)."""
    if len(partitioning.dynamic) > 1:
        return None
    by_name = {c.name.lower(): c for c in results.columns}
    values: frozenset[str] | None = frozenset({""})
    if partitioning.dynamic:
        values = by_name[partitioning.dynamic[0]].values
    if values is None:
        return None
    paths = (
        partition_path(tuple((c.name, v if c.value is None else c.value) for c in partitioning.columns)) for v in values
    )
    return tuple(sorted(paths))


def listing(expected: tuple[str, ...], existing: tuple[str, ...], drop_others: bool) -> str:
    """The plan's line on which partitions are replaced, added, dropped and kept."""
    new, old = set(expected), set(existing)
    others = sorted(old - new)
    groups = (
        ("replaced", sorted(new & old)),
        ("added", sorted(new - old)),
        ("dropped", others if drop_others else []),
        ("kept", [] if drop_others else others),
    )
    parts = [f"{len(paths)} {what}" + (f" ({_few(paths)})" if paths else "") for what, paths in groups]
    return "partitions, from the results' statistics and SHOW PARTITIONS: " + "; ".join(parts)


def _few(paths: list[str], shown: int = 5) -> str:
    return ", ".join(paths[:shown]) + (f", ... {len(paths) - shown} more" if len(paths) > shown else "")
