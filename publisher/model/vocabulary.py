"""The closed vocabularies of publisher, defined once; schemas/ must agree (tested)."""

from __future__ import annotations

from typing import Literal, get_args

Action = Literal["create", "load", "createAndLoad", "truncateAndLoad", "dropAndLoad", "merge"]
"""The platform's five actions, and merge: an extension (an upsert by mergeKeys) that only a spec
asking for it uses."""
ACTIONS: tuple[Action, ...] = get_args(Action)

InputFormat = Literal["pqt", "avro", "csv", "json"]
INPUT_FORMATS: tuple[InputFormat, ...] = get_args(InputFormat)

TargetType = Literal["hive", "redshift", "postgres"]
"""The targets; each has a descriptor in publisher/targets/ (the registry lists them all)."""
TARGET_TYPES: tuple[TargetType, ...] = get_args(TargetType)

ConnectionType = Literal[TargetType, "s3"]
CONNECTION_TYPES: tuple[ConnectionType, ...] = get_args(ConnectionType)

# HiveServer2 authentication, as PyHive supports it.
HiveAuth = Literal["NONE", "NOSASL", "LDAP", "KERBEROS", "CUSTOM"]
HIVE_AUTH_MODES: tuple[HiveAuth, ...] = get_args(HiveAuth)

# Redshift TLS: verify the server's certificate chain (verify-ca), and its name (verify-full).
SslMode = Literal["verify-ca", "verify-full"]
SSL_MODES: tuple[SslMode, ...] = get_args(SslMode)

# PostgreSQL TLS: libpq's sslmode values, passed to the driver as they are.
PgSslMode = Literal["disable", "allow", "prefer", "require", "verify-ca", "verify-full"]
PG_SSL_MODES: tuple[PgSslMode, ...] = get_args(PgSslMode)
