"""A local Redshift stand-in: PostgreSQL 15 behind this wire-protocol proxy, with an S3
API server (moto) beside it. Tests only: Redshift itself cannot run here.

    python -m tests.standin.proxy --listen 127.0.0.1:5439 --upstream-port 15432 \\
        --upstream-socket-dir DIR --s3-endpoint http://127.0.0.1:9000 [--tls-cert F --tls-key F]

.ci/services/redshift_standin.sh starts it (with PostgreSQL, bootstrap.sql and moto).

What it reproduces
------------------
* Connecting with the real `redshift_connector`: the startup parameters PostgreSQL
  rejects (client_protocol_version, driver_version, os_version,
  driver_discovery_version, ...) are dropped (only user, database, application_name,
  client_encoding, DateStyle, TimeZone, options, extra_float_digits and search_path
  pass); ParameterStatus reports server_version 8.0.2 as Redshift does; md5 password
  authentication passes through; TLS (the driver's default, ssl=True) when started with
  a certificate (the client must trust its CA, e.g. SSL_CERT_FILE=ca.crt); ssl=False
  works too. Simple and extended query protocol; CancelRequest.
* COPY table [(columns)] FROM 's3://...' (grammar in s3copy.py): run by the proxy,
  reading the objects from the S3 server, streaming them as COPY ... FROM STDIN in the
  client's own session, so it is transactional exactly as on Redshift.
  - without MANIFEST every key starting with the prefix is loaded, as a plain string
    prefix ('data/part' also loads 'data/part-extra.csv' and 'data/partition/x'); an
    empty match is an error ("The specified S3 prefix ... does not exist");
  - MANIFEST loads exactly the listed entries; a missing mandatory entry is an error, a
    missing optional one is skipped; meta.content_length is required with PARQUET and
    must match the object's size when given;
  - credentials: IAM_ROLE 'arn:aws:iam::<12 digits>:role/...' (or a comma-separated
    chain, or DEFAULT), ACCESS_KEY_ID/SECRET_ACCESS_KEY[/SESSION_TOKEN] or CREDENTIALS
    '...'; none, or two kinds, is an error;
  - CSV: columns by position; IGNOREHEADER, DELIMITER, QUOTE, NULL AS (default '\\N'),
    EMPTYASNULL, BLANKSASNULL, TIMEFORMAT/DATEFORMAT 'auto', GZIP, BZIP2; an empty field
    is NULL in a non-character column and '' in CHAR/VARCHAR (unless EMPTYASNULL); a
    record with too few / too many fields fails ("Delimiter not found" / "Extra
    column(s) found");
  - JSON 'auto' / AVRO 'auto': fields matched to column names case-sensitively (Redshift
    column names are lower case), 'auto ignorecase' ignores case; fields without a column
    are ignored, columns without a field are NULL; JSON numbers keep their exact text;
    nested values load as JSON text (into SUPER or VARCHAR); Avro logical types (date,
    timestamp-millis/micros, decimal, uuid) load without loss;
  - PARQUET: columns by position (a different column count is an error); type checks
    in the manner of Redshift's (a Parquet int64 into INTEGER, a double into REAL, a
    string into a number or a number into VARCHAR is "an incompatible Parquet schema";
    widening is allowed; nested types load only into SUPER, or VARCHAR with
    SERIALIZETOJSON); timestamps read as UTC; decimals and dates exact; REGION,
    COMPUPDATE and every data-conversion option refused with Redshift's message;
  - VARCHAR(n)/CHAR(n) hold n bytes of UTF-8 (PostgreSQL counts characters): longer
    values fail with "String length exceeds DDL length";
  - on success an INFO notice "Load into table 'x' completed, N record(s) loaded
    successfully."; on a bad value the error "Load into table 'x' failed.  Check
    'stl_load_errors' system table for details." with a row in stl_load_errors (query,
    session = the upstream backend PID, filename, line_number, colname, type,
    raw_field_value, err_code, err_reason, starttime, ...), written through a separate
    autocommit connection so it survives the client's ROLLBACK;
  - pg_last_copy_id() and pg_last_copy_count() with Redshift's meaning (per session,
    updated once a COPY begins loading, not on a syntax or privilege error; -1 and 0
    before any COPY; count 0 after a failed load). They and the SUPER domain live in
    pg_catalog, so any search_path finds them; stl_load_errors is a table in schema
    redshift_standin, found through the database's default search_path (a session that
    sets its own search_path must keep redshift_standin in it or qualify the name). Its
    CHAR(n) columns come back blank-padded, as on Redshift: trim them.
* TRUNCATE commits the open transaction: inside a transaction block the proxy sends
  COMMIT first, so a later ROLLBACK does not bring the rows back.
* ALTER TABLE target APPEND FROM source [IGNOREEXTRA | FILLTARGET]: refused inside a
  transaction block ("ALTER TABLE APPEND cannot run inside a transaction block", which
  includes redshift_connector's default autocommit=False); outside, moves the rows
  (columns matched by name, identical types required) and empties the source.
* CREATE TABLE ... (columns) [DISTSTYLE AUTO|EVEN|KEY|ALL] [DISTKEY (col)] [[COMPOUND]
  SORTKEY (col, ...)] (table_keys.py): PostgreSQL has no such attributes, so the proxy cuts
  them off, creates the table, and records them by the table's OID in the same transaction
  (they follow a rename, and roll back with the CREATE); pg_class_info (reldiststyle,
  releffectivediststyle: 0 EVEN, 1 KEY, 8 ALL, 10 AUTO) and pg_attribute_info (attisdistkey,
  attsortkeyord) answer from that record. DISTKEY with another DISTSTYLE than KEY, KEY
  without DISTKEY, and a key on a missing column are refused. Column-level DISTKEY/SORTKEY,
  INTERLEAVED SORTKEY and other attributes are refused as not implemented; CREATE
  TABLE AS / LIKE do not carry keys over.
* Column encodings and identity columns in CREATE TABLE (table_keys.py): a column's
  ENCODE <encoding> is cut off and recorded with the keys; an encoding the column's type
  does not take (AWS's "Compression encodings" table) or an unknown one is refused with
  Redshift's message. pg_attribute_info.attencodingtype and pg_catalog.format_encoding()
  answer the encoding given, else the one Redshift documents for a column without ENCODE
  (RAW, named 'none', for sort key columns, BOOLEAN, REAL, DOUBLE PRECISION; AZ64 for
  integers, DECIMAL, DATE, TIMESTAMP[TZ]; LZO for CHAR/VARCHAR; RAW for other types).
  IDENTITY (seed, step) becomes DEFAULT "identity"(0, 0, 'seed,step'::text), the form of
  Redshift's pg_attrdef (whose first two arguments are the table OID and column index);
  values come from one shared sequence (unique and increasing, not seed + n * step).
* Serializable isolation violations, on demand only: after a test inserts (schema, table, N)
  into redshift_standin.serializable_violations, each of the next N COMMITs (or END) of a
  transaction that wrote or locked that table (its own pg_locks) is rolled back and fails as
  Redshift's does: SQLSTATE XX000, message "1023", detail "Serializable isolation violation
  on table - <table oid>, transactions forming the cycle are: ... (pid:...)"; the session is
  then outside a transaction. The count lives outside the client's transaction.
* Late-binding views (redshift_ddl.py, bootstrap.sql): CREATE [OR REPLACE] VIEW name [(columns)]
  AS query WITH NO SCHEMA BINDING becomes a view over redshift_standin.late_binding_view('<the
  query> WITH NO SCHEMA BINDING'), which runs the query anew at each read: no pg_depend row names
  the tables it reads, so they can be dropped or renamed; it reads whatever table has the name
  when queried, and fails (42P01, relation "s.t" does not exist) while none has; a query waiting
  for a swap's COMMIT reads the new table. pg_views.definition shows the query with WITH NO
  SCHEMA BINDING; pg_get_late_binding_view_cols() lists the view's columns (AWS's five fields).
  A name after FROM or JOIN that is not schema-qualified is refused, as on Redshift.
* Roles: PostgreSQL roles stand in for Redshift's users (LOGIN), groups (NOLOGIN) and roles
  (NOLOGIN, recorded in redshift_standin.roles; bootstrap.sql makes standin_analysts, with the
  publisher's user as member, and standin_auditors). GRANT/REVOKE ... TO/FROM ROLE r and
  GRANT/REVOKE ROLE r TO/FROM x run with the ROLE keyword dropped. svv_relation_privileges,
  svv_roles and svv_user_grants have AWS's columns and types, answer from pg_class.relacl and
  pg_auth_members, and show a regular user only the identities it has (itself, its roles and
  groups, PUBLIC), as AWS documents.
* Identifier case (identifier_case.py): quoted identifiers fold to lower case (ASCII letters)
  as on Redshift by default, user names excepted; with SET enable_case_sensitive_identifier TO
  true (session, SET LOCAL, or ALTER USER/DATABASE ... SET) quoted names keep their case.
  SHOW enable_case_sensitive_identifier answers 'on' or 'off'; a value not a Boolean is refused.
  AWS: https://docs.aws.amazon.com/redshift/latest/dg/r_enable_case_sensitive_identifier.html
* STV_SLICES (bootstrap.sql): Redshift's columns (node, slice, localslice, type), one row per
  slice, as many as the start script is given (PUBLISHER_REDSHIFT_SLICES, default 4), readable
  by every user, read-only; found through the default search_path, as stl_load_errors is.
* Column types (event trigger in bootstrap.sql): SUPER (a domain over jsonb), SMALLINT,
  INTEGER, BIGINT, DECIMAL(p<=38,s), REAL, DOUBLE PRECISION, BOOLEAN, CHAR(<=4096),
  VARCHAR(<=65535), DATE, TIMESTAMP, TIMESTAMPTZ, TIME, TIMETZ; other types (jsonb,
  arrays, uuid, bytea, ...) are refused; TEXT and VARCHAR without length become
  VARCHAR(256), NUMERIC without precision NUMERIC(18,0), as on Redshift.
* COPY FROM STDIN, COPY TO and COPY without FORMAT are refused (Redshift has no STDIN/TO;
  its default pipe format is not implemented). Options the stand-in does not implement
  (MAXERROR, ACCEPTINVCHARS, TRUNCATECOLUMNS, FILLRECORD, ESCAPE, REMOVEQUOTES, ZSTD,
  jsonpaths, ...) are refused, never ignored. COMPUPDATE and STATUPDATE are accepted as
  no-ops with CSV/JSON/AVRO (they change no data); STATUPDATE also with PARQUET.

What it does NOT reproduce
--------------------------
* Anything of Redshift's SQL dialect beyond the above: PostgreSQL 15 answers. ENCODE AUTO
  (the table attribute), ALTER TABLE ... ENCODE, GENERATED BY DEFAULT AS IDENTITY, EXPLICIT_IDS,
  GETDATE(), UNLOAD, LISTAGG, ... fail or differ; attencodingtype's numbers are the
  stand-in's own; an explicit value for an IDENTITY column is accepted (Redshift refuses
  it without EXPLICIT_IDS); what ENCODE AUTO later changes on a cluster never changes here;
  PostgreSQL-only syntax is accepted. version() and SHOW server_version report
  PostgreSQL; information_schema.columns shows a SUPER column's type as jsonb (with
  domain_name super); RowDescription gives SUPER columns jsonb's OID.
* Late-binding views, where they differ: the view's columns and their types are fixed when it
  is created (Redshift derives them at each query: a SELECT * view shows a renamed or added
  column there, here the query fails or the column is not shown), so the relations it reads
  must exist at CREATE VIEW (Redshift accepts missing ones); it reads with the querying
  user's privileges (Redshift: the view owner's); the qualification check reads FROM and JOIN
  only (a table after a comma in FROM is not checked); pg_get_viewdef shows the stand-in's
  wrapper around the query.
* Identifier case, where it differs: a quoted name inside a string (to_regclass('"T"'), a
  late-binding view's stored query is folded before it is stored) is PostgreSQL's; groups' and
  roles' quoted names fold like tables' (AWS names only user names as kept); a simple query of
  several statements that touches the setting or has quoted capitals runs statement by statement.
* Constraints: PostgreSQL enforces PRIMARY KEY/UNIQUE/FOREIGN KEY; Redshift does not.
* Isolation: PostgreSQL's READ COMMITTED, not Redshift's serializable isolation; no
  serialization errors (1023) between concurrent sessions, other than those a test asks for
  (above), and only at COMMIT (Redshift may also fail an earlier statement with it).
* The binary transfer protocol: the proxy sends no server_protocol_version, so the
  driver uses the text protocol (values reach Python the same way).
* COPY's CommandComplete is PostgreSQL's "COPY n" (at server version 8.0.2 the driver
  reports rowcount -1 for COPY, as with Redshift).
* CSV details: IGNOREHEADER skips records (the same as lines unless a header has quoted
  newlines); EMPTYASNULL treats a quoted "" like an empty field.
* The Parquet type rules are the stand-in's reading of Redshift's, not a copy of them.
* Load error details: err_reason is PostgreSQL's message (or the stand-in's for the
  checks above), err_code approximates Redshift's codes, raw_field_value is cut by
  PostgreSQL at about 100 bytes; for Parquet and Avro line_number is the record's
  position in its file; only the first error of a load is recorded (no MAXERROR).
* TIMEFORMAT/DATEFORMAT accept only 'auto'; Redshift's default (non-auto) timestamp
  format is not enforced: PostgreSQL's input parsing applies.
* REGION is accepted (with CSV/JSON/AVRO) but not checked against the bucket's region.
* Credentials are checked for shape, not authority: any key and any role ARN of the
  right form can read any bucket.
* S3 listing and reading are the moto server's; no eventual consistency, no throttling.
* A client batch mixing the statements the proxy runs (COPY, TRUNCATE, ALTER TABLE
  APPEND) with others before one Sync is split at the proxy's statement (it sends its
  own Sync there); a multi-statement simple query containing them runs statement by
  statement, not as one implicit transaction. redshift_connector never does either.
* Roles, where they differ: CREATE ROLE through the proxy is PostgreSQL's (the publisher's user
  may not create roles; tests use bootstrap.sql's); a grant to a role is also in relacl (on
  Redshift only svv_relation_privileges has it) and pg_group lists roles as groups (svv_roles
  tells them apart); role_owner is the role's creator (postgres); ACCESS SYSTEM TABLE and SYSLOG
  ACCESS UNRESTRICTED (which widen what a user sees) and Redshift's DROP privilege do not exist.
* System tables other than stl_load_errors and stv_slices (stl_query, svl_*, other stv_*,
  pg_table_def, svv_table_info, ...) do not exist; WLM, concurrency scaling, spectrum,
  datashares do not exist.
* Per-user visibility of stl_load_errors and stv_slices rows: every user sees every row.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import datetime as dt
import json
import logging
import re
import select
import signal
import socket
import ssl
import struct
import sys
import threading
import traceback
from dataclasses import dataclass, field
from typing import Any

import botocore.exceptions
import psycopg

from . import wire
from .identifier_case import (
    READ_SQL,
    CaseError,
    fold_quoted,
    has_quoted_capitals,
    is_on,
    may_change_setting,
    mentions_setting,
    rewrite_setting,
)
from .loaders import CopyAbort, Loader, LoadError, TargetColumn, resolve_objects, s3_client
from .redshift_ddl import DdlError, parse_late_binding_view, rewrite_role_grant
from .s3copy import CopyError, CopySpec, parse_copy
from .sqlscan import classify, qualified, quote_ident, quote_literal, split_statements, take_qualified_name, tokenize
from .table_keys import KeysError, strip_keys

log = logging.getLogger("redshift-standin")

SERVER_VERSION = "8.0.2"
# Startup parameters PostgreSQL understands; redshift_connector sends more, which
# PostgreSQL would refuse with FATAL 42704.
STARTUP_PARAMETERS = {
    "user",
    "database",
    "application_name",
    "client_encoding",
    "DateStyle",
    "TimeZone",
    "options",
    "extra_float_digits",
    "search_path",
}
LOAD_FAILED = "Load into table '{table}' failed.  Check 'stl_load_errors' system table for details."
LOAD_DONE = "Load into table '{table}' completed, {rows} record(s) loaded successfully."
IN_TRANSACTION = b"T"
FAILED_TRANSACTION = b"E"
IDLE = b"I"
LATE_BINDING_PROBE = "pg_temp.redshift_standin_late_binding_probe"


@dataclass(frozen=True)
class Config:
    upstream_socket: str  # path of PostgreSQL's Unix socket
    database: str
    s3_endpoint: str
    recorder_user: str
    tls: ssl.SSLContext | None


@dataclass
class Outcome:
    """What PostgreSQL answered to one simple query the proxy sent on its own."""

    rows: list[list[str | None]] = field(default_factory=list)
    tag: str = ""
    error: wire.Fields | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


# --- bookkeeping through a connection of our own ------------------------------------------


class Recorder:
    """Writes copy_log and stl_load_errors through an autocommit connection, so that rows
    survive the client's ROLLBACK (Redshift's system tables are not transactional)."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.lock = threading.Lock()
        self.conn: psycopg.Connection | None = None

    def _execute(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        with self.lock:
            for attempt in (1, 2):
                try:
                    if self.conn is None or self.conn.closed:
                        socket_dir, _, port = self.config.upstream_socket.rpartition("/.s.PGSQL.")
                        self.conn = psycopg.connect(
                            host=socket_dir,
                            port=int(port),
                            dbname=self.config.database,
                            user=self.config.recorder_user,
                            autocommit=True,
                            application_name="redshift-standin-recorder",
                        )
                    cursor = self.conn.execute(sql, params)
                    return cursor.fetchall() if cursor.description else []
                except psycopg.OperationalError:
                    self.conn = None
                    if attempt == 2:
                        raise
        return []

    def take_violation(self, tables: list[tuple[str | None, str | None]]) -> int | None:
        """Counts down one serializable violation asked for on one of ``tables`` (schema,
        name); returns that table's id (its OID), or None when none is asked for."""
        names = [f"{schema}.{name}" for schema, name in tables]
        rows = self._execute(
            "UPDATE redshift_standin.serializable_violations v SET remaining = remaining - 1"
            " WHERE v.ctid = (SELECT ctid FROM redshift_standin.serializable_violations"
            "   WHERE remaining > 0 AND table_schema || '.' || table_name = ANY(%s) LIMIT 1 FOR UPDATE)"
            " RETURNING (SELECT c.oid::integer FROM pg_class c JOIN pg_namespace n ON c.relnamespace = n.oid"
            "   WHERE n.nspname = v.table_schema AND c.relname = v.table_name)",
            (names,),
        )
        return int(rows[0][0] or 0) if rows else None

    def next_query_id(self) -> int:
        return int(self._execute("SELECT nextval('redshift_standin.query_id_seq')::integer", ())[0][0])

    def backend_start(self, pid: int) -> dt.datetime:
        rows = self._execute("SELECT backend_start FROM pg_stat_activity WHERE pid = %s", (pid,))
        return rows[0][0] if rows else dt.datetime.fromtimestamp(0, dt.UTC)

    def log_copy(
        self,
        query_id: int,
        pid: int,
        started: dt.datetime,
        table: str,
        source: str,
        rows: int,
        succeeded: bool,
        session_start: dt.datetime,
    ) -> None:
        self._execute(
            "INSERT INTO redshift_standin.copy_log (query, session, session_start, tbl, source, rows_loaded,"
            " succeeded, starttime, endtime) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (query_id, pid, session_start, table, source, rows, succeeded, started, utcnow()),
        )

    def log_error(
        self,
        query_id: int,
        pid: int,
        started: dt.datetime,
        table_oid: int,
        error: LoadError,
        column: TargetColumn | None,
    ) -> None:
        col_length = ""
        if column is not None and column.max_bytes is not None:
            col_length = str(column.max_bytes)
        self._execute(
            "INSERT INTO redshift_standin.stl_load_errors (userid, slice, tbl, starttime, session, query,"
            " filename, line_number, colname, type, col_length, position, raw_line, raw_field_value,"
            " err_code, err_reason, is_partial, start_offset)"
            " VALUES (100, 0, %s, %s, %s, %s, %s, %s, %s, %s, %s, 0, %s, %s, %s, %s, 0, 0)",
            (
                table_oid,
                started,
                pid,
                query_id,
                error.uri[:256],
                error.line,
                error.colname[:127],
                (error.col_type or (column.short_type if column else ""))[:10],
                col_length,
                error.raw_line[:1024],
                error.raw_value[:1024],
                error.code,
                error.reason[:100],
            ),
        )


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


# --- one client connection ------------------------------------------------------------------


class Session:
    """One client connection and its upstream PostgreSQL session.

    Messages are relayed as they come, except the statements the proxy runs itself
    (COPY, TRUNCATE, ALTER TABLE APPEND): for those it answers Parse/Bind/Describe/Close
    itself and, at Execute, takes the upstream session over. Before any answer of its own
    it makes sure every earlier upstream answer has been relayed (a "barrier": if
    extended-protocol messages are outstanding it sends a Sync of its own and swallows the
    ReadyForQuery it causes), so the client sees answers in order.
    """

    def __init__(self, client: socket.socket, config: Config, recorder: Recorder) -> None:
        self.client = client
        self.config = config
        self.recorder = recorder
        self.client_in = wire.MessageReader(client)
        self.up: socket.socket | None = None
        self.up_in: wire.MessageReader | None = None
        self.to_client = bytearray()
        self.to_up = bytearray()
        self.status = IDLE
        self.backend_pid = 0
        self._backend_start: dt.datetime | None = None
        self.special_statements: dict[bytes, tuple[str, str]] = {}
        self.special_portals: dict[bytes, tuple[str, str]] = {}
        # One entry per ReadyForQuery expected from upstream: True when the proxy's own
        # Sync caused it (swallowed), False when the client's did (relayed).
        self.expected_ready: collections.deque[bool] = collections.deque()
        self.up_dirty = False  # extended-protocol messages sent upstream since the last Sync
        self.skip_until_sync = False  # an error ended the client's batch: drop until Sync
        self.error_since_ready = False
        self.last_segment_failed = False
        # enable_case_sensitive_identifier as last read upstream (None: not read since it may
        # have changed); touched: a statement of this session named it (identifier_case.py).
        self.case_sensitive: bool | None = None
        self.case_touched = False

    # lifecycle -----------------------------------------------------------------------

    def run(self) -> None:
        try:
            if self.start():
                self.serve()
        except (wire.ConnectionClosed, ConnectionError, ssl.SSLError, OSError):
            pass
        except Exception:  # noqa: BLE001 - a bug here must not kill the server
            log.error("session failed:\n%s", traceback.format_exc())
        finally:
            for sock in (self.client, self.up):
                if sock is not None:
                    with contextlib.suppress(OSError):
                        sock.close()

    def start(self) -> bool:
        """TLS negotiation and the startup packet; False when the connection is done."""
        while True:
            body = self.client_in.read_startup()
            code, params = wire.parse_startup(body)
            if code == wire.SSL_REQUEST:
                if self.config.tls is not None and not self.client_in.leftover():
                    self.client.sendall(b"S")
                    self.client = self.config.tls.wrap_socket(self.client, server_side=True)
                    self.client_in = wire.MessageReader(self.client)
                else:
                    self.client.sendall(b"N")
                continue
            if code == wire.GSSENC_REQUEST:
                self.client.sendall(b"N")
                continue
            if code == wire.CANCEL_REQUEST:
                self.forward_cancel(body)
                return False
            if code != wire.PROTOCOL_3:
                self.client.sendall(
                    wire.error_response(
                        wire.error_fields(
                            "08P01", f"unsupported frontend protocol {code >> 16}.{code & 0xFFFF}", severity="FATAL"
                        )
                    )
                )
                return False
            break
        dropped = sorted(set(params) - STARTUP_PARAMETERS)
        if dropped:
            log.debug("dropping startup parameters %s", dropped)
        self.up = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            self.up.connect(self.config.upstream_socket)
        except OSError as exc:
            self.client.sendall(
                wire.error_response(
                    wire.error_fields("08006", f"the stand-in cannot reach PostgreSQL: {exc}", severity="FATAL")
                )
            )
            return False
        self.up_in = wire.MessageReader(self.up)
        self.up.sendall(wire.build_startup({k: v for k, v in params.items() if k in STARTUP_PARAMETERS}))
        return True

    def forward_cancel(self, body: bytes) -> None:
        # The request carries PostgreSQL's own backend PID and key (relayed unchanged at
        # startup), so it can go upstream as it is.
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as up:
            up.connect(self.config.upstream_socket)
            up.sendall(struct.pack("!i", len(body) + 4) + body)
            up.recv(1)

    def serve(self) -> None:
        assert self.up is not None and self.up_in is not None
        while True:
            self.flush()
            if not (self.up_in.has_message() or self.client_in.has_message() or wire.pending_bytes(self.client)):
                readable, _, _ = select.select([self.client, self.up], [], [])
                if self.up in readable:
                    self.up_in.fill()
                if self.client in readable:
                    self.client_in.fill()
            elif wire.pending_bytes(self.client) and not self.client_in.has_message():
                self.client_in.fill()
            while (message := self.up_in.next_raw()) is not None:
                self.from_upstream(*message)
            # One client message at a time: its handler may need the upstream session.
            message = self.client_in.next_raw()
            if message is not None:
                self.from_client(*message)

    def flush(self) -> None:
        if self.to_up:
            self.up.sendall(self.to_up)  # type: ignore[union-attr]
            self.to_up.clear()
        if self.to_client:
            self.client.sendall(self.to_client)
            self.to_client.clear()

    # upstream -> client ------------------------------------------------------------------

    def from_upstream(self, kind: bytes, raw: bytes) -> None:
        if kind == b"Z":
            self.status = raw[5:6]
            injected = self.expected_ready.popleft() if self.expected_ready else False
            self.last_segment_failed = self.error_since_ready
            self.error_since_ready = False
            if injected:
                return
        elif kind == b"E":
            self.error_since_ready = True
        elif kind == b"S":
            name = raw[5:].split(b"\0", 1)[0]
            if name == b"server_version":
                # Redshift reports 8.0.2; redshift_connector cannot parse PostgreSQL's.
                raw = wire.parameter_status("server_version", SERVER_VERSION)
        elif kind == b"K":
            (self.backend_pid,) = struct.unpack_from("!i", raw, 5)
        self.to_client += raw

    # client -> upstream ------------------------------------------------------------------

    def from_client(self, kind: bytes, raw: bytes) -> None:
        if kind == b"X":
            self.to_up += raw
            self.flush()
            raise wire.ConnectionClosed()
        if kind == b"S":
            self.skip_until_sync = False
            self.up_dirty = False
            self.expected_ready.append(False)
            self.to_up += raw
            return
        if self.skip_until_sync:
            return  # as PostgreSQL does after an error in an extended-protocol batch
        handler = {
            b"Q": self.on_query,
            b"P": self.on_parse,
            b"B": self.on_bind,
            b"D": self.on_describe,
            b"E": self.on_execute,
            b"C": self.on_close,
        }.get(kind)
        if handler is not None:
            handler(raw)
            return
        if kind == b"F":  # FunctionCall ends with a ReadyForQuery
            self.expected_ready.append(False)
        self.to_up += raw

    def forward_extended(self, raw: bytes) -> None:
        self.to_up += raw
        self.up_dirty = True

    def on_query(self, raw: bytes) -> None:
        sql = raw[5:-1].decode("utf-8", "replace")
        if mentions_setting(sql) or has_quoted_capitals(sql):
            statements = split_statements(sql)
            if len(statements) > 1:
                # Each statement's names fold under the setting as the statements before it left it.
                self.run_one_by_one(statements)
                return
            redshift = self.as_redshift(sql)
            if redshift is None:
                return  # cannot happen in the simple protocol (no batch to fail): nothing to answer
            if redshift != sql:
                sql, raw = redshift, wire.query(redshift)
        statements = split_statements(sql) if _could_be_special(sql) else []
        if not any(classify(statement) for statement in statements):
            self.expected_ready.append(False)
            self.to_up += raw
            return
        self.barrier()
        for statement in statements:
            kind = classify(statement)
            ok = self.run_special(kind, statement) if kind else self.run_relayed(statement)
            if not ok:
                break
        self.to_client += wire.ready_for_query(self.status)

    def on_parse(self, raw: bytes) -> None:
        name, sql = wire.parse_parse(raw[5:])
        if mentions_setting(sql) or has_quoted_capitals(sql):
            redshift = self.as_redshift(sql)
            if redshift is None:
                return  # the client's batch failed before it: dropped, as PostgreSQL would
            if redshift != sql:
                raw = wire.with_parse_query(raw, redshift)
                sql = redshift
        kind = classify(sql)
        if kind is None:
            self.special_statements.pop(name, None)
            self.forward_extended(raw)
            return
        if self.barrier():
            self.special_statements[name] = (kind, sql)
            self.to_client += wire.PARSE_COMPLETE

    def on_bind(self, raw: bytes) -> None:
        portal, statement = wire.parse_bind(raw[5:])
        special = self.special_statements.get(statement)
        if special is None:
            self.special_portals.pop(portal, None)
            self.forward_extended(raw)
            return
        if self.barrier():
            self.special_portals[portal] = special
            self.to_client += wire.BIND_COMPLETE

    def on_describe(self, raw: bytes) -> None:
        target, name = wire.parse_describe_or_close(raw[5:])
        specials = self.special_statements if target == b"S" else self.special_portals
        if name not in specials:
            self.forward_extended(raw)
            return
        if self.barrier():
            # No parameters, no result columns: what Redshift describes for these.
            self.to_client += (wire.NO_PARAMETERS if target == b"S" else b"") + wire.NO_DATA

    def on_execute(self, raw: bytes) -> None:
        portal = wire.parse_execute(raw[5:])
        special = self.special_portals.get(portal)
        if special is None:
            self.forward_extended(raw)
            return
        if self.barrier() and not self.run_special(*special):
            self.skip_until_sync = True

    def on_close(self, raw: bytes) -> None:
        target, name = wire.parse_describe_or_close(raw[5:])
        specials = self.special_statements if target == b"S" else self.special_portals
        if name not in specials:
            self.forward_extended(raw)
            return
        if self.barrier():
            del specials[name]
            self.to_client += wire.CLOSE_COMPLETE

    # identifier case --------------------------------------------------------------------------

    def as_redshift(self, sql: str) -> str | None:
        """One statement as PostgreSQL must run it to act as Redshift on identifier case: the
        setting's statements rewritten, quoted names folded unless the setting is on. None when
        the client's batch failed before it (then nothing is answered)."""
        if mentions_setting(sql):
            self.case_touched = True
            self.case_sensitive = None
            try:
                return rewrite_setting(sql)
            except CaseError as exc:
                code, message = quote_literal(exc.sqlstate), quote_literal(exc.message)
                return f"SELECT redshift_standin.raise_error({code}, {message})"
        if self.case_touched and may_change_setting(sql):
            self.case_sensitive = None
        if not has_quoted_capitals(sql):
            return sql
        keep = self.keeps_case()
        if keep is None:
            return None
        return sql if keep else fold_quoted(sql)

    def keeps_case(self) -> bool | None:
        """Whether the session keeps quoted names' case, read upstream when not known."""
        if self.case_sensitive is None:
            if not self.barrier():
                return None
            outcome = self.execute(READ_SQL)
            if not outcome.ok:
                return False  # an aborted transaction: the statement fails whatever its names
            self.case_sensitive = is_on(outcome.rows[0][0] if outcome.rows else None)
        return self.case_sensitive

    def run_one_by_one(self, statements: list[str]) -> None:
        """A simple query of several statements, each folded as the ones before it left the
        setting, each run on its own (not as one implicit transaction)."""
        self.barrier()
        for statement in statements:
            redshift = self.as_redshift(statement)
            assert redshift is not None  # the barrier above left no batch to fail
            kind = classify(redshift)
            ok = self.run_special(kind, redshift) if kind else self.run_relayed(redshift)
            if not ok:
                break
        self.to_client += wire.ready_for_query(self.status)

    # taking the upstream session over --------------------------------------------------------

    def barrier(self) -> bool:
        """Relay every answer still due from upstream; False if the client's current
        batch already failed (then the caller answers nothing, as PostgreSQL would)."""
        if self.skip_until_sync:
            return False
        injected = self.up_dirty
        if injected:
            self.to_up += wire.SYNC
            self.expected_ready.append(True)
            self.up_dirty = False
        self.flush()
        while self.expected_ready:
            self.from_upstream(*self.up_in.read_raw())  # type: ignore[union-attr]
        if injected and self.last_segment_failed:
            self.skip_until_sync = True
            return False
        return True

    def execute(self, sql: str, relay: bool = False) -> Outcome:
        """Run one simple query upstream in the client's session, with the session idle
        (after a barrier). Answers are collected, or relayed to the client if relay."""
        assert self.up is not None and self.up_in is not None
        self.up.sendall(wire.query(sql))
        outcome = Outcome()
        while True:
            kind, raw = self.up_in.read_raw()
            if kind == b"Z":
                self.status = raw[5:6]
                return outcome
            if kind == b"E":
                outcome.error = wire.Fields.parse(raw[5:])
            elif kind == b"D":
                outcome.rows.append(_data_row(raw))
            elif kind == b"C":
                outcome.tag = raw[5:-1].decode()
            if relay and kind != b"Z":
                self.to_client += raw

    def run_relayed(self, sql: str) -> bool:
        return self.execute(sql, relay=True).ok

    def fail(self, sqlstate: str, message: str, detail: str | None = None) -> bool:
        """Raise an error inside the client's session, so that PostgreSQL aborts the
        transaction block as Redshift would, and relay it."""
        detail_sql = quote_literal(detail) if detail else "NULL"
        outcome = self.execute(
            f"SELECT redshift_standin.raise_error({quote_literal(sqlstate)}, {quote_literal(message)}, {detail_sql})"
        )
        fields = outcome.error or wire.error_fields(sqlstate, message, detail)
        self.to_client += wire.error_response(fields.only("SVCMDH"))
        return False

    def send_error(self, fields: wire.Fields) -> bool:
        self.to_client += wire.error_response(fields.only("SVCMDHP"))
        return False

    def run_special(self, kind: str, sql: str) -> bool:
        """Run a statement the proxy implements; the client receives CommandComplete or
        ErrorResponse (never ReadyForQuery). True on success."""
        if kind == "truncate":
            return self.run_truncate(sql)
        if kind == "append":
            return self.run_append(sql)
        if kind == "commit":
            return self.run_commit(sql)
        if kind == "keys":
            return self.run_create_with_keys(sql)
        if kind == "late_binding":
            return self.run_late_binding_view(sql)
        if kind == "role_grant":
            return self.run_relayed(rewrite_role_grant(sql))
        return self.run_copy(sql)

    def run_late_binding_view(self, sql: str) -> bool:
        # A view over redshift_standin.late_binding_view(<its SQL>): no dependency on what it
        # reads, which it reads anew at each query (bootstrap.sql). Its columns and their types are
        # the query's when the view is created, found by creating it as a temporary view first.
        try:
            view = parse_late_binding_view(sql)
        except DdlError as exc:
            return self.fail(exc.sqlstate, exc.message)
        if self.status == FAILED_TRANSACTION:
            return self.fail("25P02", "current transaction is aborted")  # PostgreSQL words it
        own = self.status == IDLE
        if own:
            self.execute("BEGIN")
        probe = self.execute(
            f"CREATE TEMP VIEW {LATE_BINDING_PROBE} AS {view.query};"
            f" SELECT attname, format_type(atttypid, atttypmod) FROM pg_catalog.pg_attribute"
            f" WHERE attrelid = '{LATE_BINDING_PROBE}'::regclass AND attnum > 0 ORDER BY attnum;"
            f" DROP VIEW {LATE_BINDING_PROBE}"
        )
        if not probe.ok:
            if own:
                self.execute("ROLLBACK")
            message = probe.error.get(wire.F_MESSAGE)  # type: ignore[union-attr]
            return self.send_error(
                wire.error_fields(
                    "0A000",
                    "the stand-in creates a late-binding view only when the relations it reads exist (it fixes "
                    f"the view's columns then): {message}",
                )
            )
        names = view.columns if view.columns is not None else [str(r[0]) for r in probe.rows]
        if len(names) != len(probe.rows):
            if own:
                self.execute("ROLLBACK")
            return self.fail("42601", "CREATE VIEW specifies more column names than columns")
        columns = ", ".join(f"{quote_ident(n)} {r[1]}" for n, r in zip(names, probe.rows, strict=True))
        definition = quote_literal(f"{view.query} WITH NO SCHEMA BINDING")
        created = self.execute(
            f"CREATE {'OR REPLACE ' if view.or_replace else ''}VIEW {qualified(view.name)} AS SELECT * FROM "
            f"redshift_standin.late_binding_view({definition}) AS late_binding({columns})"
        )
        if own:
            self.execute("COMMIT" if created.ok else "ROLLBACK")
        if not created.ok:
            return self.send_error(created.error)  # type: ignore[arg-type]
        self.to_client += wire.command_complete("CREATE VIEW")
        return True

    def run_create_with_keys(self, sql: str) -> bool:
        # PostgreSQL has no DISTSTYLE/DISTKEY/SORTKEY: create the table without them and record
        # them in the same transaction, where pg_class_info and pg_attribute_info read them.
        try:
            stripped, keys = strip_keys(sql)
        except KeysError as exc:
            return self.fail(exc.sqlstate, exc.message)
        created = self.execute(stripped)
        if not created.ok:
            return self.send_error(created.error)  # type: ignore[arg-type]
        sorts = ", ".join(quote_literal(k) for k in keys.sort_keys)
        dist = quote_literal(keys.dist_key) if keys.dist_key else "NULL"
        encodings = quote_literal(json.dumps(keys.encodings))
        recorded = self.execute(
            f"SELECT redshift_standin.record_table_keys({quote_literal(qualified(keys.table))}, "
            f"{quote_literal(keys.dist_style)}, {dist}, ARRAY[{sorts}]::name[], {encodings}::jsonb)"
        )
        if not recorded.ok:
            return self.send_error(recorded.error)  # type: ignore[arg-type]
        self.to_client += wire.command_complete("CREATE TABLE")
        return True

    def run_commit(self, sql: str) -> bool:
        # Redshift: a transaction that conflicts with a concurrent one fails (at COMMIT, among
        # other points) with error 1023 and is rolled back; here on demand, for tests.
        if self.status == IN_TRANSACTION:
            locked = self.execute(LOCKED_TABLES_SQL)
            tables = [(r[0], r[1]) for r in locked.rows] if locked.ok else []
            table = self.recorder.take_violation(tables) if tables else None
            if table is not None:
                self.execute("ROLLBACK")
                pid = self.backend_pid
                detail = (
                    f"Serializable isolation violation on table - {table}, transactions forming the cycle "
                    f"are: {pid + 1000}, {pid + 1001} (pid:{pid})"
                )
                return self.send_error(wire.error_fields("XX000", "1023", detail))
        return self.run_relayed(sql)

    def run_truncate(self, sql: str) -> bool:
        # Redshift: TRUNCATE commits the transaction it runs in.
        if self.status == IN_TRANSACTION:
            outcome = self.execute("COMMIT")
            if not outcome.ok:
                return self.send_error(outcome.error)  # type: ignore[arg-type]
        return self.run_relayed(sql)

    def run_append(self, sql: str) -> bool:
        try:
            target, source, mode = parse_append(sql)
        except CopyError as exc:
            return self.fail(exc.sqlstate, exc.message)
        if self.status != IDLE:
            return self.fail("25001", "ALTER TABLE APPEND cannot run inside a transaction block")
        outcome = self.execute(
            f"SELECT redshift_standin.alter_table_append({quote_literal(target)}, "
            f"{quote_literal(source)}, {quote_literal(mode)})"
        )
        if not outcome.ok:
            return self.send_error(outcome.error)  # type: ignore[arg-type]
        self.to_client += wire.command_complete("ALTER TABLE")
        return True

    # COPY --------------------------------------------------------------------------------

    def backend_start(self) -> dt.datetime:
        if self._backend_start is None:
            self._backend_start = self.recorder.backend_start(self.backend_pid)
        return self._backend_start

    def run_copy(self, sql: str) -> bool:
        if self.status == FAILED_TRANSACTION:
            return self.fail("25P02", "current transaction is aborted")  # PostgreSQL words it
        try:
            spec = parse_copy(sql)
        except CopyError as exc:
            return self.fail(exc.sqlstate, exc.message, exc.detail)
        described = self.describe_target(spec)
        if isinstance(described, wire.Fields):
            return self.send_error(described)
        targets, table_oid = described
        # From here on the COPY has begun: pg_last_copy_id() reports it (as on Redshift).
        job = CopyJob(spec, targets, table_oid, self.recorder.next_query_id(), utcnow())
        try:
            s3 = s3_client(self.config.s3_endpoint, spec)
            objects = resolve_objects(s3, spec)
        except CopyError as exc:
            self.log_copy(job, 0, False)
            return self.fail(exc.sqlstate, exc.message, exc.detail)
        except botocore.exceptions.BotoCoreError as exc:
            self.log_copy(job, 0, False)
            return self.fail("XX000", f"S3 error: {exc}")
        return self.stream_copy(job, Loader(s3, spec, objects, targets))

    def describe_target(self, spec: CopySpec) -> tuple[list[TargetColumn], int] | wire.Fields:
        """The target columns, in the client's session (so a table created in the same
        transaction is seen); PostgreSQL's error if the table or a column is unknown."""
        table = quote_literal(qualified(spec.table))
        outcome = self.execute(
            "SELECT a.attname, format_type(a.atttypid, a.atttypmod), bt.typname, bt.typcategory,"
            " (t.oid = 'pg_catalog.super'::regtype)::text, a.atttypmod, a.attrelid::oid"
            " FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_type t ON t.oid = a.atttypid"
            " JOIN pg_catalog.pg_type bt ON bt.oid = CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END"
            f" WHERE a.attrelid = {table}::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum"
        )
        if not outcome.ok:
            return outcome.error  # type: ignore[return-value]
        columns = []
        for row in outcome.rows:
            name, shown, base, category, is_super, typmod, _oid = (value or "" for value in row)
            limit = int(typmod) - 4 if base in ("varchar", "bpchar") and int(typmod) > 4 else None
            columns.append(TargetColumn(name, shown, base, category, is_super == "true", limit))
        table_oid = int(outcome.rows[0][6] or 0) if outcome.rows else 0
        if spec.columns is None:
            return columns, table_oid
        by_name = {c.name: c for c in columns}
        chosen: list[TargetColumn] = []
        for name in spec.columns:
            if name not in by_name or any(c.name == name for c in chosen):
                problem = "does not exist" if name not in by_name else "is specified more than once"
                text = f"column {quote_ident(name)} of relation {quote_ident(spec.table[-1])} {problem}"
                outcome = self.execute(f"SELECT redshift_standin.raise_error('42703', {quote_literal(text)})")
                return (outcome.error or wire.error_fields("42703", text)).only("SVCMDH")
            chosen.append(by_name[name])
        return chosen, table_oid

    def log_copy(self, job: CopyJob, rows: int, succeeded: bool) -> None:
        self.recorder.log_copy(
            job.query_id,
            self.backend_pid,
            job.started,
            ".".join(job.spec.table),
            job.spec.source,
            rows,
            succeeded,
            self.backend_start(),
        )

    def stream_copy(self, job: CopyJob, loader: Loader) -> bool:
        assert self.up is not None and self.up_in is not None
        spec = job.spec
        columns = ", ".join(quote_ident(c.name) for c in job.targets)
        self.up.sendall(wire.query(f"COPY {qualified(spec.table)} ({columns}) FROM STDIN WITH (FORMAT csv)"))
        error = self.await_copy_in()
        if error is not None:  # e.g. no INSERT privilege: Redshift does not count it as a COPY
            return self.send_error(error)
        failure: LoadError | CopyAbort | None = None
        pg_error: wire.Fields | None = None
        chunks = loader.chunks()
        try:
            for chunk in chunks:
                self.up.sendall(wire.copy_data_header(len(chunk)))
                self.up.sendall(chunk)
                pg_error = self.poll_copy_error()
                if pg_error is not None:
                    break  # PostgreSQL rejected a value already: stop reading S3
        except (LoadError, CopyAbort) as exc:
            failure = exc
        except CopyError as exc:
            failure = CopyAbort(exc.message, exc.sqlstate, exc.detail)
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError, OSError) as exc:
            failure = CopyAbort(f"S3 error while reading objects: {exc}")
        except Exception as exc:  # noqa: BLE001 - reported to the client, the session stays usable
            log.error("COPY %s failed:\n%s", job.query_id, traceback.format_exc())
            failure = CopyAbort(f"Redshift stand-in failure while reading objects: {exc!r}")
        finally:
            chunks.close()
        # After an error PostgreSQL drops CopyDone/CopyFail: sending one is harmless.
        self.up.sendall(wire.copy_fail("load aborted by the Redshift stand-in") if failure else wire.COPY_DONE)
        outcome = self.finish_copy(pg_error)
        log.info(
            "COPY %s into %s from %s: %s rows streamed, %s",
            job.query_id,
            ".".join(spec.table),
            spec.source,
            loader.rows,
            "ok" if outcome.ok and not failure else "failed",
        )
        if failure is None and outcome.ok:
            rows = int(outcome.tag.split()[-1]) if outcome.tag.startswith("COPY ") else loader.rows
            self.log_copy(job, rows, True)
            self.to_client += wire.notice_response(
                wire.error_fields("00000", LOAD_DONE.format(table=spec.table[-1], rows=rows), severity="INFO")
            )
            self.to_client += wire.command_complete(outcome.tag or f"COPY {rows}")
            return True
        self.log_copy(job, 0, False)
        if isinstance(failure, CopyAbort):
            return self.send_error(wire.error_fields(failure.sqlstate, failure.message, failure.detail))
        if failure is None:
            failure = load_error_from_postgres(outcome.error, loader, job)  # type: ignore[arg-type]
            if failure is None:  # not a bad value (e.g. permissions): PostgreSQL's own error
                return self.send_error(outcome.error)  # type: ignore[arg-type]
        return self.report_load_error(job, failure)

    def await_copy_in(self) -> wire.Fields | None:
        """Wait for CopyInResponse; PostgreSQL's error (after its ReadyForQuery) if refused."""
        error = None
        while True:
            kind, raw = self.up_in.read_raw()  # type: ignore[union-attr]
            if kind == b"G":
                return None
            if kind == b"E":
                error = wire.Fields.parse(raw[5:])
            elif kind == b"Z":
                self.status = raw[5:6]
                return error

    def poll_copy_error(self) -> wire.Fields | None:
        """PostgreSQL's ErrorResponse if one arrived during COPY IN (without blocking).
        Notices are relayed; the ReadyForQuery after an error is left for finish_copy."""
        assert self.up_in is not None
        while self.up_in.readable_now():
            if not self.up_in.has_message():
                self.up_in.fill()
                continue
            kind, raw = self.up_in.next_raw()  # type: ignore[misc]
            if kind == b"E":
                return wire.Fields.parse(raw[5:])
            if kind == b"N":
                self.to_client += raw
        return None

    def finish_copy(self, error: wire.Fields | None) -> Outcome:
        outcome = Outcome(error=error)
        while True:
            kind, raw = self.up_in.read_raw()  # type: ignore[union-attr]
            if kind == b"Z":
                self.status = raw[5:6]
                return outcome
            if kind == b"E" and outcome.error is None:
                outcome.error = wire.Fields.parse(raw[5:])
            elif kind == b"C":
                outcome.tag = raw[5:-1].decode()

    def report_load_error(self, job: CopyJob, error: LoadError) -> bool:
        column = next((c for c in job.targets if c.name == error.colname), None)
        self.recorder.log_error(job.query_id, self.backend_pid, job.started, job.table_oid, error, column)
        detail = "\n".join(
            [
                "  -----------------------------------------------",
                f"  error:  {error.reason}",
                f"  code:      {error.code}",
                f"  context:   {error.colname + ': ' if error.colname else ''}{error.raw_value[:100]}",
                f"  query:     {job.query_id}",
                f"  location:  {error.uri}:{error.line}",
                "  process:   redshift-standin",
                "  -----------------------------------------------",
            ]
        )
        return self.send_error(wire.error_fields("XX000", LOAD_FAILED.format(table=job.spec.table[-1]), detail))


