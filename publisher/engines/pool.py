"""Opening what publisher.yaml describes: engine targets and S3 clients. Secrets read here."""

from __future__ import annotations

import contextlib
import hashlib
import threading
from pathlib import Path
from typing import Any

from publisher.engines.drivers import EMBEDDED, HIVESERVER2, REDSHIFT, needs
from publisher.inputs.config import Config, Connection, S3Settings
from publisher.model.errors import EngineUnavailable, PublishFailed
from publisher.model.s3uri import S3Uri
from publisher.model.target import Target
from publisher.targets.hive import HiveSettings
from publisher.targets.redshift import RedshiftSettings


def s3_client(connection: Connection) -> Any:
    """A boto3 S3 client for an s3 connection (credentials: its secrets, else AWS's chain)."""
    import boto3  # imported here: boto3 takes a noticeable time to import

    settings = connection.s3
    options: dict[str, Any] = {}
    if settings.endpoint_url:
        options["endpoint_url"] = settings.endpoint_url
    if settings.region:
        options["region_name"] = settings.region
    for secret, arg in (
        (settings.access_key_id, "aws_access_key_id"),
        (settings.secret_access_key, "aws_secret_access_key"),
        (settings.session_token, "aws_session_token"),
    ):
        if secret is not None:
            options[arg] = secret.reveal()
    from botocore.config import Config as ClientConfig

    return boto3.client("s3", config=ClientConfig(max_pool_connections=S3_CONNECTIONS), **options)


S3_CONNECTIONS = 64
"""An S3 client's HTTP connections: planning reads 8 results at once (workflow.INSPECT_THREADS),
each 8 files at once (results.stores.S3_THREADS); botocore's default, 10, would open and drop
the others for every request (and urllib3 would warn that its pool is full)."""


def _code(exc: Any) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


class S3Objects:
    """Writes, reads and deletes the objects plans name (COPY manifests); URIs as S3Uri reads them."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def put(self, uri: str, body: str) -> bool:
        """Write ``body`` at ``uri`` unless an object is there. True: this call wrote it. False:
        it was there already with these very bytes (this plan's own manifest, left by an apply
        that was killed, or written by a concurrent apply of the same plan). Other bytes there:
        PublishFailed, and nothing is written."""
        from botocore.exceptions import ClientError

        where = S3Uri.parse(uri)
        data = body.encode()
        # Never overwrite: a manifest name is unique per plan, and no one else's object is ours.
        for _ in range(3):
            try:
                self.client.put_object(Bucket=where.bucket, Key=where.key, Body=data, IfNoneMatch="*")
                return True
            except ClientError as exc:
                if _code(exc) not in ("PreconditionFailed", "ConditionalRequestConflict"):
                    raise
            existing = self.read(uri)
            if existing is None:
                continue  # deleted since (a concurrent apply of the same plan finished): write it again
            if existing != data:
                raise PublishFailed(f"{uri} already exists with other content; it was not overwritten")
            return False
        raise PublishFailed(f"{uri}: another process keeps writing and deleting it; try again")

    def read(self, uri: str) -> bytes | None:
        """The object's bytes; None when there is none."""
        from botocore.exceptions import ClientError

        where = S3Uri.parse(uri)
        try:
            return bytes(self.client.get_object(Bucket=where.bucket, Key=where.key)["Body"].read())
        except ClientError as exc:
            if _code(exc) in ("NoSuchKey", "404"):
                return None
            raise

    def list(self, prefix: str) -> list[str]:
        """The URIs of the objects whose keys start with ``prefix``'s key, in key order."""
        where = S3Uri.parse(prefix)
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=where.bucket, Prefix=where.key)
        return [str(S3Uri(where.bucket, obj["Key"])) for page in pages for obj in page.get("Contents", ())]

    def delete(self, uri: str) -> None:
        """Delete the object; the caller has made sure it is this run's."""
        where = S3Uri.parse(uri)
        self.client.delete_object(Bucket=where.bucket, Key=where.key)

    def delete_if_same(self, uri: str, sha256: str) -> bool:
        """Delete the object if its bytes still hash to ``sha256`` (what the plan saw); False
        when it is gone or holds other bytes now, and then it is left alone."""
        existing = self.read(uri)
        if existing is None or hashlib.sha256(existing).hexdigest() != sha256:
            return False
        self.delete(uri)
        return True


def open_target(connection: Connection, config: Config) -> Target:
    """An open connection to a target, by its descriptor's opener. Its driver is imported there,
    so a driver that is not installed is an EngineUnavailable naming the extra to install."""
    if isinstance(connection.settings, S3Settings):
        raise ValueError(f"connection {connection.name} is not a target")
    return connection.target.open(connection.settings, config)


def open_hive(settings: HiveSettings, config: Config) -> Target:
    """A Hive connection: the embedded engine, or a HiveServer2."""
    if settings.embedded:
        with needs(EMBEDDED):  # pyspark is imported when the session starts
            from publisher.engines.hive_embedded import EmbeddedHive

            state = Path(settings.state_dir)
            return EmbeddedHive(state if state.is_absolute() else config.root / state)
    assert settings.host is not None, "the config schema requires embedded or a host"
    with needs(HIVESERVER2):  # PyHive's SASL transports are imported when connecting
        from publisher.engines.hiveserver2 import HiveServer

        return HiveServer(
            settings.host,
            settings.port,
            auth=settings.auth,
            username=settings.username,
            password=settings.password.reveal() if settings.password else None,
            kerberos_service_name=settings.kerberos_service_name,
        )


def open_redshift(settings: RedshiftSettings, config: Config) -> Target:
    """A Redshift connection (redshift-connector)."""
    with needs(REDSHIFT):
        from publisher.engines.redshift import RedshiftTarget

        return RedshiftTarget(
            host=settings.host,
            port=settings.port,
            database=settings.database,
            user=settings.user,
            password=settings.password.reveal(),
            ssl=settings.ssl,
            sslmode=settings.sslmode,
        )


class Pool:
    """Opens each connection once per run, on first use; closes them all at the end. A target
    whose engine cannot run here (EngineUnavailable) is tried once: later uses in the run get
    the same error without a second attempt (a second Spark launch, say)."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self._targets: dict[int, Target] = {}
        self._unavailable: dict[int, EngineUnavailable] = {}
        self._s3: dict[int, Any] = {}
        self._s3_lock = threading.Lock()  # results are read from several threads at once

    def target(self, connection: Connection) -> Target:
        if connection.id in self._unavailable:
            raise self._unavailable[connection.id]
        if connection.id not in self._targets:
            try:
                self._targets[connection.id] = open_target(connection, self.config)
            except EngineUnavailable as exc:
                self._unavailable[connection.id] = exc
                raise
        return self._targets[connection.id]

    def s3(self, connection: Connection) -> Any:
        with self._s3_lock:
            if connection.id not in self._s3:
                self._s3[connection.id] = s3_client(connection)
            return self._s3[connection.id]

    def close(self) -> None:
        for target in self._targets.values():
            with contextlib.suppress(Exception):  # best effort: the run's outcome is already known
                target.close()
        self._targets.clear()
