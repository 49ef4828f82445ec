"""Publish specs: found on disk, validated against schemas/, turned into Spec values."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from publisher.inputs.config import Config, Connection, resolve_location
from publisher.inputs.validation import as_json, check, did_you_mean, schema
from publisher.inputs.yamlfile import Document, load_documents, read_text
from publisher.model.errors import InvalidInput, Location, PublisherError, display_path
from publisher.model.identity import PublicationId
from publisher.model.layout import Layout
from publisher.model.names import CONTROL, ledger_clash
from publisher.model.relation import Relation
from publisher.model.vocabulary import Action, InputFormat, TargetType
from publisher.targets import TargetDescriptor

SPEC_SCHEMA = "publish-spec.schema.json"
SPEC_SUFFIXES = (".yaml", ".yml")
DEFAULT_SPEC_DIR = "specs"


@dataclass(frozen=True)
class Spec:
    """One validated publication request."""

    file: str
    location: Location
    job_group: int
    flow_node_id: int
    connection: Connection
    relation: Relation
    action: Action
    input_format: InputFormat
    source: str
    source_from: str  # "spec" or "config": where the results location came from
    content_hash: str
    canonical_json: str  # the spec's keys and values, sorted: what content_hash is of
    results_connection: Connection | None = None  # the s3 connection that reads s3:// results
    description: str | None = None
    column_types: dict[str, str] = field(default_factory=dict, hash=False)
    allow_narrowing: tuple[str, ...] = ()  # columnTypes entries that may round the results' values
    partition_by: tuple[str, ...] = ()  # Hive: partition columns taken from the results
    partition: dict[str, str] = field(default_factory=dict, hash=False)  # Hive: a static partition, column -> value
    overwrite: str = "table"  # truncateAndLoad of a partitioned table: "table" or "partitions"
    layout: Layout = Layout()  # distStyle, distKey, sortKeys (Redshift; refused on Hive)
    merge_keys: tuple[str, ...] = ()  # merge: the columns that identify a row
    on_schema_change: str = "fail"  # load, truncateAndLoad, merge: "fail" or "addColumns"
    project: str | None = None  # publisher.yaml's project: the ledger rows this spec writes carry it
    keep_last: int | None = None  # create, createAndLoad: retention keeps this many newest tables
    keep_for: str | None = None  # create, createAndLoad: retention keeps the tables published within this ("30d")

    @property
    def label(self) -> str:
        return f"jobGroup {self.job_group} / flowNodeId {self.flow_node_id}"

    @property
    def id(self) -> PublicationId:
        r = self.relation
        table = r.name if r.schema is None else f"{r.schema}.{r.name}"
        return PublicationId(self.job_group, self.flow_node_id, self.connection.id, r.database, table, self.action)

    @property
    def canonical(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(self.canonical_json)
        return loaded

    @property
    def target_type(self) -> TargetType:
        assert self.connection.type != "s3"
        return self.connection.type


def find_spec_files(paths: list[str]) -> tuple[list[Path], list[PublisherError]]:
    """Spec files named or found (recursively, sorted) in folders; default specs/."""
    files: list[Path] = []
    problems: list[PublisherError] = []
    for raw in paths or [DEFAULT_SPEC_DIR]:
        path = Path(raw)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.suffix in SPEC_SUFFIXES and p.is_file())
            if not found:
                problems.append(InvalidInput(f"no spec files (*.yaml, *.yml) in {raw}"))
            files.extend(found)
        elif path.is_file():
            files.append(path)
        else:
            problems.append(InvalidInput(f"no such spec file or folder: {raw}"))
    return files, problems


def load_specs(files: list[Path], config: Config | None) -> tuple[list[Spec], list[PublisherError]]:
    """Every spec in ``files``, and every problem found; specs with problems are left out.

    Without a config only the schema is checked (``validate`` without publisher.yaml).
    """
    specs: list[Spec] = []
    problems: list[PublisherError] = []
    for path in files:
        try:
            documents = load_documents(read_text(path), str(path))
        except InvalidInput as exc:
            problems.append(exc)
            continue
        except OSError as exc:
            problems.append(InvalidInput(f"cannot read {path}: {exc.strerror}"))
            continue
        if not documents:
            problems.append(InvalidInput("empty spec file", Location(str(path), 1, 1)))
        for doc in documents:
            spec, found = document_spec(doc, path, config)
            problems.extend(found)
            if spec is not None:
                specs.append(spec)
    problems.extend(_duplicates(specs))
    return specs, problems


def document_spec(doc: Document, path: Path, config: Config | None) -> tuple[Spec | None, list[InvalidInput]]:
    """One document as a Spec, or every problem with it (schema, connection, target rules)."""
    if not isinstance(doc.value, dict):
        return None, [InvalidInput("a publish spec must be a mapping of keys to values", doc.start)]
    problems = check(doc, SPEC_SCHEMA) + _same_column_twice(doc)
    if config is None:
        return None, problems
    connection, problem = _connection(doc, config)
    if problem is not None:
        problems.append(problem)
    if problems or connection is None:
        return None, sorted(problems, key=_position)
    value: dict[str, Any] = doc.value
    if "source" in value:
        source, source_from = resolve_location(value["source"], path.parent), "spec"
    else:
        source, source_from = config.results_location(value["jobGroup"], value["flowNodeId"]), "config"
    rules = connection.target
    problems = (
        _target_rules(doc, rules, source, source_from)
        + _column_types(doc, rules)
        + _narrowing(doc)
        + _for_other_actions(doc)
        + _partition_keys(doc)
        + _layout(doc)
        + _connection_rules(doc, connection)
    )
    if problems:
        return None, sorted(problems, key=_position)
    return _spec(doc, path, config, connection, source, source_from)


def _target_rules(doc: Document, rules: TargetDescriptor, source: str, source_from: str) -> list[InvalidInput]:
    """The spec, with its results location resolved, against its target's rules in the schema."""
    # Errors show values as the spec wrote them: a resolved path depends on the checkout.
    problems = check(doc, SPEC_SCHEMA, "$defs", "target", rules.name, instance={**doc.value, "source": source})
    if source_from == "spec":
        return problems
    # The location came from publisher.yaml's template: point at the spec's connection, which
    # chose the target, and name where the location came from (not "source", which the spec lacks).
    here = doc.where(("source",))
    named = f"results {_printable(display_path(source))} (from publisher.yaml) "
    return [
        InvalidInput(p.message.replace("source ", named, 1).split(" (found")[0], doc.where(("connection",)))
        if p.location == here
        else p
        for p in problems
    ]


