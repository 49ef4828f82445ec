"""Hive: Spark's metastore through HiveServer2 or an embedded engine, Apache Hive, Cloudera."""

from __future__ import annotations

import re
from dataclasses import dataclass

from publisher.model.secret import Secret
from publisher.model.vocabulary import HiveAuth
from publisher.targets.base import Ledger, TargetDescriptor


@dataclass(frozen=True, kw_only=True)
class HiveSettings:
    """A hive connection: an embedded engine (``embedded``) or a HiveServer2 (``host``)."""

    embedded: bool = False
    state_dir: str = ".publisher/hive"
    host: str | None = None
    port: int = 10000
    auth: HiveAuth = "NONE"
    username: str | None = None
    password: Secret | None = None
    kerberos_service_name: str | None = None
    ledger: Ledger = Ledger()

    @property
    def bound_database(self) -> str | None:
        return None  # a session writes into any database

    @property
    def results_via(self) -> int | str | None:
        return None

    @property
    def load_region(self) -> str | None:
        return None

    @property
    def starts_slowly(self) -> bool:
        return self.embedded  # Spark starts in this process (~15 s)

    @property
    def lineage_namespace(self) -> str:
        # OpenLineage naming: hive://{host}:{port}. The embedded engine (Spark in this process,
        # its metastore under stateDir) has no host of its own.
        return f"hive://{self.host}:{self.port}" if self.host else "hive://localhost"

    def reader_problem(self, reader_has_keys: bool) -> str | None:
        return None


HIVE = TargetDescriptor(
    name="hive",
    title="Hive",
    # Parquet and Avro, read through a staging external table (Hive SerDes).
    input_formats=("pqt", "avro"),
    has_schemas=False,
    default_schema=None,
    writes_across_databases=True,
    region_refused_formats=frozenset(),
    # Hive's metastore stores database, table and column names in lower case.
    name_case="lower",
    # Hive's primitive types (LanguageManual Types); complex types are not overridable.
    column_types=re.compile(
        r"TINYINT|SMALLINT|INT|INTEGER|BIGINT|FLOAT|DOUBLE|DOUBLE PRECISION|BOOLEAN|STRING|BINARY"
        r"|DATE|TIMESTAMP|(DECIMAL|NUMERIC)(\(\d+(,\d+)?\))?|(VARCHAR|CHAR)\(\d+\)",
        re.IGNORECASE,
    ),
    column_type_examples="BIGINT, DOUBLE, STRING, DECIMAL(18,2), VARCHAR(256), TIMESTAMP, DATE",
    settings=HiveSettings,
    config_schema="hive",
    spec_schema_code="publish_spec_target_hive",
    ledger_home="database",
    dialect="publisher.dialects.hive:Hive",
    engine="publisher.engines.pool:open_hive",
)
