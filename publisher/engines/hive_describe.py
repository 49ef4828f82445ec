"""What both Hive targets read of a table: ``DESCRIBE FORMATTED``, ``DESCRIBE DATABASE``
and ``SHOW TABLES`` output parsed, and the inspection built on it.

Apache Hive and Spark shape this output closely enough for one parser
(docs/hive-research.md). Pure: no driver is imported here, so tests read it cheaply.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from publisher.dialects.hive import MADE_BY_PUBLISHER
from publisher.model.location import Location
from publisher.model.relation import Relation
from publisher.model.target import ColumnState, HiveTable, HiveTableKind, TableState


def quote(name: str) -> str:
    """A backtick-quoted identifier; names are validated before they get here."""
    return f"`{name}`"


def qualified(relation: Relation) -> str:
    """`db`.`table` (Hive has no schema level)."""
    return f"{quote(relation.database)}.{quote(relation.name)}"


# (substring of the InputFormat or SerDe class, storage name). InputFormat is checked
# first: SEQUENCEFILE tables use the text SerDe (LazySimpleSerDe).
_STORAGE_BY_CLASS = (
    ("parquet", "parquet"),
    ("avro", "avro"),
    ("orc", "orc"),
    ("rcfile", "rcfile"),
    ("sequencefile", "sequencefile"),
    ("textinputformat", "textfile"),
    ("lazysimpleserde", "textfile"),
    ("jsonserde", "json"),
    ("opencsvserde", "csv"),
)


def _cell(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _split_describe(
    rows: Sequence[Sequence[Any]],
) -> tuple[list[ColumnState], dict[str, str], list[str]]:
    """Columns and the key/value details of ``DESCRIBE FORMATTED`` (Hive or Spark).

    Both print the columns first (Hive after a ``# col_name`` header and a blank row),
    a blank row, then ``# ...`` sections of key/value rows. Hive lists partition columns
    only under ``# Partition Information``, Spark in both places; Hive pads keys with
    spaces and ends them with ':' ("SerDe Library:"), Spark does not ("Serde Library").
    """
    columns: list[ColumnState] = []
    details: dict[str, str] = {}
    partitions: list[str] = []
    section = "columns"
    for row in rows:
        name, value = _cell(row[0]), _cell(row[1] if len(row) > 1 else None)
        if not name and value and len(row) > 2:
            # Apache Hive lists table parameters as ('', key, value) rows.
            details.setdefault(f"param {value.lower()}", _cell(row[2]).lower())
        if name.startswith("#"):
            if name.lower() != "# col_name":
                section = "partition" if name.lower() == "# partition information" else "details"
            continue
        if not name:
            if section == "columns" and columns:
                section = "details"
            continue
        if section == "details":
            details.setdefault(name.rstrip(":").strip().lower(), value)
            continue
        if section == "partition":
            partitions.append(name.lower())
        if all(c.name != name.lower() for c in columns):
            columns.append(ColumnState(name.lower(), value.lower()))
    return columns, details, partitions


def _storage(details: Mapping[str, str]) -> str | None:
    provider = details.get("provider", "").lower()
    if provider and provider != "hive":
        return provider  # a Spark data source table: USING parquet / avro / ...
    for key in ("inputformat", "serde library"):
        cls = details.get(key, "").lower()
        for needle, storage in _STORAGE_BY_CLASS:
            if needle in cls:
                return storage
    return None


def table_properties(details: Mapping[str, str]) -> dict[str, str]:
    """The table's parameters, lower-cased: Spark lists them in one "Table Properties" cell
    ("[k=v, k2=v2]"), Apache Hive as ('', key, value) rows."""
    found = {k.removeprefix("param "): v for k, v in details.items() if k.startswith("param ")}
    text = details.get("table properties", "").strip().removeprefix("[").removesuffix("]")
    for item in re.split(r",\s*(?=[\w.]+=)", text) if text else ():
        key, _, value = item.partition("=")
        found.setdefault(key.strip().lower(), value.strip().lower())
    return found


def table_kind(table_type: str, properties: Mapping[str, str]) -> HiveTableKind | None:
    """Who owns the table's files (model.target.HiveTableKind), from its type and parameters."""
    if "VIEW" in table_type:
        return "view"
    if properties.get("transactional") == "true":
        return "acid-insert-only" if properties.get("transactional_properties") == "insert_only" else "acid"
    if table_type.startswith("MANAGED"):
        return "managed"
    if table_type.startswith("EXTERNAL"):
        return "external-owned" if properties.get("external.table.purge") == "true" else "external-foreign"
    return None


_SPARK_PROPERTY = re.compile(r"([\w.]+)=(.*?)(?=, [\w.]+=|$)", re.DOTALL)


def _serde_properties(rows: Sequence[Sequence[Any]]) -> dict[str, str]:
    """The table's SerDe (storage) properties, values as written (a delimiter may be a space or
    a tab): Spark prints one row, Storage Properties '[field.delim=|, serialization.format=|]';
    Apache Hive ('', key, value) rows after 'Storage Desc Params:', Java-escaped ('\\t', '\\u0001')."""
    props: dict[str, str] = {}
    section = ""
    for row in rows:
        name = _cell(row[0])
        if name:
            section = name.rstrip(":").strip().lower()
            text = "" if len(row) < 2 or row[1] is None else str(row[1]).strip()
            if section == "storage properties" and text.startswith("[") and text.endswith("]"):
                props.update((m.group(1).lower(), m.group(2)) for m in _SPARK_PROPERTY.finditer(text[1:-1]))
            continue
        if section == "storage desc params" and len(row) > 2 and row[1] is not None:
            raw = str(row[2] or "")
            value = raw.rstrip(" ") or raw[:1]
            if "\\" in value:
                value = value.encode("latin-1", "backslashreplace").decode("unicode_escape")
            props[_cell(row[1]).lower()] = value
    return props


def field_delimiter(props: Mapping[str, str]) -> str:
    """The field delimiter of a LazySimpleSerDe table, as Hive reads its properties
    (LazySerDeParameters.getByte): field.delim, else serialization.format, a number meaning the
    byte of that value ('1': \\x01), else its first character; by default \\x01 (Ctrl-A)."""
    raw = props.get("field.delim") or props.get("serialization.format") or ""
    if not raw:
        return "\x01"
    if raw.isdigit() and int(raw) < 128:
        return chr(int(raw))
    return raw[0]


def unescaped(details: Mapping[str, str], props: Mapping[str, str]) -> tuple[str, ...]:
    """What a text table's rows cannot hold in a string value as written: without ESCAPED BY
    (escape.delim), its field delimiter splits the value into two columns; and a line break
    ends the row, unless escaped with serialization.escape.crlf (HIVE-11785). Other SerDes: ()."""
    if "lazysimpleserde" not in details.get("serde library", "").lower():
        return ()
    escaped = bool(props.get("escape.delim"))
    crlf = escaped and props.get("serialization.escape.crlf", "").lower() == "true"
    return (() if escaped else (field_delimiter(props),)) + (() if crlf else ("\n", "\r"))


def parse_describe_formatted(rows: Sequence[Sequence[Any]]) -> TableState:
    """TableState from ``DESCRIBE FORMATTED`` rows of Apache Hive or Spark."""
    columns, details, partitions = _split_describe(rows)
    kind = (details.get("type") or details.get("table type") or "").upper()
    managed = None if not kind else kind.startswith("MANAGED")
    buckets = details.get("num buckets", "-1").strip()
    properties = details.get("table properties", "").lower()
    parameters = table_properties(details)
    return TableState(
        tuple(columns),
        _storage(details),
        _location(details),
        partition_columns=tuple(partitions),
        view="VIEW" in kind,
        own=HiveTable(
            managed=managed,
            bucketed=buckets.lstrip("-").isdigit() and int(buckets) > 0,
            transactional="transactional=true" in properties or details.get("param transactional") == "true",
            kind=table_kind(kind, parameters),
            translated=parameters.get("translated_to_external", "").lower() == "true",
            made_by_publisher=parameters.get(MADE_BY_PUBLISHER, "").lower() == "true",
            unescaped=unescaped(details, _serde_properties(rows)),
        ),
    )


def parse_database_location(rows: Sequence[Sequence[Any]]) -> Location | None:
    """The Location of ``DESCRIBE DATABASE`` rows: Spark gives (info_name, info_value)
    rows, Hive one row (db_name, comment, location, owner_name, ...)."""
    for row in rows:
        cells = [_cell(c) for c in row]
        if len(cells) >= 2 and cells[0].lower() == "location":
            # Spark prints the database's location as a URI, percent-encoded (java.net.URI's
            # toString: 'a%20b', a folder named '100%41' as '100%2541'), where it prints a table's
            # as a path (measured, Spark 4.3).
            return Location.from_uri(cells[1]) if cells[1] else None
    if rows and len(rows[0]) >= 3:
        # Apache Hive prints the metastore's text, a Hadoop Path as written.
        text = _cell(rows[0][2])
        return Location.parse(text) if text else None
    return None


def _location(details: Mapping[str, str]) -> Location | None:
    # Spark and Apache Hive print a table's or partition's Location as a path, not encoded
    # (Hadoop's Path.toString; measured: 'a b', '100%41', '{}' as written).
    text = details.get("location")
    return Location.parse(text) if text else None


def parse_location(rows: Sequence[Sequence[Any]]) -> Location | None:
    """The table's (or a partition's) Location from ``DESCRIBE FORMATTED`` rows of Apache Hive or Spark."""
    return _location(_split_describe(rows)[1])


def table_names_from_show_tables(rows: Sequence[Sequence[Any]], columns: Sequence[str]) -> set[str]:
    """Table names from SHOW TABLES: Hive has one column (tab_name); Spark has
    (namespace, tableName, isTemporary) and lists the session's temporary views too."""
    lowered = [c.lower() for c in columns]
    if "tablename" not in lowered:
        return {str(row[0]).lower() for row in rows}
    name_at = lowered.index("tablename")
    temp_at = lowered.index("istemporary") if "istemporary" in lowered else None
    return {str(row[name_at]).lower() for row in rows if temp_at is None or str(row[temp_at]).lower() != "true"}


class DescribedTables:
    """Inspection both Hive targets share: DESCRIBE FORMATTED / DESCRIBE DATABASE output
    is alike on Apache Hive and Spark. Subclasses say how to run and find a table."""

    def fetch(self, sql: str) -> list[tuple[Any, ...]]:
        raise NotImplementedError

    def namespace_exists(self, relation: Relation) -> bool:
        raise NotImplementedError

    def _describe(self, relation: Relation) -> list[tuple[Any, ...]] | None:
        raise NotImplementedError

    def table_state(self, relation: Relation, *, exists: bool = False) -> TableState | None:
        # A table the caller saw listed needs only its DESCRIBE: one round trip, not three.
        rows = self.fetch(f"DESCRIBE FORMATTED {qualified(relation)}") if exists else self._describe(relation)
        return None if rows is None else parse_describe_formatted(rows)

    def table_states(self, relation: Relation) -> dict[str, TableState] | None:
        return None  # each table is described on its own (DESCRIBE FORMATTED)

    def slice_count(self) -> int | None:
        return None  # Hive has no slices

    def keeps_quoted_case(self) -> bool | None:
        return None  # Hive lower-cases every name; no setting changes it

    def table_location(self, relation: Relation) -> Location | None:
        """The table's storage location, or None when it does not exist."""
        rows = self._describe(relation)
        return None if rows is None else parse_location(rows)

    def namespace_location(self, relation: Relation) -> Location | None:
        if not self.namespace_exists(relation):
            return None
        return parse_database_location(self.fetch(f"DESCRIBE DATABASE {quote(relation.database)}"))
