"""PostgreSQL: psycopg 3, the results' rows streamed through the publisher into COPY FROM STDIN."""

from __future__ import annotations

import re
from dataclasses import dataclass

from publisher.model.secret import Secret
from publisher.model.vocabulary import PgSslMode
from publisher.targets.base import Ledger, TargetDescriptor


@dataclass(frozen=True, kw_only=True)
class PostgresSettings:
    """A postgres connection; results on S3 are read through its ``s3`` connection (or the
    results connection of publisher.yaml)."""

    host: str
    port: int = 5432
    database: str
    user: str
    password: Secret
    sslmode: PgSslMode = "prefer"
    s3: int | str | None = None
    ledger: Ledger = Ledger()

    @property
    def bound_database(self) -> str | None:
        return self.database  # a PostgreSQL session is bound to the database it connected to

    @property
    def results_via(self) -> int | str | None:
        return self.s3

    @property
    def load_region(self) -> str | None:
        return None

    @property
    def starts_slowly(self) -> bool:
        return False

    @property
    def lineage_namespace(self) -> str:
        # OpenLineage naming: postgres://{host}:{port}, the name being database.schema.table.
        return f"postgres://{self.host.lower()}:{self.port}"

    def reader_problem(self, reader_has_keys: bool) -> str | None:
        return None  # the publisher reads the results itself, with the s3 connection's credentials or AWS's chain


_NUMERIC = r"(DECIMAL|NUMERIC)(\(\d+(,\d+)?\))?"
_ARRAYABLE = (
    r"SMALLINT|INT2|INTEGER|INT|INT4|BIGINT|INT8|REAL|FLOAT4|FLOAT8|DOUBLE PRECISION|BOOLEAN|BOOL|TEXT"
    r"|DATE|TIMESTAMP|TIMESTAMP WITHOUT TIME ZONE|TIMESTAMPTZ|TIMESTAMP WITH TIME ZONE|TIME|TIME WITHOUT TIME ZONE"
    r"|TIMETZ|TIME WITH TIME ZONE|BYTEA|JSONB|JSON|UUID|INTERVAL"
    rf"|{_NUMERIC}|(CHAR|CHARACTER|BPCHAR)(\(\d+\))?|(VARCHAR|CHARACTER VARYING)(\(\d+\))?"
)

POSTGRES = TargetDescriptor(
    name="postgres",
    title="PostgreSQL",
    # The publisher reads every format itself (pyarrow, fastavro) and streams the rows.
    input_formats=("pqt", "avro", "csv", "json"),
    has_schemas=True,
    default_schema="public",
    # A PostgreSQL session is bound to the database it connected to: path must be the connection's.
    writes_across_databases=False,
    region_refused_formats=frozenset(),
    # PostgreSQL folds unquoted names to lower case but keeps quoted ones exactly, and the
    # publisher quotes every name it writes: the table gets the results' column names as the job
    # wrote them (OrderId stays OrderId, and Id and id stay two columns), where folding would
    # rename them. Readers then quote a name with capitals, as in any PostgreSQL schema.
    name_case="kept",
    # PostgreSQL's built-in types a spec may name (PostgreSQL docs, "Data Types"), and arrays of them.
    column_types=re.compile(rf"({_ARRAYABLE})(\[\])?", re.IGNORECASE),
    column_type_examples="BIGINT, DOUBLE PRECISION, NUMERIC(18,2), TEXT, TIMESTAMPTZ, DATE, JSONB, BIGINT[]",
    settings=PostgresSettings,
    config_schema="postgres",
    spec_schema_code="publish_spec_target_postgres",
    ledger_home="schema",
    dialect="publisher.dialects.postgres:Postgres",
    engine="publisher.engines.postgres:open_postgres",
)
