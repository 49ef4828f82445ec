"""The HiveServer2 target (Apache Hive or Spark's Thrift Server) over PyHive, and the
SQLAlchemy dialect its inspection uses, registered as ``hive+publisher://`` on import.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import suppress
from typing import TYPE_CHECKING, Any, TypeVar

from pyhive import hive
from pyhive.sqlalchemy_hive import HiveDialect
from sqlalchemy import create_engine, inspect
from sqlalchemy import exc as sa_exc
from sqlalchemy import text as sa_text
from sqlalchemy.dialects import registry
from sqlalchemy.engine import Engine, Inspector
from thrift.transport.TSocket import TSocket

from publisher.engines import hive_substitution
from publisher.engines.hive_describe import DescribedTables, qualified, quote, table_names_from_show_tables
from publisher.engines.hive_errors import HiveError, engine_message
from publisher.model.errors import PublishFailed
from publisher.model.relation import Relation
from publisher.model.vocabulary import HIVE_AUTH_MODES

T = TypeVar("T")


def _driver_error_text(exc: BaseException) -> str:
    """The server's error text: PyHive raises with the Thrift response as the argument."""
    arg = exc.args[0] if exc.args else None
    status = getattr(arg, "status", None)
    message = getattr(status, "errorMessage", None)
    if isinstance(message, str) and message:
        return message
    return str(exc)


AUTH_MODES = HIVE_AUTH_MODES


def server_product(conn: Any) -> str | None:
    """The server's product and version from the Thrift GetInfo call (CLI_DBMS_NAME,
    CLI_DBMS_VER): "Apache Hive 4.0.1" from HiveServer2, "Spark SQL <version>" from Spark's
    Thrift Server. No statement is run; None where the server does not answer."""
    from TCLIService import ttypes

    found = []
    for info in (ttypes.TGetInfoType.CLI_DBMS_NAME, ttypes.TGetInfoType.CLI_DBMS_VER):
        try:
            response = conn.client.GetInfo(ttypes.TGetInfoReq(sessionHandle=conn.sessionHandle, infoType=info))
        except Exception:
            return None
        value = getattr(getattr(response, "infoValue", None), "stringValue", None)
        if response.status.statusCode != ttypes.TStatusCode.SUCCESS_STATUS or not value:
            return None
        found.append(str(value).strip())
    return " ".join(found)


class HiveServer(DescribedTables):
    """A HiveServer2 (Apache Hive or Spark's Thrift Server) through PyHive.

    Statements run on one PyHive connection (one HiveServer2 session, so ``SET`` holds
    for the statements after it); inspection goes through a SQLAlchemy engine whose
    connections are opened with the same parameters.
    """

    shared = True

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
        # Read back once per connection: None, or why SQL text would not run as sent.
        self._substitution = hive_substitution.confirm(lambda sql: self._cursor_run(sql, rows=True))
        self._product = server_product(self._conn)

    def __repr__(self) -> str:
        return f"HiveServer({self.host}:{self.port}, auth={self.auth})"

    def _connect(self) -> Any:
        """A new session, with variable substitution off (the inspection engine's too)."""
        try:
            conn = _Session(**self._connect_kwargs)
        except Exception as exc:
            raise PublishFailed(
                f"cannot connect to HiveServer2 at {self.host}:{self.port}"
                f" (auth {self.auth}): {engine_message(_driver_error_text(exc))}"
            ) from exc

        def execute(sql: str) -> None:
            cursor = conn.cursor()
            try:
                cursor.execute(sql)
            finally:
                cursor.close()

        hive_substitution.set_off(execute)
        return conn

    def substitution(self) -> str | None:
        return self._substitution

    def product(self) -> str | None:
        return self._product

    def _run(self, statement: str, call: Callable[[], T]) -> T:
        hive_substitution.refuse_marked(self._substitution, statement)
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
        # HiveServer2 reports no row counts through PyHive: plans check Hive rows by COUNT.
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


CLOSE_SECONDS = 5.0
"""How long closing a session waits for the server's reply."""


class _Session(hive.Connection):  # type: ignore[misc]
    """A PyHive connection whose close waits at most CLOSE_SECONDS for the server. PyHive waits
    for CloseSession's reply without a timeout, and Spark 4's Thrift Server can keep it
    forever: without Hive's LLAP jars, which Spark 4 no longer ships, its first session close
    fails in FunctionRegistry's static init (NoClassDefFoundError LlapSigner$Signable), which
    leaves Hive's function registration pending, and every later close that needs a new Hive
    object waits on it (SPARK-51041; measured here: a `publisher serve` whose PUTs stopped
    answering). The session is gone for the publisher either way; the server frees it or not."""

    def close(self) -> None:
        transport = self._transport
        for _ in range(4):  # PyHive's transport wraps the socket once or twice (SASL, buffering)
            if isinstance(transport, TSocket):
                transport.setTimeout(CLOSE_SECONDS * 1000)
                break
            transport = getattr(transport, "_trans", None) or getattr(transport, "_TBufferedTransport__trans", None)
        try:
            super().close()
        finally:
            with suppress(Exception):
                self._transport.close()


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
        return sorted(table_names_from_show_tables(rows, list(result.keys())))


registry.register("hive.publisher", __name__, "TolerantHiveDialect")


if TYPE_CHECKING:
    from publisher.model.target import Target

    # Opened by name from the registry: this line holds the class to the Target protocol.
    _IS_A_TARGET: type[Target] = HiveServer
