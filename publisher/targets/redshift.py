"""Amazon Redshift: redshift-connector, results loaded from S3 with COPY."""

from __future__ import annotations

import re
from dataclasses import dataclass

from publisher.model.secret import Secret
from publisher.model.vocabulary import SslMode
from publisher.targets.base import Ledger, TargetDescriptor

_ENDPOINT = re.compile(r"([a-z0-9-]+)\.[a-z0-9]+\.([a-z0-9-]+)\.redshift(?:-serverless)?\.amazonaws\.com")


@dataclass(frozen=True, kw_only=True)
class RedshiftSettings:
    """A redshift connection, loading with COPY through its ``s3`` connection."""

    host: str
    port: int = 5439
    database: str
    user: str
    password: Secret
    ssl: bool = True
    sslmode: SslMode = "verify-ca"
    iam_role: str | None = None
    region: str | None = None
    s3: int | str
    manifest_prefix: str | None = None
    ledger: Ledger = Ledger()

    @property
    def bound_database(self) -> str | None:
        return self.database  # a session is bound to the database it connected to

    @property
    def results_via(self) -> int | str | None:
        return self.s3

    @property
    def load_region(self) -> str | None:
        return self.region

    @property
    def starts_slowly(self) -> bool:
        return False

    @property
    def lineage_namespace(self) -> str:
        # OpenLineage naming: redshift://{cluster_identifier}.{region}:{port}, read from an endpoint
        # of the form <cluster>.<id>.<region>.redshift[-serverless].amazonaws.com; any other host
        # (a proxy, a stand-in) as it is.
        found = _ENDPOINT.fullmatch(self.host.lower())
        where = f"{found.group(1)}.{found.group(2)}" if found else self.host.lower()
        return f"redshift://{where}:{self.port}"

    def reader_problem(self, reader_has_keys: bool) -> str | None:
        if self.iam_role or reader_has_keys:
            return None
        return (
            "COPY needs credentials: set iamRole, or accessKeyId and "
            "secretAccessKey (as ${ENV} references) on its s3 connection"
        )


_NUMERIC = r"(DECIMAL|NUMERIC)(\(\d+(,\d+)?\))?"

REDSHIFT = TargetDescriptor(
    name="redshift",
    title="Redshift",
    # What COPY reads: CSV, JSON 'auto', AVRO 'auto', PARQUET.
    input_formats=("csv", "json", "avro", "pqt"),
    has_schemas=True,
    default_schema="public",
    # A Redshift session is bound to the database it connected to: path must be the connection's.
    writes_across_databases=False,
    # COPY refuses REGION with columnar formats.
    region_refused_formats=frozenset({"pqt"}),
    # Unquoted identifiers are folded to lower case (and the publisher never quotes a name into
    # another case: enable_case_sensitive_identifier stays off).
    name_case="lower",
    # Redshift's data types and their aliases (Database Developer Guide, "Data types").
    column_types=re.compile(
        rf"SMALLINT|INT2|INTEGER|INT|INT4|BIGINT|INT8|REAL|FLOAT4|FLOAT8|FLOAT|DOUBLE PRECISION"
        rf"|BOOLEAN|BOOL|TEXT|DATE|TIMESTAMP|TIMESTAMP WITHOUT TIME ZONE|TIMESTAMPTZ|TIMESTAMP WITH TIME ZONE"
        rf"|TIME|TIME WITHOUT TIME ZONE|TIMETZ|TIME WITH TIME ZONE|SUPER|GEOMETRY|GEOGRAPHY|HLLSKETCH"
        rf"|{_NUMERIC}|(CHAR|CHARACTER|NCHAR|BPCHAR)(\(\d+\))?"
        rf"|(VARCHAR|CHARACTER VARYING|NVARCHAR)(\((\d+|MAX)\))?|(VARBYTE|VARBINARY|BINARY VARYING)(\(\d+\))?",
        re.IGNORECASE,
    ),
    column_type_examples="BIGINT, DOUBLE PRECISION, DECIMAL(18,2), VARCHAR(256), TIMESTAMPTZ, DATE, SUPER",
    settings=RedshiftSettings,
    config_schema="redshift",
    spec_schema_code="publish_spec_target_redshift",
    ledger_home="schema",
    dialect="publisher.dialects.redshift:Redshift",
    engine="publisher.engines.pool:open_redshift",
)
