"""Amazon Redshift SQL: COPY from S3 through a manifest, transactional DDL."""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any, ClassVar

from publisher.dialects import redshift_types as types
from publisher.dialects.base import ColumnDef, LoadSource, file_sizes, human_bytes
from publisher.dialects.postgres_family import PostgresFamily
from publisher.model.layout import NO_LAYOUT, Layout
from publisher.model.plan import DeleteObject, Param, PutObject, RowCheck, SqlPart, Statement, Step
from publisher.model.relation import Relation
from publisher.model.s3uri import S3Uri
from publisher.model.target import NO_FACTS, ColumnFacts, TableFacts
from publisher.targets.redshift import REDSHIFT, RedshiftSettings

if TYPE_CHECKING:
    from publisher.inputs.spec import Spec
    from publisher.results import Results

# COPY's format clause per input format. CSV results carry a header row; NULL is an empty
# field (Spark's convention, docs/types.md "NULL in CSV"): NULL AS '' says so, and without it
# COPY would read the text \N as NULL (its documented default). Redshift reads an empty field
# as NULL whether quoted or not (NULL AS '' behaves as EMPTYASNULL, AWS "Data conversion
# parameters"): an empty string cannot travel in CSV, and is refused where the sample shows one. JSON and Avro
# fields are matched to columns by name, and Redshift column names are lower case: 'auto'
# matches case-sensitively, so a field OrderId would load as NULL; 'auto ignorecase' does not. TIMEFORMAT and
# DATEFORMAT 'auto' accept ISO 8601 text, which CSV and JSON writers produce.
COPY_FORMAT = {
    "csv": "FORMAT AS CSV IGNOREHEADER 1 NULL AS '' TIMEFORMAT 'auto' DATEFORMAT 'auto'",
    "json": "FORMAT AS JSON 'auto ignorecase' TIMEFORMAT 'auto' DATEFORMAT 'auto'",
    "avro": "FORMAT AS AVRO 'auto ignorecase'",
    "pqt": "FORMAT AS PARQUET",
}
COLUMNAR_FORMATS = frozenset({"pqt"})
"""COPY refuses REGION (and most data-conversion options) with columnar formats."""
TEXT_FORMATS = frozenset({"csv", "json"})
"""COPY converts these formats' text into each column's type."""
BY_POSITION_FORMATS = frozenset({"pqt", "csv"})
"""COPY maps Parquet and CSV columns by position; JSON and Avro 'auto' by name."""

# How the results' files load in parallel: AWS, "Loading data files"
# (https://docs.aws.amazon.com/redshift/latest/dg/c_best-practices-use-multiple-files.html) and
# "Load takes too long" (https://docs.aws.amazon.com/redshift/latest/dg/queries-troubleshooting-load-takes-too-long.html).
COPY_MIN_FILE = 1 << 20
"""Files of 1 MB to 1 GB after compression load best: below 1 MB, each file's fixed cost dominates."""
COPY_IDEAL_MAX_FILE = 125 << 20
"""1-125 MB after compression is ideal (AWS Big Data Blog, "Top 10 performance tuning
techniques for Amazon Redshift"): a file COPY does not split is read by one slice alone."""
COPY_SPLITS_FROM = 128 << 20
"""COPY splits an uncompressed CSV or a Parquet file of 128 MB or more across slices; Parquet
files under 128 MB are not split."""
COPY_SPLIT_FORMATS = frozenset({"csv", "pqt"})
"""Formats COPY splits (from COPY_SPLITS_FROM): JSON (and gzip CSV) never, nor does the page list Avro.
The publisher's COPY names no compression: CSV and JSON results are plain text."""
MANIFESTS = "_publisher/manifests/"
"""Where COPY manifests go without manifestPrefix: under the results' bucket (COPY's role reads
it already), at its root and not in any job's results prefix. The leading '_' is the Hadoop
convention for "not data": readers of a whole bucket (Spark, Hive) skip it. One folder per
connection below it, so that a connection's plan lists only its own leftovers."""

SHORT_FORMAT_NAMES = {"pqt": "Parquet", "csv": "CSV", "json": "JSON", "avro": "Avro"}
MIN_SLICES = 2
"""Every node type has 2 slices or more: what a plan assumes when it does not know the cluster's."""
MANY_SMALL_FILES = 16
"""Small files worth a warning: fewer, each under 1 MB, make a load that is short whatever its layout."""
SLICE_ROUNDS_WASTE = 1.2
"""A file count that is not a multiple of the slices leaves slices idle in COPY's last round:
worth a warning when the rounds take this much longer than an even spread would."""


