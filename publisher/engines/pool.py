"""Opening what publisher.yaml describes: engine targets and S3 clients. Secrets read here."""

from __future__ import annotations

import contextlib
import threading
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from publisher.engines.drivers import EMBEDDED, HIVESERVER2, REDSHIFT, needs
from publisher.inputs.config import Config, Connection, HiveSettings, RedshiftSettings
from publisher.model.errors import EngineUnavailable, PublishFailed
from publisher.model.target import Target


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
    return boto3.client("s3", **options)


def _code(exc: Any) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


class S3Objects:
    """Writes and deletes the objects plans name (COPY manifests)."""

    def __init__(self, client: Any) -> None:
        self.client = client

    @staticmethod
    def _split(uri: str) -> tuple[str, str]:
        parsed = urlparse(uri)
        return parsed.netloc, parsed.path.lstrip("/")

    def put(self, uri: str, body: str) -> None:
        from botocore.exceptions import ClientError

        bucket, key = self._split(uri)
        data = body.encode()
        # Never overwrite: a manifest name is unique per plan, and result files are never ours.
        for _ in range(3):
            try:
                self.client.put_object(Bucket=bucket, Key=key, Body=data, IfNoneMatch="*")
                return
            except ClientError as exc:
                if _code(exc) not in ("PreconditionFailed", "ConditionalRequestConflict"):
                    raise
            # The object exists: the same plan's manifest, left by an apply that was killed or
            # written by a concurrent apply planned in the same second. The same bytes are
            # ours to use; anything else is not.
            try:
                existing = self.client.get_object(Bucket=bucket, Key=key)["Body"].read()
            except ClientError as exc:
                if _code(exc) in ("NoSuchKey", "404"):
                    continue  # the concurrent apply has deleted it since: write it again
                raise
            if existing != data:
                raise PublishFailed(f"{uri} already exists with other content; it was not overwritten")
            return
        raise PublishFailed(f"{uri}: another process keeps writing and deleting it; try again")

    def delete(self, uri: str) -> None:
        bucket, key = self._split(uri)
        self.client.delete_object(Bucket=bucket, Key=key)


def open_target(connection: Connection, config: Config) -> Target:
    """An open connection to a hive or redshift target. Its driver is imported here, so a
    driver that is not installed is an EngineUnavailable naming the extra to install."""
    settings = connection.settings
    if isinstance(settings, HiveSettings):
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
    if isinstance(settings, RedshiftSettings):
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
    raise ValueError(f"connection {connection.name} is not a target")


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
