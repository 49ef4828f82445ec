"""The project config, publisher.yaml: results template, connections, ${ENV} secrets."""

from __future__ import annotations

import builtins
import os
import re
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, TypeVar

from publisher.inputs.validation import check, did_you_mean, secret_keys
from publisher.inputs.yamlfile import load_documents, read_text
from publisher.model.errors import Errors, InvalidInput, Location, PublisherError
from publisher.model.relation import Relation
from publisher.model.secret import Secret
from publisher.model.vocabulary import ConnectionType
from publisher.targets import TARGETS, Ledger, TargetDescriptor, TargetSettings, target

DEFAULT_CONFIG = "publisher.yaml"

Kind = TypeVar("Kind")


# Settings fields are the schema's keys in snake_case (stateDir: state_dir), in the schema's
# order, with its defaults and required keys: tests/test_vocabulary.py holds them equal. Each
# target's settings class is its descriptor's (publisher/targets/).
@dataclass(frozen=True, kw_only=True)
class S3Settings:
    """An s3 connection; without keys, boto3 uses the AWS credential chain."""

    region: str | None = None
    endpoint_url: str | None = None
    access_key_id: Secret | None = None
    secret_access_key: Secret | None = None
    session_token: Secret | None = None


@dataclass(frozen=True, kw_only=True)
class ServerSettings:
    """publisher serve: the API tokens (read when the server starts), where it listens, how many
    publications run at once, and the limits that keep slow or many clients from holding it."""

    tokens: tuple[Secret, ...]
    host: str = "127.0.0.1"
    port: int = 8080
    concurrency: int = 2
    read_timeout: float = 10  # seconds to send a whole request (headers and body)
    keep_alive_timeout: float = 5  # seconds an idle connection is kept open after a response
    max_requests: int = 100  # requests answered at once (headers in); one more is answered 503


@dataclass(frozen=True, kw_only=True)
class LineageSettings:
    """lineage: where OpenLineage events go. What is not set here falls back to the client's own
    configuration (OPENLINEAGE_URL, OPENLINEAGE_API_KEY, OPENLINEAGE_NAMESPACE), as in every
    OpenLineage integration."""

    url: str | Secret | None = None  # a URL as written, or an ${ENV} reference read when sending
    endpoint: str = "api/v1/lineage"
    api_key: Secret | None = None
    namespace: str | None = None
    timeout: float = 2  # seconds a publication waits at most for its events


Settings = TargetSettings | S3Settings
SETTINGS: dict[ConnectionType, type[Any]] = {**{t.name: t.settings for t in TARGETS.values()}, "s3": S3Settings}
"""Each connection type's settings class: the targets', and s3's."""


def setting_key(name: str) -> str:
    """The publisher.yaml key of a settings field: state_dir is stateDir."""
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


@dataclass(frozen=True)
class Connection:
    """One entry of ``connections``; ``settings`` holds the keys of its type."""

    id: int
    name: str
    type: ConnectionType
    settings: Settings
    location: Location = field(compare=False)

    @property
    def label(self) -> str:
        return f"{self.name} (id {self.id}, {self.type})"

    @property
    def target(self) -> TargetDescriptor:
        """The descriptor of a target connection; an s3 connection is a bug of the caller."""
        return target(self.type)

    @property
    def target_settings(self) -> TargetSettings:
        """The settings of a target connection; an s3 connection is a bug of the caller."""
        assert not isinstance(self.settings, S3Settings), f"{self.label} is not a target connection"
        return self.settings

    def settings_of(self, kind: builtins.type[Kind], /) -> Kind:
        """The settings of a connection of that kind (its target's settings class); any other
        kind is a bug of the caller."""
        assert isinstance(self.settings, kind), f"{self.label} is not a {kind.__name__} connection"
        return self.settings

    @property
    def s3(self) -> S3Settings:
        """The settings of an s3 connection; any other kind is a bug of the caller."""
        assert isinstance(self.settings, S3Settings), f"{self.label} is not an s3 connection"
        return self.settings

    @property
    def ledger(self) -> Ledger:
        """Where the ledger is: the defaults for an s3 connection, which has none."""
        return Ledger() if isinstance(self.settings, S3Settings) else self.settings.ledger

    def ledger_relation(self, table: Relation) -> Relation:
        """Where this connection's ledger lives, for a spec publishing into ``table``."""
        return self.target.ledger_relation(self.ledger, table)


@dataclass(frozen=True)
class Config:
    file: Path
    results: str
    connections: tuple[Connection, ...]
    results_connection: Connection | None
    server: ServerSettings | None = None  # the server: section, for publisher serve
    project: str | None = None  # recorded with every ledger row: whose publication it is
    lineage: LineageSettings | None = None  # the lineage: section; None: the OPENLINEAGE_* variables only

    @property
    def root(self) -> Path:
        return self.file.parent

    def find(self, ref: int | str) -> Connection | None:
        """The connection with this id (int) or name (str)."""
        for c in self.connections:
            if (c.id if isinstance(ref, int) else c.name) == ref:
                return c
        return None

    def s3_for(self, connection: Connection) -> Connection | None:
        """The s3 connection a Redshift connection reads results through."""
        ref = None if isinstance(connection.settings, S3Settings) else connection.settings.results_via
        return self.find(ref) if ref is not None else self.results_connection

    def results_location(self, job_group: int, flow_node_id: int) -> str:
        """The results template filled in: an s3:// URI or an absolute folder path."""
        filled = self.results.replace("{jobGroup}", str(job_group)).replace("{flowNodeId}", str(flow_node_id))
        return resolve_location(filled, self.root)