@dataclass
class CopyJob:
    spec: CopySpec
    targets: list[TargetColumn]
    table_oid: int
    query_id: int
    started: dt.datetime


# --- helpers ---------------------------------------------------------------------------------

# The tables the session's open transaction wrote or locked (its own locks), which Redshift's
# serializable isolation checks for conflicts.
LOCKED_TABLES_SQL = (
    "SELECT DISTINCT n.nspname, c.relname FROM pg_locks l"
    " JOIN pg_class c ON c.oid = l.relation JOIN pg_namespace n ON n.oid = c.relnamespace"
    " WHERE l.pid = pg_backend_pid() AND l.mode IN"
    " ('RowExclusiveLock', 'ShareRowExclusiveLock', 'ExclusiveLock', 'AccessExclusiveLock')"
)


def _could_be_special(sql: str) -> bool:
    # Cheap: most queries need no lexing at all.
    return _SPECIAL_WORDS.search(sql) is not None


_SPECIAL_WORDS = re.compile(
    r"copy|truncate|append|commit|end|distkey|diststyle|sortkey|encode|identity|binding|role", re.IGNORECASE
)


def _data_row(raw: bytes) -> list[str | None]:
    (count,) = struct.unpack_from("!h", raw, 5)
    pos = 7
    values: list[str | None] = []
    for _ in range(count):
        (length,) = struct.unpack_from("!i", raw, pos)
        pos += 4
        if length < 0:
            values.append(None)
        else:
            values.append(raw[pos : pos + length].decode("utf-8"))
            pos += length
    return values


