"""The project config, publisher.yaml: results template, connections, ${ENV} secrets."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from publisher.inputs.validation import did_you_mean, validate, validator
from publisher.inputs.yamlfile import load_documents, read_text
from publisher.model.errors import Errors, InvalidInput, Location, PublisherError
from publisher.model.relation import Relation
from publisher.model.secret import Secret
from publisher.model.vocabulary import ConnectionType

DEFAULT_CONFIG = "publisher.yaml"
DEFAULT_LEDGER = {"database": "publisher", "table": "publications"}


@dataclass(frozen=True)
class Connection:
    """One entry of ``connections``; ``settings`` holds the type-specific keys."""

    id: int
    name: str
    type: ConnectionType
    settings: dict[str, Any] = field(hash=False)
    location: Location = field(compare=False)

    def get(self, key: str, default: Any = None) -> Any:
        return self.settings.get(key, default)

    @property
    def label(self) -> str:
        return f"{self.name} (id {self.id}, {self.type})"

    @property
    def ledger(self) -> dict[str, str]:
        return {**DEFAULT_LEDGER, **self.settings.get("ledger", {})}

    def ledger_relation(self, table: Relation) -> Relation:
        """Where this connection's ledger lives, for a spec publishing into ``table``."""
        where = self.ledger
        if table.schema is None:  # Hive: a database of its own
            return Relation(where["database"], None, where["table"])
        return Relation(table.database, where["database"], where["table"])  # Redshift: a schema


@dataclass(frozen=True)
class Config:
    file: Path
    results: str
    connections: tuple[Connection, ...]
    results_connection: Connection | None

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
        ref = connection.get("s3")
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


def _secrets(settings: dict[str, Any]) -> dict[str, Any]:
    """Settings with each value that is exactly one ``${NAME}`` as a Secret; ``${NAME}`` inside
    a longer value is data, never expanded."""
    out = {}
    for key, value in settings.items():
        reference = ENV_REFERENCE.fullmatch(value) if isinstance(value, str) else None
        out[key] = Secret(reference.group(1)) if reference else value
    return out


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
    problems: list[PublisherError] = list(validate(doc, validator("config.schema.json")))
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
        settings = _secrets({k: v for k, v in raw.items() if k not in ("id", "name", "type")})
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
        if c.type == "redshift":
            reader = _resolve_ref(config, c.get("s3"), "s3", doc.where(("connections", i, "s3")), problems)
            keys = reader is not None and all(
                isinstance(reader.get(k), Secret) for k in ("accessKeyId", "secretAccessKey")
            )
            if reader is not None and not c.get("iamRole") and not keys:
                problems.append(
                    InvalidInput(
                        f"connection {c.name}: COPY needs credentials: set iamRole, or accessKeyId and "
                        f"secretAccessKey (as ${{ENV}} references) on its s3 connection",
                        doc.where(("connections", i)),
                    )
                )
    if problems:
        raise Errors(problems)
    return Config(config.file, config.results, config.connections, results_conn)


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
