"""Safe YAML loading that keeps every key's and value's line and column."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import SafeConstructor

from publisher.model.errors import InvalidInput, Location

# libyaml's C parser is several times faster than the pure-Python one; both give marks.
_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

JsonPath = tuple[str | int, ...]

MAX_DEPTH = 32
"""Deepest nesting accepted: a spec is three levels deep; a deeper file is a mistake or an
attack, and converting it would exhaust Python's recursion limit."""

PLAIN_TAGS = frozenset(
    f"tag:yaml.org,2002:{t}" for t in ("str", "int", "float", "bool", "null", "map", "seq", "timestamp", "binary")
)


@dataclass
class Document:
    """One YAML document as plain values, with the position of every key and value."""

    file: str
    value: Any
    start: Location
    value_at: dict[JsonPath, Location] = field(default_factory=dict)
    key_at: dict[JsonPath, Location] = field(default_factory=dict)

    def where(self, path: JsonPath, *, key: bool = False) -> Location:
        """The location of the value (or its key) at ``path``, or of its nearest parent."""
        table = self.key_at if key else self.value_at
        for depth in range(len(path), -1, -1):
            found = table.get(path[:depth]) or self.value_at.get(path[:depth])
            if found:
                return found
        return self.start


def _location(file: str, node: yaml.Node) -> Location:
    return Location(file, node.start_mark.line + 1, node.start_mark.column + 1)


class _Converter:
    """Turns a composed node tree into plain values, recording positions on the way."""

    def __init__(self, doc: Document) -> None:
        self.doc = doc
        self.scalars = SafeConstructor()

    def convert(self, node: yaml.Node, path: JsonPath) -> Any:
        self.doc.value_at[path] = _location(self.doc.file, node)
        if len(path) > MAX_DEPTH:
            raise InvalidInput(f"nested more than {MAX_DEPTH} levels deep", _location(self.doc.file, node))
        if node.tag not in PLAIN_TAGS:
            # Safe loading: no application tags (!!python/..., !custom) reach the values.
            raise InvalidInput(f"unsupported YAML tag {node.tag}", _location(self.doc.file, node))
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            return [self.convert(item, (*path, i)) for i, item in enumerate(node.value)]
        value = self.scalars.construct_object(node, deep=True)
        # Timestamps and binary are YAML types JSON Schema cannot describe: keep the text.
        return value if isinstance(value, (str, int, float, bool, type(None))) else node.value

    def _mapping(self, node: yaml.MappingNode, path: JsonPath) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                raise InvalidInput("YAML merge keys (<<) are not supported", _location(self.doc.file, key_node))
            if not isinstance(key_node, yaml.ScalarNode):
                raise InvalidInput("keys must be plain strings", _location(self.doc.file, key_node))
            key = str(key_node.value)
            if key in result:
                first = self.doc.key_at[(*path, key)]
                raise InvalidInput(
                    f"duplicate key '{key}' (first at line {first.line}); YAML would keep only the last",
                    _location(self.doc.file, key_node),
                )
            self.doc.key_at[(*path, key)] = _location(self.doc.file, key_node)
            result[key] = self.convert(value_node, (*path, key))
        return result


def decode(data: bytes, file: str) -> str:
    """A file's bytes as UTF-8 text; InvalidInput at the first byte that is not UTF-8."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        col = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise InvalidInput(
            f"not UTF-8 text: byte 0x{data[exc.start]:02x} at offset {exc.start} ({exc.reason});"
            " save the file as UTF-8",
            Location(file, line, col),
        ) from None


def read_text(path: Path) -> str:
    """A YAML file's text; InvalidInput when it is not UTF-8 (OSError when unreadable)."""
    return decode(path.read_bytes(), str(path))


def _refuse_aliases(text: str, file: str) -> None:
    """Aliases (*name) have no use in specs or the config, and nested ones expand
    exponentially (the "billion laughs"): refuse the first one, at its position."""
    if "*" not in text:
        return  # no alias possible: skip the second parse
    for event in yaml.parse(text, Loader=_Loader):
        if isinstance(event, yaml.AliasEvent):
            mark = event.start_mark
            raise InvalidInput(
                f"YAML aliases (*{event.anchor}) are not supported: write the value out",
                Location(file, mark.line + 1, mark.column + 1) if mark else Location(file, 1, 1),
            )


def load_documents(text: str, file: str) -> list[Document]:
    """Every document in ``text``; raises InvalidInput at the first syntax error."""
    try:
        _refuse_aliases(text, file)
        nodes = list(yaml.compose_all(text, Loader=_Loader))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = Location(file, mark.line + 1, mark.column + 1) if mark else Location(file, 1, 1)
        problem = exc.problem or exc.context or "invalid YAML"
        if exc.context and exc.context_mark and exc.problem:
            problem += f" ({exc.context} at line {exc.context_mark.line + 1}, column {exc.context_mark.column + 1})"
        raise InvalidInput(f"invalid YAML: {problem}", where) from None
    except yaml.YAMLError as exc:
        raise InvalidInput(f"invalid YAML: {exc}", Location(file, 1, 1)) from None
    documents = []
    for node in nodes:
        if node is None or (isinstance(node, yaml.ScalarNode) and node.tag.endswith(":null") and not node.value):
            continue  # an empty document
        doc = Document(file=file, value=None, start=_location(file, node))
        doc.value = _Converter(doc).convert(node, ())
        documents.append(doc)
    return documents