def parse_append(sql: str) -> tuple[str, str, str]:
    """ALTER TABLE target APPEND FROM source [IGNOREEXTRA | FILLTARGET] -> quoted names, mode."""
    tokens = tokenize(sql)
    if tokens and tokens[-1].kind == "op" and tokens[-1].text == ";":
        tokens = tokens[:-1]
    try:
        target, pos = take_qualified_name(tokens, 2)
        if not (tokens[pos].is_word("append") and tokens[pos + 1].is_word("from")):
            raise ValueError(pos)
        source, pos = take_qualified_name(tokens, pos + 2)
    except (ValueError, IndexError):
        raise CopyError("syntax error in ALTER TABLE APPEND", "42601") from None
    mode = ""
    if pos < len(tokens):
        if pos + 1 != len(tokens) or not tokens[pos].is_word("ignoreextra", "filltarget"):
            raise CopyError(f'syntax error at or near "{tokens[pos].text}"', "42601")
        mode = tokens[pos].text.upper()
    return qualified(target), qualified(source), mode


# PostgreSQL's CONTEXT of a COPY error; the value may span lines (a quoted newline).
_CONTEXT_COLUMN = re.compile(r'(?:\A|\n)COPY [^\n]+?, line (\d+), column (.+?): (?:"(.*)"|null input)\Z', re.DOTALL)
_CONTEXT_LINE = re.compile(r'(?:\A|\n)COPY [^\n]+?, line (\d+)(?:: "(.*)")?\Z', re.DOTALL)
_NOT_NULL = re.compile(r'null value in column "(.+?)"')


