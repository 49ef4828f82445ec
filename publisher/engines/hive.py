"""Hive targets: an embedded Spark engine with Hive support, and a HiveServer2 over PyHive.

Both run the same HiveQL (Spark SQL with Hive SerDes) and inspect tables the same way,
through ``DESCRIBE FORMATTED``, whose output Apache Hive and Spark shape closely enough
for one parser. docs/hive-research.md records what was measured on both engines.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import warnings
from collections.abc import Callable, Mapping, Sequence
from contextlib import suppress
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, TypeVar

from pyhive import hive
from pyhive.sqlalchemy_hive import HiveDialect
from sqlalchemy import create_engine, inspect
from sqlalchemy import exc as sa_exc
from sqlalchemy import text as sa_text
from sqlalchemy.dialects import registry
from sqlalchemy.engine import Engine, Inspector

from publisher.model.errors import PublishFailed
from publisher.model.relation import Relation
from publisher.model.target import ColumnState, TableState
from publisher.model.vocabulary import HIVE_AUTH_MODES

if TYPE_CHECKING:
    # pyspark is imported only when an embedded session starts: it is big and slow.
    from pyspark.sql import SparkSession

T = TypeVar("T")

# Spark confs that change what the publisher's statements mean. The CI HiveServer2
# (.ci/services/hiveserver2.sh) sets exactly these too; a test reads them back from
# both engines. Why each one: docs/hive-research.md, "Confs".
SHARED_CONFS: Mapping[str, str] = MappingProxyType(
    {
        # Timestamps are not shifted by the machine's zone.
        "spark.sql.session.timeZone": "UTC",
        # Spark's own Parquet reader for Hive Parquet tables. Hive 2.3's
        # ParquetHiveSerDe fails on INT64 timestamps, pyarrow's default.
        "spark.sql.hive.convertMetastoreParquet": "true",
        # Parquet that Apache Hive 2.x reads back: decimals as FIXED_LEN_BYTE_ARRAY,
        # not INT64, which Hive's reader fails on.
        "spark.sql.parquet.writeLegacyFormat": "true",
        # Spark 4's default, pinned: a value that does not fit the column is an error,
        # not a NULL.
        "spark.sql.ansi.enabled": "true",
    }
)

# A JVM flag both engines get (the server through --driver-java-options): Hive SerDes
# convert timestamps with the JVM's zone.
SHARED_JAVA_OPTIONS = "-Duser.timezone=UTC"

_LOG4J2 = """\
# Written by publisher: the embedded engine logs at WARN, into this folder.
rootLogger.level = warn
rootLogger.appenderRef.stderr.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{HH:mm:ss.SSS} %p %c{1}: %m%n%ex
logger.nativecode.name = org.apache.hadoop.util.NativeCodeLoader
logger.nativecode.level = error
logger.objectstore.name = org.apache.hadoop.hive.metastore.ObjectStore
logger.objectstore.level = error
logger.hiveconf.name = org.apache.hadoop.hive.conf.HiveConf
logger.hiveconf.level = error
"""


def quote(name: str) -> str:
    """A backtick-quoted identifier; names are validated before they get here."""
    return f"`{name}`"


def qualified(relation: Relation) -> str:
    """`db`.`table` (Hive has no schema level)."""
    return f"{quote(relation.database)}.{quote(relation.name)}"


# --------------------------------------------------------------------------- errors


class HiveError(PublishFailed):
    """A statement the engine refused or failed; the message is the engine's own text."""

    def __init__(self, message: str, statement: str | None = None) -> None:
        super().__init__(message)
        self.statement = statement