def resolve_location(location: str, base: Path) -> str:
    """An s3:// URI unchanged, or a folder made absolute against ``base``, ending in '/'."""
    if location.startswith("s3://"):
        return location if location.endswith("/") else location + "/"
    # abspath, not Path.resolve: no symlink lookups, which cost 35 ms per 1,000 specs.
    return os.path.abspath(os.path.join(base, location)) + "/"


ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def _settings(kind: ConnectionType, raw: dict[str, Any]) -> Settings:
    """A connection's typed settings from its schema-valid mapping. Values of the keys the
    schema declares secrets, each exactly one ``${NAME}``, become Secrets; ``${NAME}``
    anywhere else is data, never expanded."""
    cls = SETTINGS[kind]
    values: dict[str, Any] = {}
    for f in fields(cls):
        key = setting_key(f.name)
        if key not in raw:
            continue
        value = raw[key]
        if key == "ledger":
            value = Ledger(**value)
        elif key in secret_keys():
            reference = ENV_REFERENCE.fullmatch(value)
            assert reference, f"{key} passed the schema's secret pattern"
            value = Secret(reference.group(1))
        values[f.name] = value
    settings: Settings = cls(**values)
    return settings


def load_config(path: Path) -> Config:
    """Load and validate publisher.yaml; raises Errors with every problem found."""
    file = str(path)
    try:
        docs = load_documents(read_text(path), file)
    except FileNotFoundError:
        raise Errors([InvalidInput(f"config not found: {file} (create it, or pass --config FILE)")]) from None
    except OSError as exc:
        raise Errors([InvalidInput(f"cannot read config {file}: {exc.strerror}")]) from None
    except InvalidInput as exc:
        raise Errors([exc]) from None
    if len(docs) != 1:
        raise Errors([InvalidInput("publisher.yaml must hold exactly one YAML document", Location(file, 1, 1))])
    doc = docs[0]
    problems: list[PublisherError] = list(check(doc, "config.schema.json"))
    if problems:
        raise Errors(problems)

    connections = []
    seen: dict[tuple[str, Any], int] = {}
    for i, raw in enumerate(doc.value["connections"]):
        for key in ("id", "name"):
            if (key, raw[key]) in seen:
                problems.append(
                    InvalidInput(
                        f"connection {key} {raw[key]!r} is used twice (also connections[{seen[(key, raw[key])]}])",
                        doc.where(("connections", i, key)),
                    )
                )
            seen[(key, raw[key])] = i
        settings = _settings(raw["type"], raw)
        connections.append(Connection(raw["id"], raw["name"], raw["type"], settings, doc.where(("connections", i))))

    config = Config(path.resolve(), doc.value["results"], tuple(connections), None)
    results_conn = None
    if "resultsConnection" in doc.value:
        results_conn = _resolve_ref(
            config, doc.value["resultsConnection"], "s3", doc.where(("resultsConnection",)), problems
        )
    elif doc.value["results"].startswith("s3://"):
        s3 = [c for c in connections if c.type == "s3"]
        if len(s3) == 1:
            results_conn = s3[0]
        else:
            problems.append(
                InvalidInput(
                    "an s3:// results template needs resultsConnection: the s3 connection to read it with",
                    doc.where(("results",)),
                )
            )
    for i, c in enumerate(connections):
        via = None if isinstance(c.settings, S3Settings) else c.settings.results_via
        if via is not None:
            reader = _resolve_ref(config, via, "s3", doc.where(("connections", i, "s3")), problems)
            keys = (
                reader is not None and reader.s3.access_key_id is not None and reader.s3.secret_access_key is not None
            )
            problem = c.target_settings.reader_problem(keys) if reader is not None else None
            if problem is not None:
                problems.append(InvalidInput(f"connection {c.name}: {problem}", doc.where(("connections", i))))
    if problems:
        raise Errors(problems)
    server = _server(doc.value.get("server"))
    lineage = _lineage(doc.value.get("lineage"))
    return Config(
        config.file, config.results, config.connections, results_conn, server, doc.value.get("project"), lineage
    )


def _server(raw: dict[str, Any] | None) -> ServerSettings | None:
    """The schema-valid server: section, its tokens as Secrets (never expanded here)."""
    if raw is None:
        return None
    tokens = []
    for token in raw["tokens"]:
        reference = ENV_REFERENCE.fullmatch(token)
        assert reference, "tokens passed the schema's secret pattern"
        tokens.append(Secret(reference.group(1)))
    settings = {setting_key(f.name): f.name for f in fields(ServerSettings) if f.name != "tokens"}
    return ServerSettings(tokens=tuple(tokens), **{name: raw[key] for key, name in settings.items() if key in raw})


def _lineage(raw: dict[str, Any] | None) -> LineageSettings | None:
    """The schema-valid lineage: section; ${NAME} values as Secrets, read only when sending."""
    if raw is None:
        return None
    values: dict[str, Any] = {}
    for f in fields(LineageSettings):
        key = setting_key(f.name)
        if key in raw:
            reference = ENV_REFERENCE.fullmatch(str(raw[key]))
            values[f.name] = Secret(reference.group(1)) if reference and key in ("url", "apiKey") else raw[key]
    return LineageSettings(**values)


def _resolve_ref(
    config: Config, ref: int | str, want: str, where: Location, problems: list[PublisherError]
) -> Connection | None:
    found = config.find(ref)
    if found is None:
        names = [c.name for c in config.connections if c.type == want]
        hint = did_you_mean(str(ref), names) if isinstance(ref, str) else ""
        problems.append(
            InvalidInput(f"no connection {ref!r}{hint} (s3 connections: {', '.join(names) or 'none'})", where)
        )
    elif found.type != want:
        problems.append(InvalidInput(f"connection {ref!r} is of type {found.type}, expected {want}", where))
        return None
    return found
