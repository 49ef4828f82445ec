"""Every secret publisher.yaml names (connection passwords, S3 keys, API tokens), kept out of
what the server says: responses, session errors, log lines."""

from __future__ import annotations

from dataclasses import fields

from publisher.apply.executor import mask_secrets
from publisher.inputs.config import Config
from publisher.model.secret import Secret


def secret_names(config: Config) -> tuple[str, ...]:
    """The environment variables of every ${NAME} secret in the config."""
    names = [
        value.env
        for connection in config.connections
        for f in fields(connection.settings)
        if isinstance(value := getattr(connection.settings, f.name), Secret)
    ]
    if config.server is not None:
        names += [token.env for token in config.server.tokens]
    if config.lineage is not None:
        names += [v.env for v in (config.lineage.url, config.lineage.api_key) if isinstance(v, Secret)]
    return tuple(dict.fromkeys(names))


class Redactor:
    """Replaces each secret's value in a text with its ${NAME} reference."""

    def __init__(self, config: Config) -> None:
        self.names = secret_names(config)

    def __call__(self, text: str) -> str:
        return mask_secrets(text, self.names)