# The encoding Redshift gives a column without ENCODE (in a table where some column has one;
# ENCODE AUTO starts from the same): RAW for sort key columns and these types, AZ64 and LZO
# for these (AWS, "Compression encodings"); other types: not known here.
RAW_TYPES = ("BOOLEAN", "REAL", "DOUBLE PRECISION")
AZ64_TYPES = ("SMALLINT", "INTEGER", "BIGINT", "DECIMAL", "DATE", "TIMESTAMP", "TIMESTAMPTZ")
LZO_TYPES = ("CHAR", "VARCHAR")

CHARACTER_TYPES = ("VARCHAR", "CHAR", "CHARACTER", "NVARCHAR", "NCHAR", "BPCHAR", "TEXT")


def _character(sql_type: str) -> bool:
    """Whether a type is a character string type (VARCHAR(n), CHAR(n), CHARACTER VARYING, ...)."""
    return sql_type.strip().upper().split("(")[0].split()[0] in CHARACTER_TYPES


class Redshift(PostgresFamily):
    name = REDSHIFT.name
    title = REDSHIFT.title
    integer_digits = types.INTEGERS
    column_name_limit = (127, "bytes")
    case_setting = "enable_case_sensitive_identifier"
    """Off (the default) folds quoted names to lower case as unquoted ones; on keeps their case
    (AWS, "enable_case_sensitive_identifier"). The publisher writes lower-case names either way."""

    encoding_keywords: ClassVar[dict[str, str]] = {
        "none": "RAW", "raw": "RAW", "az64": "AZ64", "bytedict": "BYTEDICT", "delta": "DELTA",
        "delta32k": "DELTA32K", "lzo": "LZO", "mostly8": "MOSTLY8", "mostly16": "MOSTLY16",
        "mostly32": "MOSTLY32", "runlength": "RUNLENGTH", "text255": "TEXT255", "text32k": "TEXT32K",
        "zstd": "ZSTD",
    }  # fmt: skip
    """format_encoding() names RAW 'none'; ENCODE AUTO is a table's, not a column's."""

    ledger_types: ClassVar[dict[str, str]] = {"int": "BIGINT", "text": "VARCHAR(65535)", "timestamp": "TIMESTAMP"}

    def layout_warnings(self, results: Results, slices: int | None = None) -> tuple[str, ...]:
        sizes = [f.size for f in results.files]
        warnings = []
        small = [n for n in sizes if n < COPY_MIN_FILE]
        if len(small) >= MANY_SMALL_FILES:
            warnings.append(
                f"{len(small):,} of the results' files are under 1 MB ({file_sizes(sizes)}): COPY's cost per "
                "file dominates; AWS advises files of 1 MB to 1 GB after compression (1-125 MB ideal)"
            )
        fmt = results.format
        if fmt in COPY_SPLIT_FORMATS:
            unsplit = [n for n in sizes if n < COPY_SPLITS_FROM]
            why = f"{SHORT_FORMAT_NAMES[fmt]} files under 128 MB"
        else:
            unsplit = sizes
            why = f"{SHORT_FORMAT_NAMES[fmt]} files of any size"
            big = [n for n in sizes if n > COPY_IDEAL_MAX_FILE]
            if big:
                warnings.append(
                    f"{len(big):,} of the results' files are over 125 MB (largest {human_bytes(max(big))}): COPY "
                    f"does not split {SHORT_FORMAT_NAMES[fmt]} files, one slice reads each; "
                    "AWS advises 1-125 MB after compression"
                )
        have = slices or MIN_SLICES
        known = f"the cluster's {have} slices" if slices else f"{have} slices (the fewest a cluster has)"
        worth_spreading = sum(unsplit) >= have * COPY_MIN_FILE
        if len(unsplit) == len(sizes) and worth_spreading:
            rounds = -(-len(sizes) // have)  # COPY gives each slice one file at a time
            if len(sizes) < have:
                warnings.append(
                    f"{file_sizes(sizes)} for {known}: COPY does not split {why}, so at most "
                    f"{len(sizes)} slice(s) load; split the results into a multiple of the slices"
                )
            elif slices and rounds / (len(sizes) / have) >= SLICE_ROUNDS_WASTE:
                warnings.append(
                    f"{file_sizes(sizes)} for {known}: not a multiple of the slices, so COPY's last round "
                    f"loads {len(sizes) % have} file(s) while {have - len(sizes) % have} slice(s) wait; "
                    "AWS advises a file count that is a multiple of the slices"
                )
        return tuple(warnings)

    def refused_values(self, results: Results) -> str | None:
        # Redshift's COPY loads a quoted "" as NULL as it does an empty field (see COPY_FORMAT).
        empty = [self.fold(c.name) for c in results.columns if c.empty] if results.format == "csv" else []
        if not empty:
            return None
        return (
            f'column {empty[0]}: the CSV sample holds an empty string (a quoted ""), which COPY loads as NULL '
            "(Redshift reads an empty CSV field as NULL, quoted or not)"
            + (f"; so do {', '.join(empty[1:])}" if len(empty) > 1 else "")
            + ": have the job write Parquet, JSON or Avro to keep empty strings"
        )

    def value_notes(self, results: Results) -> tuple[str, ...]:
        if results.format != "csv":
            return ()
        return (
            "CSV: an empty field is NULL, quoted or not (COPY NULL AS ''); the text \\N loads as text; an empty "
            "string beyond the sampled rows would load as NULL",
        )

    def escape_string(self, value: str) -> str:
        # Redshift reads backslashes in literals as escapes; the publisher writes none.
        if "\\" in value:
            raise ValueError(f"backslash in a value written to Redshift: {value!r}")
        return value.replace("'", "''")

    def unwritable_text(self, value: str) -> str | None:
        if "\\" in value:
            return "holds a backslash, which Redshift reads as an escape in a string literal"
        return super().unwritable_text(value)

    def create_table(
        self,
        relation: Relation,
        columns: tuple[ColumnDef, ...],
        *,
        partitioned_by: tuple[ColumnDef, ...] = (),
        layout: Layout = NO_LAYOUT,
        kept: TableFacts = NO_FACTS,
        comment: str | None = None,
    ) -> str:
        assert not partitioned_by, "the spec schema refuses partitions on Redshift"
        assert comment is None, "Redshift's CREATE TABLE takes no comment: COMMENT ON follows it"
        cols = ",\n".join(self.column_definitions(columns, kept))
        keys = []
        if layout.dist_style:
            keys.append(f"DISTSTYLE {layout.dist_style}")
        if layout.dist_key:
            keys.append(f"DISTKEY ({self.quote(layout.dist_key)})")
        if layout.sort_keys:
            keys.append(f"SORTKEY ({', '.join(self.quote(k) for k in layout.sort_keys)})")
        attributes = "".join(f"\n{k}" for k in keys)
        return f"CREATE TABLE {self.table(relation)} (\n{cols}\n){attributes}"

    def column_encoding(self, facts: ColumnFacts) -> str:
        return "" if facts.encoding is None else f" ENCODE {self.encoding_keywords[facts.encoding]}"

    def default_encoding(self, sql_type: str, *, sort_key: bool) -> str | None:
        """The encoding (as format_encoding names it) a column gets without ENCODE; None: unknown."""
        name = sql_type.strip().upper().split("(")[0]
        if sort_key or name in RAW_TYPES:
            return "none"
        return "az64" if name in AZ64_TYPES else "lzo" if name in LZO_TYPES else None

    def column_type(self, arrow_type: Any, column: str) -> str:
        return types.redshift_type(arrow_type, column=column)

    def normalize_type(self, reported: str) -> str:
        return types.normalize_redshift_type(reported)

    def loads_into(self, result_type: str, table_type: str) -> bool:
        return types.redshift_loads_into(result_type, table_type)

    def needs_cast(self, result_type: str, table_type: str) -> bool:
        """As the base, except that a string going into a character column is never CAST:
        CAST to a shorter VARCHAR or CHAR cuts the value short without a word, where the
        INSERT's own conversion refuses a value too long for the column (value too long
        for type character varying(n)). Other casts only widen, or are what columnTypes asked."""
        return result_type != table_type and not (_character(result_type) and _character(table_type))

    def manifests(self, spec: Spec, results: Results) -> S3Uri:
        """The prefix of the spec's COPY manifests: the connection's manifestPrefix, else
        MANIFESTS under the results' bucket, in a folder of the connection's."""
        configured = spec.connection.settings_of(RedshiftSettings).manifest_prefix
        if configured:
            return S3Uri.parse(configured)
        return S3Uri(S3Uri.parse(results.location).bucket, f"{MANIFESTS}{spec.connection.name}/")

    def manifests_of(self, spec: Spec, results: Results) -> str:
        """What every COPY manifest of the spec's publication starts with, whatever its plan
        time: what the next plan lists to find those an interrupted apply left."""
        who = spec.id
        key = f"{who.connection_id}/{who.database}/{who.table}/{who.action}/{who.job_group}/{who.flow_node_id}"
        digest = hashlib.sha256(key.encode()).hexdigest()[:12]
        table = who.table.replace(".", "_")
        return str(self.manifests(spec, results).join(f"{who.job_group}_{who.flow_node_id}_{table}_{digest}_"))

    def manifest_uri(self, spec: Spec, results: Results, stamp: str) -> str:
        # Never inside a results prefix: planning refuses that (planner._check_writes).
        return f"{self.manifests_of(spec, results)}{stamp}.json"

    def load_source(self, spec: Spec, results: Results, staging: Relation, stamp: str) -> LoadSource:
        # COPY FROM 's3://prefix' loads every key that starts with the prefix; a manifest
        # names exactly the result files. content_length is required for Parquet.
        entries = [{"url": f.uri, "mandatory": True, "meta": {"content_length": f.size}} for f in results.files]
        body = json.dumps({"entries": entries}, indent=2)
        uri = self.manifest_uri(spec, results, stamp)
        columns = tuple(ColumnDef(self.fold(c.name), self._source_type(spec, c.name, c.type)) for c in results.columns)
        steps: tuple[Step, ...] = (
            PutObject(uri, body, f"write the COPY manifest listing the {len(entries)} result file(s)"),
        )
        tidy: tuple[Step, ...] = (DeleteObject(uri, "delete the manifest (the result files stay)"),)
        return LoadSource(steps, uri, tidy, columns)

    def _source_type(self, spec: Spec, name: str, arrow_type: Any) -> str:
        """The type COPY loads a result column as. CSV and JSON hold text, which COPY
        converts straight into the column's type: there the spec's columnTypes apply (the
        inferred type is a guess from a sample, and a text timestamp inferred with
        nanoseconds, or a decimal inferred as a float, is no reason to refuse or to convert
        twice). Parquet and Avro columns have the types their files say."""
        override = spec.column_types.get(self.fold(name)) if spec.input_format in TEXT_FORMATS else None
        return override or self.column_type(arrow_type, name)

    def credentials(self, spec: Spec) -> tuple[SqlPart, ...]:
        """COPY's authorization clause; secrets are parameters, filled in only when it runs."""
        role = spec.connection.settings_of(RedshiftSettings).iam_role
        if role:
            return (f"IAM_ROLE {self.literal(role)}",)
        s3 = spec.results_connection.s3 if spec.results_connection else None
        key = s3.access_key_id if s3 else None
        secret = s3.secret_access_key if s3 else None
        # publisher.yaml's validation guarantees iamRole or both keys (inputs/config.py).
        assert key is not None and secret is not None, "a redshift connection without credentials"
        clause: list[SqlPart] = [
            "ACCESS_KEY_ID ",
            Param("secret", key.env),
            " SECRET_ACCESS_KEY ",
            Param("secret", secret.env),
        ]
        token = s3.session_token if s3 else None
        if token is not None:
            clause += [" SESSION_TOKEN ", Param("secret", token.env)]
        return tuple(clause)

    def copy(self, into: str, columns: tuple[ColumnDef, ...], manifest: str, spec: Spec) -> Statement:
        """COPY into ``into`` (a rendered table name) from the manifest."""
        auth = self.credentials(spec)
        options = [COPY_FORMAT[spec.input_format], "MANIFEST"]
        if spec.input_format in COLUMNAR_FORMATS and any(c.type == "SUPER" for c in columns):
            # Nested Parquet columns load into SUPER only as JSON text.
            options.append("SERIALIZETOJSON")
        region = spec.connection.settings_of(RedshiftSettings).region
        if region:  # refused with Parquet at validation (TargetRules.region_refused_formats)
            options.append(f"REGION {self.literal(region)}")
        names = ", ".join(self.quote(c.name) for c in columns)
        head = f"COPY {into} ({names})\nFROM {self.literal(manifest)}\n"
        return Statement((head, *auth, f"\n{' '.join(options)}"), "load the manifest's files (COPY, in the engine)")

    def load_rows(self, into: str, source: LoadSource, spec: Spec, rows: int | None) -> tuple[Step, ...]:
        copy = self.copy(into, source.columns, source.reference, spec)
        if rows is None:
            return (copy,)
        # Redshift reports no row count for COPY (its driver reads none from a server of
        # version 8.0); pg_last_copy_count() is AWS's documented way, in the same session.
        copied = RowCheck(
            ("SELECT pg_last_copy_count()",),
            "check COPY loaded the results' rows",
            checks=("rows",),
            expect=(rows,),
        )
        return (copy, copied)