def _connection_rules(doc: Document, connection: Connection) -> list[InvalidInput]:
    """What the connection's settings rule out on its target: a database other than the one it
    is bound to, a region with formats COPY will not load across regions."""
    value: dict[str, Any] = doc.value
    rules, settings = connection.target, connection.target_settings
    problems = []
    bound = settings.bound_database
    if not rules.writes_across_databases and rules.folds(value["path"][0]) != rules.folds(bound or ""):
        problems.append(
            InvalidInput(
                f"path [{value['path'][0]}] must be the database of connection {connection.name}, "
                f"{bound!r}: {rules.title} cannot write across databases",
                doc.where(("path", 0)),
            )
        )
    if settings.load_region and value["inputFormat"] in rules.region_refused_formats:
        problems.append(
            InvalidInput(
                f"inputFormat {value['inputFormat']} cannot load with connection {connection.name}'s region "
                "(COPY refuses REGION with columnar formats): keep the results bucket in the cluster's region "
                "and remove region",
                doc.where(("inputFormat",)),
            )
        )
    return problems


def _spec(
    doc: Document, path: Path, config: Config, connection: Connection, source: str, source_from: str
) -> tuple[Spec | None, list[InvalidInput]]:
    """The Spec of a document that passed every check, unless its table or results location
    clash with the connection (its ledger's tables; s3:// results without an s3 connection)."""
    value: dict[str, Any] = doc.value
    rules = connection.target
    fold = rules.folds
    table = fold(value["table"])
    schema_name, _, name = table.rpartition(".")
    # The schema's per-target table pattern allows a schema part only where the target has schemas.
    relation = Relation(
        fold(value["path"][0]), (schema_name or rules.default_schema) if rules.has_schemas else None, name
    )
    clash = ledger_clash(connection, relation)
    if clash:
        return None, [InvalidInput(clash, doc.where(("table",)))]
    results_connection = None
    if source.startswith("s3://"):
        results_connection = config.s3_for(connection)
        if results_connection is None:
            return None, [
                InvalidInput(
                    "s3:// results need an s3 connection: set resultsConnection in publisher.yaml",
                    doc.where(("source",) if "source" in value else ("connection",)),
                )
            ]
    canonical = json.dumps({k: v for k, v in value.items() if k != "$schema"}, sort_keys=True)
    return (
        Spec(
            file=str(path),
            location=doc.start,
            job_group=value["jobGroup"],
            flow_node_id=value["flowNodeId"],
            connection=connection,
            relation=relation,
            action=value["action"],
            input_format=value["inputFormat"],
            source=source,
            source_from=source_from,
            results_connection=results_connection,
            content_hash=hashlib.sha256(canonical.encode()).hexdigest()[:16],
            canonical_json=canonical,
            description=value.get("description"),
            column_types={fold(k): v.upper() for k, v in value.get("columnTypes", {}).items()},
            allow_narrowing=tuple(fold(c) for c in value.get("allowNarrowing", ())),
            partition_by=tuple(fold(c) for c in value.get("partitionBy", ())),
            partition={fold(k): str(v) for k, v in value.get("partition", {}).items()},
            overwrite=value.get("overwrite", "table"),
            layout=Layout(
                "KEY" if "distKey" in value else value.get("distStyle"),
                fold(value["distKey"]) if "distKey" in value else None,
                tuple(fold(k) for k in value.get("sortKeys", ())),
            ),
            merge_keys=tuple(fold(k) for k in value.get("mergeKeys", ())),
            on_schema_change=value.get("onSchemaChange", "fail"),
            project=config.project,
            keep_last=value.get("keepLast"),
            keep_for=value.get("keepFor"),
        ),
        [],
    )