_JAVA_CLASS = r"(?:[a-z_$][\w$]*\.)+[A-Z][\w$]*"
# Wrappers that say nothing to a user, stripped from the front of an error line.
_NOISE_PREFIXES = (
    re.compile(r"^org\.apache\.hive\.service\.cli\.HiveSQLException:\s*"),
    re.compile(r"^Error running query:\s*"),
    re.compile(r"^Error while (?:compiling|processing) statement:\s*"),
    # Spark's Thrift Server repeats the error class before the Java exception name.
    re.compile(rf"^\[[A-Z0-9_.]+\]\s+{_JAVA_CLASS}:\s*"),
    # A failed task: the cause is at the end of Spark's one-line summary.
    re.compile(
        r"^Job aborted due to stage failure: .*?most recent failure: Lost task .*?"
        r"\(TID \d+\) \([^)]*\):\s*"
    ),
    re.compile(rf"^{_JAVA_CLASS}:\s*"),
)


def engine_message(text: str) -> str:
    """The first meaningful line of an engine error, without Java class names or stacks."""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("at ") or line == "JVM stacktrace:":
            continue
        line = _strip_noise(line)
        if line:
            return line
    return text.strip() or "unknown error"


def _strip_noise(line: str) -> str:
    changed = True
    while changed:
        changed = False
        for prefix in _NOISE_PREFIXES:
            stripped = prefix.sub("", line, count=1)
            if stripped != line:
                line, changed = stripped, True
    return line


def _spark_error_text(exc: BaseException) -> str:
    """The Java exception's text where pyspark leaves it unconverted (a Py4JJavaError
    says only "An error occurred while calling o351.collectToPython")."""
    java_exception = getattr(exc, "java_exception", None)
    if java_exception is not None:
        try:
            return str(java_exception.toString())
        except Exception:  # the JVM is gone: Python's text is all there is
            pass
    return str(exc)


def _driver_error_text(exc: BaseException) -> str:
    """The server's error text: PyHive raises with the Thrift response as the argument."""
    arg = exc.args[0] if exc.args else None
    status = getattr(arg, "status", None)
    message = getattr(status, "errorMessage", None)
    if isinstance(message, str) and message:
        return message
    return str(exc)


# --------------------------------------------------------------------------- inspection


# (substring of the InputFormat or SerDe class, storage name). InputFormat is checked
# first: SEQUENCEFILE tables use the text SerDe (LazySimpleSerDe).
_STORAGE_BY_CLASS = (
    ("parquet", "parquet"),
    ("avro", "avro"),
    ("orc", "orc"),
    ("rcfile", "rcfile"),
    ("sequencefile", "sequencefile"),
    ("textinputformat", "textfile"),
    ("lazysimpleserde", "textfile"),
    ("jsonserde", "json"),
    ("opencsvserde", "csv"),
)