def load_error_from_postgres(fields: wire.Fields, loader: Loader, job: CopyJob) -> LoadError | None:
    """PostgreSQL's error on a streamed value, as a Redshift load error on the source file
    and line (PostgreSQL counts streamed records; the loader's LineMap maps them back)."""
    sqlstate = fields.get(wire.F_CODE)
    if not (sqlstate.startswith("22") or sqlstate.startswith("23")):
        return None
    context = fields.get(wire.F_WHERE)
    record, colname, value, raw_line = 0, "", "", ""
    if match := _CONTEXT_COLUMN.search(context):
        record, colname, value = int(match.group(1)), match.group(2), match.group(3) or ""
    elif match := _CONTEXT_LINE.search(context):
        record, raw_line = int(match.group(1)), match.group(2) or ""
    if not colname and (match := _NOT_NULL.search(fields.get(wire.F_MESSAGE))):
        colname = match.group(1)
    uri, line = loader.linemap.locate(loader.linemap.record_of_line(record)) if record else ("", 0)
    message = fields.get(wire.F_MESSAGE)
    return LoadError(
        message,
        _redshift_err_code(sqlstate, message),
        uri=uri,
        line=line,
        colname=colname,
        raw_value=value,
        raw_line=raw_line or fields.get(wire.F_DETAIL),
    )