def _layout(doc: Document) -> list[InvalidInput]:
    """distKey goes with distStyle KEY only; a sort key names each column once. (Whether the
    results have those columns is known when planning.)"""
    value: dict[str, Any] = doc.value
    problems = []
    style = value.get("distStyle")
    if "distKey" in value and style not in (None, "KEY"):
        problems.append(
            InvalidInput(
                f"distStyle {style} cannot go with distKey {value['distKey']}: a distribution key means "
                "distStyle KEY (remove distStyle, or distKey)",
                doc.where(("distStyle",)),
            )
        )
    if style == "KEY" and "distKey" not in value:
        problems.append(
            InvalidInput("distStyle KEY needs distKey, the column to distribute by", doc.where(("distStyle",)))
        )
    seen: set[str] = set()
    for i, key in enumerate(value.get("sortKeys", ())):
        if key.lower() in seen:
            problems.append(InvalidInput(f"sortKeys names column {key.lower()} twice", doc.where(("sortKeys", i))))
        seen.add(key.lower())
    return problems


def _printable(text: str) -> str:
    """``text`` with control characters escaped, so that a message stays one line."""
    return CONTROL.sub(lambda m: repr(m.group())[1:-1], text)


def _same_column_twice(doc: Document) -> list[InvalidInput]:
    """columnTypes keys that name one column: both targets fold names to lower case."""
    types = doc.value.get("columnTypes") if isinstance(doc.value, dict) else None
    if not isinstance(types, dict):
        return []
    first: dict[str, str] = {}
    problems = []
    for key in types:
        if key.lower() in first:
            problems.append(
                InvalidInput(
                    f"columnTypes names column {key.lower()} twice ({first[key.lower()]} and {key}): "
                    "column names are not case-sensitive",
                    doc.where(("columnTypes", key), key=True),
                )
            )
        first.setdefault(key.lower(), key)
    return problems


def _column_types(doc: Document, target: TargetDescriptor) -> list[InvalidInput]:
    """columnTypes values that are not one of the target's types: each target's strict grammar
    (publisher/targets/), so that a value can only ever be a type (never ``INT NOT NULL``,
    ``STRING PARTITIONED BY``, ...). The schema refuses what no target accepts (quotes, ``;``,
    comments); complex types (Hive ARRAY/STRUCT/MAP) are not overridable."""
    return [
        InvalidInput(
            f"columnTypes.{column}: {as_json(kind)} is not a {target.title} column type "
            f"(such as {target.column_type_examples})",
            doc.where(("columnTypes", column)),
        )
        for column, kind in doc.value.get("columnTypes", {}).items()
        if not target.is_column_type(kind)
    ]


def _narrowing(doc: Document) -> list[InvalidInput]:
    """allowNarrowing names columns that columnTypes gives a type: it only ever permits one."""
    typed = {k.lower() for k in doc.value.get("columnTypes", {})}
    return [
        InvalidInput(
            f"allowNarrowing: {column!r} has no columnTypes entry; it lets a columnTypes type round the "
            f"results' values, so it names columns of columnTypes ({', '.join(sorted(typed)) or 'none'})",
            doc.where(("allowNarrowing", i)),
        )
        for i, column in enumerate(doc.value.get("allowNarrowing", ()))
        if column.lower() not in typed
    ]