def _cell(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _split_describe(
    rows: Sequence[Sequence[Any]],
) -> tuple[list[ColumnState], dict[str, str], list[str]]:
    """Columns and the key/value details of ``DESCRIBE FORMATTED`` (Hive or Spark).

    Both print the columns first (Hive after a ``# col_name`` header and a blank row),
    a blank row, then ``# ...`` sections of key/value rows. Hive lists partition columns
    only under ``# Partition Information``, Spark in both places; Hive pads keys with
    spaces and ends them with ':' ("SerDe Library:"), Spark does not ("Serde Library").
    """
    columns: list[ColumnState] = []
    details: dict[str, str] = {}
    partitions: list[str] = []
    section = "columns"
    for row in rows:
        name, value = _cell(row[0]), _cell(row[1] if len(row) > 1 else None)
        if not name and value and len(row) > 2:
            # Apache Hive lists table parameters as ('', key, value) rows.
            details.setdefault(f"param {value.lower()}", _cell(row[2]).lower())
        if name.startswith("#"):
            if name.lower() != "# col_name":
                section = "partition" if "partition information" in name.lower() else "details"
            continue
        if not name:
            if section == "columns" and columns:
                section = "details"
            continue
        if section == "details":
            details.setdefault(name.rstrip(":").strip().lower(), value)
            continue
        if section == "partition":
            partitions.append(name.lower())
        if all(c.name != name.lower() for c in columns):
            columns.append(ColumnState(name.lower(), value.lower()))
    return columns, details, partitions


def _storage(details: Mapping[str, str]) -> str | None:
    provider = details.get("provider", "").lower()
    if provider and provider != "hive":
        return provider  # a Spark data source table: USING parquet / avro / ...
    for key in ("inputformat", "serde library"):
        cls = details.get(key, "").lower()
        for needle, storage in _STORAGE_BY_CLASS:
            if needle in cls:
                return storage
    return None


def parse_describe_formatted(rows: Sequence[Sequence[Any]]) -> TableState:
    """TableState from ``DESCRIBE FORMATTED`` rows of Apache Hive or Spark."""
    columns, details, partitions = _split_describe(rows)
    kind = (details.get("type") or details.get("table type") or "").upper()
    managed = None if not kind else kind.startswith("MANAGED")
    buckets = details.get("num buckets", "-1").strip()
    properties = details.get("table properties", "").lower()
    return TableState(
        tuple(columns),
        _storage(details),
        details.get("location") or None,
        managed,
        partition_columns=tuple(partitions),
        view="VIEW" in kind,
        bucketed=buckets.lstrip("-").isdigit() and int(buckets) > 0,
        transactional="transactional=true" in properties or details.get("param transactional") == "true",
    )


def parse_database_location(rows: Sequence[Sequence[Any]]) -> str | None:
    """The Location of ``DESCRIBE DATABASE`` rows: Spark gives (info_name, info_value)
    rows, Hive one row (db_name, comment, location, owner_name, ...)."""
    for row in rows:
        cells = [_cell(c) for c in row]
        if len(cells) >= 2 and cells[0].lower() == "location":
            return cells[1] or None
    if rows and len(rows[0]) >= 3:
        return _cell(rows[0][2]) or None
    return None


def parse_location(rows: Sequence[Sequence[Any]]) -> str | None:
    """The table's Location from ``DESCRIBE FORMATTED`` rows of Apache Hive or Spark."""
    return _split_describe(rows)[1].get("location") or None


def _table_names_from_show_tables(rows: Sequence[Sequence[Any]], columns: Sequence[str]) -> set[str]:
    """Table names from SHOW TABLES: Hive has one column (tab_name); Spark has
    (namespace, tableName, isTemporary) and lists the session's temporary views too."""
    lowered = [c.lower() for c in columns]
    if "tablename" not in lowered:
        return {str(row[0]).lower() for row in rows}
    name_at = lowered.index("tablename")
    temp_at = lowered.index("istemporary") if "istemporary" in lowered else None
    return {str(row[name_at]).lower() for row in rows if temp_at is None or str(row[temp_at]).lower() != "true"}


# --------------------------------------------------------------------------- embedded


_session_lock = threading.Lock()
_session: tuple[Path, SparkSession] | None = None


def _embedded_conf(state_dir: Path) -> dict[str, str]:
    # Spark splits extraJavaOptions like a shell does: quote paths, they may hold spaces.
    java_options = " ".join(
        [
            f'"-Dderby.system.home={state_dir}"',
            # Derby writes derby.log into the working directory unless told otherwise.
            f'"-Dderby.stream.error.file={state_dir / "derby.log"}"',
            f'"-Dlog4j2.configurationFile={(state_dir / "log4j2.properties").as_uri()}"',
            SHARED_JAVA_OPTIONS,
        ]
    )
    return {
        "spark.api.mode": "classic",
        "spark.master": "local[2]",
        "spark.app.name": "publisher",
        "spark.driver.memory": "1g",
        "spark.driver.host": "127.0.0.1",
        "spark.driver.bindAddress": "127.0.0.1",
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.catalogImplementation": "hive",
        "spark.sql.warehouse.dir": str(state_dir / "warehouse"),
        "spark.hadoop.javax.jdo.option.ConnectionURL": (
            f"jdbc:derby:;databaseName={state_dir / 'metastore_db'};create=true"
        ),
        "spark.driver.extraJavaOptions": java_options,
        **SHARED_CONFS,
    }


def _start_session(state_dir: Path) -> SparkSession:
    from pyspark import SparkConf, SparkContext
    from pyspark.java_gateway import launch_gateway
    from pyspark.logger import PySparkLogger
    from pyspark.sql import SparkSession

    if SparkContext._active_spark_context is not None:
        raise PublishFailed("a Spark session that publisher did not start already runs in this process")
    # pyspark logs every failed statement a second time, as JSON with the JVM stack,
    # on stderr; the error reaches the caller anyway, with a readable message.
    for name in ("SQLQueryContextLogger", "DataFrameQueryContextLogger"):
        PySparkLogger.getLogger(name).setLevel(logging.CRITICAL)
    state_dir.mkdir(parents=True, exist_ok=True)
    (state_dir / "log4j2.properties").write_text(_LOG4J2)
    # Without SPARK_LOCAL_IP Spark binds to whatever the host name resolves to.
    os.environ["SPARK_LOCAL_IP"] = "127.0.0.1"
    conf = SparkConf(loadDefaults=False).setAll(list(_embedded_conf(state_dir).items()))
    log_path = state_dir / "spark.log"
    try:
        if SparkContext._gateway is None:
            # The JVM's stdout/stderr (JDK notices, WARN logs) go to a file in the state
            # folder, not to the user's terminal; statement errors still raise here.
            with log_path.open("ab") as log:
                gateway = launch_gateway(  # type: ignore[no-untyped-call]
                    conf, popen_kwargs={"stdout": log, "stderr": log}
                )
            SparkContext(conf=conf, gateway=gateway)
        builder = SparkSession.builder.enableHiveSupport()
        for key, value in conf.getAll():
            builder = builder.config(key, value)
        return builder.getOrCreate()
    except Exception as exc:
        raise PublishFailed(
            f"cannot start the embedded Hive engine: {engine_message(_spark_error_text(exc))}"
            f" (log: {log_path}){_tail(log_path)}"
        ) from exc


def _tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()[-lines:]
    except OSError:
        return ""
    return "\n" + "\n".join(text) if text else ""


def embedded_session(state_dir: Path) -> SparkSession:
    """The process's one embedded session, started on first use.

    Spark allows one SparkContext per process and Derby one JVM per metastore, so a
    process serves one state folder only.
    """
    global _session
    state_dir = state_dir.resolve()
    with _session_lock:
        if _session is None:
            with warnings.catch_warnings():
                # pyspark warns, on import and at start, about the installed pandas,
                # which publisher does not use.
                warnings.simplefilter("ignore", FutureWarning)
                _session = (state_dir, _start_session(state_dir))
        elif _session[0] != state_dir:
            raise PublishFailed(
                f"the embedded Hive engine already runs with its state in {_session[0]};"
                f" this process cannot also use {state_dir}"
            )
        return _session[1]


def stop_embedded_session() -> None:
    """Stop the process's embedded session, if any. The JVM stays until the process
    ends; a later embedded_session() with the same state folder starts a new session."""
    global _session
    with _session_lock:
        if _session is not None:
            _session[1].stop()
            _session = None


class _DescribedTables:
    """Inspection both Hive targets share: DESCRIBE FORMATTED / DESCRIBE DATABASE output
    is alike on Apache Hive and Spark. Subclasses say how to run and find a table."""

    def fetch(self, sql: str) -> list[tuple[Any, ...]]:
        raise NotImplementedError

    def namespace_exists(self, relation: Relation) -> bool:
        raise NotImplementedError

    def _describe(self, relation: Relation) -> list[tuple[Any, ...]] | None:
        raise NotImplementedError

    def table_state(self, relation: Relation) -> TableState | None:
        rows = self._describe(relation)
        return None if rows is None else parse_describe_formatted(rows)

    def table_states(self, relation: Relation) -> dict[str, TableState] | None:
        return None  # each table is described on its own (DESCRIBE FORMATTED)

    def table_location(self, relation: Relation) -> str | None:
        """The table's storage location (a URI), or None when it does not exist."""
        rows = self._describe(relation)
        return None if rows is None else parse_location(rows)

    def namespace_location(self, relation: Relation) -> str | None:
        if not self.namespace_exists(relation):
            return None
        return parse_database_location(self.fetch(f"DESCRIBE DATABASE {quote(relation.database)}"))


class EmbeddedHive(_DescribedTables):
    """Spark with Hive support in this process; metastore and warehouse in ``state_dir``."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self._spark = embedded_session(state_dir)

    def __repr__(self) -> str:
        return f"EmbeddedHive({str(self.state_dir)!r})"

    @property
    def spark(self) -> SparkSession:
        return self._spark

    def _run(self, statement: str, call: Callable[[], T]) -> T:
        try:
            return call()
        except Exception as exc:  # pyspark raises Captured and Py4J errors: no common base
            raise HiveError(engine_message(_spark_error_text(exc)), statement) from exc

    def execute(self, sql: str) -> None:
        # Commands run eagerly in spark.sql; collect() also runs a plain query.
        self._run(sql, lambda: self._spark.sql(sql).collect())

    def fetch(self, sql: str) -> list[tuple[Any, ...]]:
        return self._run(sql, lambda: [tuple(row) for row in self._spark.sql(sql).collect()])

    def namespace_exists(self, relation: Relation) -> bool:
        catalog = self._spark.catalog
        return self._run(
            f"SHOW DATABASES LIKE '{relation.database}'",
            lambda: bool(catalog.databaseExists(relation.database)),
        )

    def _table_exists(self, relation: Relation) -> bool:
        catalog = self._spark.catalog
        return self._run(
            f"SHOW TABLES IN {quote(relation.database)}",
            lambda: bool(catalog.tableExists(qualified(relation))),
        )

    def _describe(self, relation: Relation) -> list[tuple[Any, ...]] | None:
        if not self.namespace_exists(relation) or not self._table_exists(relation):
            return None
        return self.fetch(f"DESCRIBE FORMATTED {qualified(relation)}")

    def table_names(self, relation: Relation) -> set[str]:
        if not self.namespace_exists(relation):
            return set()
        rows = self.fetch(f"SHOW TABLES IN {quote(relation.database)}")
        return _table_names_from_show_tables(rows, ("namespace", "tableName", "isTemporary"))

    def close(self) -> None:
        # The session belongs to the process (see embedded_session): nothing to release.
        pass


# --------------------------------------------------------------------------- server


AUTH_MODES = HIVE_AUTH_MODES


class HiveServer(_DescribedTables):
    """A HiveServer2 (Apache Hive or Spark's Thrift Server) through PyHive.

    Statements run on one PyHive connection (one HiveServer2 session, so ``SET`` holds
    for the statements after it); inspection goes through a SQLAlchemy engine whose
    connections are opened with the same parameters.
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        database: str = "default",
        auth: str = "NONE",
        username: str | None = None,
        password: str | None = None,
        kerberos_service_name: str | None = None,
        configuration: Mapping[str, str] | None = None,
    ) -> None:
        if auth not in AUTH_MODES:
            raise PublishFailed(f"unsupported Hive auth {auth!r}: use one of {', '.join(AUTH_MODES)}")
        self.host, self.port, self.auth = host, port, auth
        # Kept only to open connections: never logged, never in repr or messages.
        self._connect_kwargs: dict[str, Any] = {
            "host": host,
            "port": port,
            "database": database,
            "auth": auth,
            "username": username,
            "password": password,
            "kerberos_service_name": kerberos_service_name,
            "configuration": dict(configuration or {}),
        }
        self._conn = self._connect()
        self._engine: Engine | None = None

    def __repr__(self) -> str:
        return f"HiveServer({self.host}:{self.port}, auth={self.auth})"

    def _connect(self) -> Any:
        try:
            return hive.connect(**self._connect_kwargs)
        except Exception as exc:
            raise PublishFailed(
                f"cannot connect to HiveServer2 at {self.host}:{self.port}"
                f" (auth {self.auth}): {engine_message(_driver_error_text(exc))}"
            ) from exc

    def _run(self, statement: str, call: Callable[[], T]) -> T:
        try:
            return call()
        except PublishFailed:
            raise
        except Exception as exc:
            raise HiveError(engine_message(_driver_error_text(exc)), statement) from exc

    def _cursor_run(self, sql: str, rows: bool) -> list[tuple[Any, ...]]:
        cursor = self._conn.cursor()
        try:
            cursor.execute(sql)
            return [tuple(row) for row in cursor.fetchall()] if rows else []
        finally:
            cursor.close()

    def execute(self, sql: str) -> None:
        self._run(sql, lambda: self._cursor_run(sql, rows=False))

    def fetch(self, sql: str) -> list[tuple[Any, ...]]:
        return self._run(sql, lambda: self._cursor_run(sql, rows=True))

    @property
    def engine(self) -> Engine:
        """SQLAlchemy engine for inspection; its connections use the same parameters."""
        if self._engine is None:
            self._engine = create_engine("hive+publisher://", creator=self._connect)
        return self._engine

    def _inspect(self, statement: str, call: Callable[[Inspector], T]) -> T:
        # A fresh inspector each time: its cache would hide tables made since.
        return self._run(statement, lambda: call(inspect(self.engine)))

    def namespace_exists(self, relation: Relation) -> bool:
        names = self._inspect("SHOW SCHEMAS", lambda i: i.get_schema_names())
        return relation.database.lower() in {str(n).lower() for n in names}

    def _describe(self, relation: Relation) -> list[tuple[Any, ...]] | None:
        if not self.namespace_exists(relation):
            return None
        exists = self._inspect(
            f"DESCRIBE {relation}",
            lambda i: i.has_table(relation.name, schema=relation.database),
        )
        if not exists:
            return None
        return self.fetch(f"DESCRIBE FORMATTED {qualified(relation)}")

    def table_names(self, relation: Relation) -> set[str]:
        if not self.namespace_exists(relation):
            return set()
        names = self._inspect(
            f"SHOW TABLES IN {quote(relation.database)}",
            lambda i: i.get_table_names(schema=relation.database),
        )
        return {str(n).lower() for n in names}

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None
        # The server or the socket may be gone already: then there is nothing to free.
        with suppress(Exception):
            self._conn.close()


# --------------------------------------------------------------------------- dialect


class TolerantHiveDialect(HiveDialect):  # type: ignore[misc]
    """PyHive's SQLAlchemy dialect, also right against Spark's Thrift Server.

    The one place for Spark's differences: a missing table is reported as
    TABLE_OR_VIEW_NOT_FOUND (PyHive matches only Hive's wording, so has_table raised),
    and SHOW TABLES has (namespace, tableName, isTemporary) columns where Hive has
    (tab_name) (PyHive took the first column, the namespace).
    """

    supports_statement_cache = False

    @classmethod
    def import_dbapi(cls) -> Any:
        # Defined on this class itself: SQLAlchemy 2 looks for it in the class's own
        # __dict__ and otherwise warns about PyHive's older dbapi() spelling.
        return hive

    def _get_table_columns(self, connection: Any, table_name: str, schema: str | None) -> Any:
        try:
            return super()._get_table_columns(connection, table_name, schema)
        except sa_exc.OperationalError as error:
            if "TABLE_OR_VIEW_NOT_FOUND" in str(error):
                raise sa_exc.NoSuchTableError(table_name) from error
            raise

    def get_table_names(self, connection: Any, schema: str | None = None, **kw: Any) -> list[str]:
        query = "SHOW TABLES"
        if schema:
            query += " IN " + self.identifier_preparer.quote_identifier(schema)
        result = connection.execute(sa_text(query))
        rows = result.fetchall()
        return sorted(_table_names_from_show_tables(rows, list(result.keys())))


registry.register("hive.publisher", __name__, "TolerantHiveDialect")
