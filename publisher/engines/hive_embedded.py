"""The embedded Hive target: Spark with Hive support in this process, one session per process.

pyspark is imported only when the session starts: it is big and slow to import.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import threading
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, TypeVar

from publisher.engines import hive_substitution
from publisher.engines.hive_describe import DescribedTables, qualified, quote, table_names_from_show_tables
from publisher.engines.hive_errors import HiveError, engine_message
from publisher.model.errors import EngineUnavailable, PublishFailed
from publisher.model.relation import Relation

if TYPE_CHECKING:
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
    if SparkContext._gateway is None and "PYSPARK_GATEWAY_PORT" not in os.environ:
        # Without a usable java, Spark's launcher script fails with raw shell errors and
        # pyspark with "Java gateway process exited": say what is missing instead.
        problem = _java_problem(JAVA_MAJOR if _pyspark_major() >= 4 else 8)
        if problem:
            raise EngineUnavailable(f"the embedded Hive engine needs Java {JAVA_MAJOR}: {problem}; {JAVA_HINT}")
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
        tail = _tail(log_path)
        if "UnsupportedClassVersionError" in tail:
            raise EngineUnavailable(
                f"the embedded Hive engine needs Java {JAVA_MAJOR}: the java found is older (log: {log_path});"
                f" {JAVA_HINT}"
            ) from exc
        # Unavailable for the rest of the run (engines/pool.py): one start attempt, one message.
        raise EngineUnavailable(
            f"cannot start the embedded Hive engine: {engine_message(_spark_error_text(exc))} (log: {log_path}){tail}"
        ) from exc


JAVA_MAJOR = 17
"""The Java that Spark 4 runs on (and the one the README asks for)."""

JAVA_HINT = "install it and set JAVA_HOME to it, or put its java on PATH"


def _pyspark_major() -> int:
    from pyspark.version import __version__

    return int(__version__.split(".", 1)[0])


def _java_problem(minimum: int) -> str | None:
    """Why Spark's launcher would find no usable java, looked up as bin/spark-class does
    ($JAVA_HOME/bin/java, else java on PATH); None when it finds one (of unknown version, or
    of at least ``minimum``, as the JDK's release file says)."""
    home = os.environ.get("JAVA_HOME")
    if home:
        java = Path(home) / "bin" / "java"
        if not os.access(java, os.X_OK):
            return f"JAVA_HOME is {home}, which has no bin/java"
    else:
        found = shutil.which("java")
        if found is None:
            return "no java on PATH and JAVA_HOME is not set"
        java = Path(found)
    major = _java_major(java)
    if major is not None and major < minimum:
        return f"{java} is Java {major}"
    return None


def _java_major(java: Path) -> int | None:
    """The major version in the JDK's release file (JAVA_VERSION="17.0.15", "1.8.0_392"), read
    instead of running java -version (a JVM start); None when there is no such file."""
    try:
        release = (java.resolve().parent.parent / "release").read_text(errors="replace")
    except OSError:
        return None
    match = re.search(r'^JAVA_VERSION="(?:1\.)?(\d+)', release, re.MULTILINE)
    return int(match.group(1)) if match else None


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


class EmbeddedHive(DescribedTables):
    """Spark with Hive support in this process; metastore and warehouse in ``state_dir``."""

    shared = False  # and its one session is every thread's: a SET would reach them all

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self._spark = embedded_session(state_dir)
        self._substitution: str | None = None
        # The session is the process's: set again per target, read back once per target.
        self._substitution = hive_substitution.turn_off(self.execute, self.fetch)

    def substitution(self) -> str | None:
        return self._substitution

    def product(self) -> str | None:
        return f"Spark SQL {self._spark.version} (embedded)"

    def __repr__(self) -> str:
        return f"EmbeddedHive({str(self.state_dir)!r})"

    @property
    def spark(self) -> SparkSession:
        return self._spark

    def _run(self, statement: str, call: Callable[[], T]) -> T:
        hive_substitution.refuse_marked(self._substitution, statement)
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
        return table_names_from_show_tables(rows, ("namespace", "tableName", "isTemporary"))

    def close(self) -> None:
        # The session belongs to the process (see embedded_session): nothing to release.
        pass


if TYPE_CHECKING:
    from publisher.model.target import Target

    # Opened by name from the registry: this line holds the class to the Target protocol.
    _IS_A_TARGET: type[Target] = EmbeddedHive