@cache
def action_keys() -> dict[str, tuple[Action, ...]]:
    """Spec keys that only some actions take, and which: the spec schema's ``x-actions``. Each
    strategy declares the same (``Strategy.spec_keys``; tests/test_action_keys.py)."""
    properties: dict[str, dict[str, Any]] = schema(SPEC_SCHEMA)["properties"]
    return {key: tuple(rule["x-actions"]) for key, rule in properties.items() if "x-actions" in rule}


def _for_other_actions(doc: Document) -> list[InvalidInput]:
    """Keys the spec's action does not take, each refused at the key with why (``x-why``)."""
    value: dict[str, Any] = doc.value
    action = value["action"]
    properties = schema(SPEC_SCHEMA)["properties"]
    problems = []
    for key, actions in action_keys().items():
        if key not in value or action in actions:
            continue
        # Name the shorter list: the actions that take the key, or those that do not.
        refused = [a for a in properties["action"]["enum"] if a not in actions]
        which = (
            f"is not for {_listed(refused)}"
            if len(refused) < len(actions)
            else f"is for {_listed(actions)}, not {action}"
        )
        why = properties[key].get("x-why")
        remedy = "remove it" + (f", or make the action {actions[0]}" if len(actions) == 1 else "")
        problems.append(
            InvalidInput(f"{key} {which}{': ' + why if why else ''} ({remedy})", doc.where((key,), key=True))
        )
    return problems


def _listed(words: Sequence[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def _partition_keys(doc: Document) -> list[InvalidInput]:
    """The partition and merge keys' rules across keys: no column twice, static or dynamic."""
    value: dict[str, Any] = doc.value
    static = value.get("partition", {})
    problems = []
    seen: set[str] = set()
    for i, key in enumerate(value.get("mergeKeys", ())):
        if key.lower() in seen:
            problems.append(
                InvalidInput(
                    f"mergeKeys names column {key.lower()} twice: column names are not case-sensitive",
                    doc.where(("mergeKeys", i)),
                )
            )
        seen.add(key.lower())
    if value.get("overwrite") == "table" and static and value["action"] in action_keys()["overwrite"]:
        problems.append(
            InvalidInput(
                "overwrite: table would drop every partition but the static one; with partition, truncateAndLoad "
                "replaces just that partition (remove overwrite)",
                doc.where(("overwrite",)),
            )
        )
    dynamic: set[str] = set()
    for i, column in enumerate(value.get("partitionBy", ())):
        if column.lower() in dynamic:
            problems.append(
                InvalidInput(
                    f"partitionBy names column {column.lower()} twice: column names are not case-sensitive",
                    doc.where(("partitionBy", i)),
                )
            )
        dynamic.add(column.lower())
    for column in static:
        if column.lower() in dynamic:
            problems.append(
                InvalidInput(
                    f"partition names column {column.lower()}, which partitionBy names too: a partition column is "
                    "either static (partition, a value for all rows) or taken from the results (partitionBy)",
                    doc.where(("partition", column), key=True),
                )
            )
    return problems


def _position(problem: InvalidInput) -> tuple[int, int]:
    return (problem.location.line, problem.location.col) if problem.location else (0, 0)


def _connection(doc: Document, config: Config) -> tuple[Connection | None, InvalidInput | None]:
    """The target connection the spec names; checked even when other keys are invalid."""
    ref = doc.value.get("connection")
    if not (isinstance(ref, dict) and len(ref) == 1):
        return None, None  # the schema reports it
    key, wanted = next(iter(ref.items()))
    if (key, type(wanted)) not in (("id", int), ("name", str)):
        return None, None
    connection = config.find(wanted)
    if connection is not None and connection.type != "s3":
        return connection, None
    targets = [c for c in config.connections if c.type != "s3"]
    hint = did_you_mean(str(wanted), [c.name for c in targets]) if key == "name" else ""
    known = ", ".join(f"{c.name} (id {c.id})" for c in targets)
    what = "is an s3 connection, not a target" if connection else "is not in publisher.yaml"
    return None, InvalidInput(
        f"connection {key} {as_json(wanted)} {what}{hint}; targets: {known}", doc.where(("connection", key))
    )


def _duplicates(specs: list[Spec]) -> list[PublisherError]:
    """Two specs for one publication would publish it twice: an error, not a race."""
    seen: dict[PublicationId, Spec] = {}
    problems: list[PublisherError] = []
    for spec in specs:
        if spec.id in seen:
            first = seen[spec.id]
            problems.append(
                InvalidInput(
                    f"same publication as {first.file}:{first.location.line} ({spec.label} into {spec.relation})",
                    spec.location,
                )
            )
        seen[spec.id] = spec
    return problems
