"""A secret: a reference to an environment variable, whose value is read only where it is used."""

from __future__ import annotations

import os
from dataclasses import dataclass

from publisher.model.errors import InvalidInput


@dataclass(frozen=True)
class Secret:
    """A reference to an environment variable, read only when a connection opens."""

    env: str

    def reveal(self) -> str:
        value = os.environ.get(self.env)
        if value is None:
            raise InvalidInput(f"environment variable {self.env} is not set (a secret of publisher.yaml)")
        return value

    def __str__(self) -> str:
        return f"${{{self.env}}}"
