"""Every output of the test suite is scanned for every secret value the suite uses.

Secrets live in environment variables (publisher.yaml holds ``${NAME}`` references only);
whatever value a test or fixture gives one of these names, no output may contain it: each
CLI run's stdout, stderr and saved plan (tests/conftest.py Project.run, the subprocess
runners of tests/test_cli.py and the Redshift suites) and the Redshift ledger's rows.
"""

from __future__ import annotations

import contextlib
import os
from typing import Any

SECRET_ENVS = frozenset(
    {
        "PUBLISHER_TEST_REDSHIFT_PASSWORD",
        "PUBLISHER_TEST_POSTGRES_PASSWORD",
        "PUBLISHER_TEST_S3_ACCESS_KEY_ID",
        "PUBLISHER_TEST_S3_SECRET_ACCESS_KEY",
        "PUBLISHER_TEST_SECRET",  # for tests of their own secrets
        "AWS_SECRET_ACCESS_KEY",
    }
)


def secret_values() -> dict[str, str]:
    """The current value of each secret variable that is set (long enough to search for)."""
    return {name: value for name in SECRET_ENVS if len(value := os.environ.get(name, "")) >= 6}


def assert_no_secret(text: str, where: str) -> None:
    for name, value in secret_values().items():
        assert value not in text, f"the value of ${{{name}}} appears in {where}"


def assert_no_secret_in_hive(target: Any, database: str) -> None:
    """No secret in what a test left in a Hive database: each table's rows (up to 200), its
    partition names, and its DESCRIBE FORMATTED (comments, locations, parameters)."""
    if not secret_values():
        return
    from publisher.model.relation import Relation

    for name in sorted(target.table_names(Relation(database, None, "x"))):
        table = f"`{database}`.`{name}`"
        described = target.fetch(f"DESCRIBE FORMATTED {table}")
        assert_no_secret(repr(described), f"DESCRIBE FORMATTED {table}")
        if any(str(row[0]).strip().lower() == "# partition information" for row in described):
            assert_no_secret(repr(target.fetch(f"SHOW PARTITIONS {table}")), f"the partitions of {table}")
        with contextlib.suppress(Exception):  # a view over a dropped table, a table being replaced
            assert_no_secret(repr(target.fetch(f"SELECT * FROM {table} LIMIT 200")), f"the rows of {table}")