def _redshift_err_code(sqlstate: str, message: str) -> int:
    """Approximately Redshift's err_code for PostgreSQL's error."""
    if sqlstate == "23502":
        return 1213  # Missing data for not-null field
    if sqlstate == "22001":
        return 1204  # String length exceeds DDL length
    if sqlstate == "22P02" and "boolean" in message:
        return 1208
    if "date" in message and "timestamp" not in message:
        return 1205  # Invalid Date Format
    if "timestamp" in message or "time zone" in message or sqlstate.startswith("2200"):
        return 1206  # Invalid timestamp format
    if sqlstate in ("22P02", "22003"):
        return 1207  # Invalid digit / overflow
    return 1216


# --- server -------------------------------------------------------------------------------------


def serve_forever(listen: tuple[str, int], config: Config) -> None:
    recorder = Recorder(config)
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(listen)
    server.listen(64)
    log.info(
        "listening on %s:%s, upstream %s, s3 %s, tls %s",
        *listen,
        config.upstream_socket,
        config.s3_endpoint,
        "on" if config.tls else "off",
    )
    while True:
        client, _ = server.accept()
        client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        # One thread per client connection: sessions are independent and mostly wait.
        threading.Thread(target=Session(client, config, recorder).run, daemon=True).start()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Redshift stand-in proxy (tests only)")
    parser.add_argument("--listen", default="127.0.0.1:5439", help="HOST:PORT to accept clients on")
    parser.add_argument("--upstream-port", type=int, required=True, help="PostgreSQL's port")
    parser.add_argument("--upstream-socket-dir", required=True, help="PostgreSQL's Unix socket folder")
    parser.add_argument("--database", default="dev", help="database of the bookkeeping connection")
    parser.add_argument(
        "--recorder-user", default="postgres", help="role of the bookkeeping connection (trusted on the private socket)"
    )
    parser.add_argument("--s3-endpoint", required=True, help="http://HOST:PORT of the S3 server")
    parser.add_argument("--tls-cert", help="server certificate (PEM): enables TLS, the driver's default")
    parser.add_argument("--tls-key", help="the certificate's private key (PEM)")
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=args.log_level, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    tls = None
    if args.tls_cert:
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(args.tls_cert, args.tls_key)
    host, _, port = args.listen.rpartition(":")
    config = Config(
        upstream_socket=f"{args.upstream_socket_dir}/.s.PGSQL.{args.upstream_port}",
        database=args.database,
        s3_endpoint=args.s3_endpoint,
        recorder_user=args.recorder_user,
        tls=tls,
    )
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    serve_forever((host, int(port)), config)
    return 0


if __name__ == "__main__":
    sys.exit(main())
