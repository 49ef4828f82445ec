"""What a target is: one descriptor names its rules, formats, types, settings, and where its
dialect and engine live. Imports only the model, so that ``publisher validate`` imports no
dialect and no driver: those are found by their import paths when a plan needs them."""

from __future__ import annotations

import importlib
import re
from dataclasses import Field, dataclass
from functools import cache
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Protocol, assert_never

from publisher.model.relation import Relation
from publisher.model.vocabulary import InputFormat, TargetType

if TYPE_CHECKING:
    from publisher.dialects.base import Dialect
    from publisher.inputs.config import Config
    from publisher.model.target import Target


@dataclass(frozen=True, kw_only=True)
class Ledger:
    """Where a target connection keeps the publication ledger."""

    database: str = "publisher"
    table: str = "publications"


class TargetSettings(Protocol):
    """What the code outside a target reads of its connection's settings (each target's settings
    class is a dataclass with the fields of its config-schema fragment, and these)."""

    __dataclass_fields__: ClassVar[dict[str, Field[Any]]]

    @property
    def ledger(self) -> Ledger: ...

    @property
    def bound_database(self) -> str | None:
        """The database the connection's sessions are bound to; None: any database of the engine."""

    @property
    def results_via(self) -> int | str | None:
        """The s3 connection (id or name) the engine reads results through; None: the results
        connection of publisher.yaml."""

    @property
    def load_region(self) -> str | None:
        """The region the engine's loads name (Redshift COPY's REGION); None: none."""

    @property
    def starts_slowly(self) -> bool:
        """The engine runs in this process and takes seconds to start: serve starts it first."""

    @property
    def lineage_namespace(self) -> str:
        """The OpenLineage namespace of the engine's tables (the naming spec's, as
        ``hive://host:port``), the name being database[.schema].table."""

    def reader_problem(self, reader_has_keys: bool) -> str | None:
        """Why the engine cannot read results through its s3 connection (which has access keys
        or not); None: it can."""


LedgerHome = Literal["database", "schema"]
"""Where a connection's ledger table lives: in a database of its own (the ledger's
``database``), or in a schema of that name in the database each table is published into."""

NameCase = Literal["lower", "kept"]
"""How the engine treats unquoted names: folds them to lower case (so the publisher writes and
compares them lower-cased), or keeps them as written."""


def _load(path: str) -> Any:
    """The object at ``module:attribute``, imported now."""
    module, _, attribute = path.partition(":")
    return getattr(importlib.import_module(module), attribute)


@dataclass(frozen=True, kw_only=True)
class TargetDescriptor:
    """One target: every fact about it that code outside its own modules needs."""

    name: TargetType
    """Its connection type in publisher.yaml, and its key in the registry."""
    title: str
    """The engine's name in messages."""
    input_formats: tuple[InputFormat, ...]
    """The result formats it loads, in the order the spec schema lists them."""
    has_schemas: bool
    """Tables live in schemas of the database: a spec's table may be schema.table."""
    default_schema: str | None
    """The schema of a table named without one."""
    writes_across_databases: bool
    """A connection publishes into any database of the engine (else only its bound one)."""
    region_refused_formats: frozenset[InputFormat]
    """Input formats whose load refuses a connection's region setting."""
    name_case: NameCase
    """How unquoted names are stored (see NameCase)."""
    column_types: re.Pattern[str]
    """The types a spec's ``columnTypes`` may name: a strict grammar (see inputs/spec.py)."""
    column_type_examples: str
    """Some of them, for messages."""
    settings: type[Any]
    """The settings class of its connections (a TargetSettings), fields equal to ``config_schema``'s keys."""
    config_schema: str
    """Its fragment of config.schema.json: the key under ``$defs``."""
    spec_schema_code: str
    """The generated fastjsonschema module of its spec rules, publish-spec.schema.json's
    ``$defs/target/<name>`` (publisher/inputs/schema_code/)."""
    ledger_home: LedgerHome
    """Where its connections keep the ledger."""
    dialect: str
    """``module:Class`` of its SQL dialect, imported only when SQL is written."""
    engine: str
    """``module:function`` opening a connection, ``(settings, config) -> Target``: imported only
    when a connection opens."""

    def folds(self, name: str) -> str:
        """A name as the engine stores it unquoted (and as the publisher compares it)."""
        match self.name_case:
            case "lower":
                return name.lower()
            case "kept":
                return name
            case unknown:
                assert_never(unknown)

    def is_column_type(self, text: str) -> bool:
        """Whether ``text`` spells one of its column types (spaces in parentheses allowed)."""
        spelled = re.sub(r"\s*([(),])\s*", r"\1", " ".join(text.split()))
        return self.column_types.fullmatch(spelled) is not None

    def ledger_relation(self, where: Ledger, table: Relation) -> Relation:
        """Where a connection's ledger lives, for a spec publishing into ``table``."""
        match self.ledger_home:
            case "database":
                return Relation(where.database, None, where.table)
            case "schema":
                return Relation(table.database, where.database, where.table)
            case unknown:
                assert_never(unknown)

    def load_dialect(self) -> Dialect:
        """Its dialect, imported now."""
        return _dialect(self.dialect)

    def open(self, settings: Any, config: Config) -> Target:
        """An open connection to the engine; its driver is imported here."""
        opener = _load(self.engine)
        target: Target = opener(settings, config)
        return target


@cache
def _dialect(path: str) -> Dialect:
    dialect: Dialect = _load(path)()
    return dialect
