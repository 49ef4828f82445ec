"""Every output of the test suite is scanned for every secret value the suite uses.

Secrets live in environment variables (publisher.yaml holds ``${NAME}`` references only);
whatever value a test or fixture gives one of these names, no output may contain it: each
CLI run's stdout, stderr and saved plan (tests/conftest.py Project.run, the subprocess
runners of tests/test_cli.py and the Redshift suites) and the Redshift ledger's rows.
"""

from __future__ import annotations

import os

SECRET_ENVS = frozenset(
    {
        "PUBLISHER_TEST_REDSHIFT_PASSWORD",
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
