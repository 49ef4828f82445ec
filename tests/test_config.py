from __future__ import annotations

from pathlib import Path

import pytest

from publisher.inputs.config import load_config
from publisher.model.errors import Errors
from publisher.model.secret import Secret
from publisher.targets.hive import HiveSettings
from publisher.targets.redshift import RedshiftSettings

BASE = """\
results: results/{jobGroup}/{flowNodeId}/
connections:
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "publisher.yaml"
    path.write_text(text)
    return path


def errors_of(path: Path) -> list[str]:
    with pytest.raises(Errors) as err:
        load_config(path)
    return [str(e) for e in err.value.errors]


def test_secrets_are_references_read_only_when_revealed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(
        tmp_path,
        BASE + "  - {id: 3, name: rs, type: redshift, host: h, database: dev, user: u, password: '${RS_PW}', "
        "iamRole: 'arn:aws:iam::123456789012:role/p', s3: 4}\n" + "  - {id: 4, name: s3, type: s3}\n",
    )
    config = load_config(path)
    secret = config.find("rs").settings.password  # type: ignore[union-attr]
    assert secret == Secret("RS_PW")
    assert str(secret) == "${RS_PW}"
    monkeypatch.setenv("RS_PW", "hunter2")
    assert secret.reveal() == "hunter2"


def test_a_plain_password_is_refused(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        BASE
        + "  - {id: 3, name: rs, type: redshift, host: h, database: dev, user: u, password: hunter2, s3: 4}\n"
        + "  - {id: 4, name: s3, type: s3}\n",
    )
    (error,) = errors_of(path)
    assert error.endswith(
        "connections[0].password must be an environment variable reference such as "
        "${REDSHIFT_PASSWORD}: secrets are never written in publisher.yaml "
        "(found a value that is not shown: it is a secret)"
    )
    assert ":3:" in error


@pytest.mark.parametrize(
    "connection",
    [
        # a secret of the wrong type
        "{id: 3, name: rs, type: redshift, host: h, database: dev, user: u, password: 8675309, s3: 4}",
        # every s3 secret key
        "{id: 3, name: rs, type: redshift, host: h, database: dev, user: u, password: '${P}', s3: 4}\n"
        "  - {id: 4, name: s3, type: s3, accessKeyId: AKIA8675309, secretAccessKey: 8675309, sessionToken: 8675309x}",
        # an error about the whole connection, which holds the secret
        "{id: 1, name: h, type: hive, port: 10000, password: '8675309'}",
        # a future secret key that the schema does not know yet
        "{id: 1, name: h, type: hive, host: x, tokens: [8675309]}",
    ],
)
def test_no_error_repeats_a_secret(tmp_path: Path, connection: str) -> None:
    s3 = "" if "type: s3" in connection or "hive" in connection else "  - {id: 4, name: s3, type: s3}\n"
    errors = errors_of(write(tmp_path, BASE + f"  - {connection}\n" + s3))
    assert errors
    for error in errors:
        assert "8675309" not in error, error


def test_env_references_are_whole_values_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("A", "secret-a")
    config = load_config(write(tmp_path, BASE + "  - {id: 1, name: h, type: hive, host: x, username: 'u${A}'}\n"))
    assert config.find("h").settings_of(HiveSettings).username == "u${A}"  # type: ignore[union-attr]


def test_env_references_are_secrets_only_where_the_schema_says_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("A", "secret-a")
    config = load_config(write(tmp_path, BASE + "  - {id: 1, name: h, type: hive, host: x, username: '${A}'}\n"))
    assert config.find("h").settings_of(HiveSettings).username == "${A}"  # type: ignore[union-attr]


def test_duplicate_ids_and_names(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        BASE + "  - {id: 1, name: a, type: hive, embedded: true}\n  - {id: 1, name: a, type: hive, embedded: true}\n",
    )
    assert errors_of(path) == [
        f"{path}:4:10: error: connection id 1 is used twice (also connections[0])",
        f"{path}:4:19: error: connection name 'a' is used twice (also connections[0])",
    ]


def test_redshift_s3_reference_must_name_an_s3_connection(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        BASE
        + "  - {id: 1, name: h, type: hive, embedded: true}\n"
        + "  - {id: 3, name: rs, type: redshift, host: h, database: dev, user: u, password: '${P}', s3: h}\n",
    )
    (error,) = errors_of(path)
    assert error.endswith("error: connection 'h' is of type hive, expected s3")


def test_hive_needs_embedded_or_host(tmp_path: Path) -> None:
    path = write(tmp_path, BASE + "  - {id: 1, name: h, type: hive, port: 10000}\n")
    (error,) = errors_of(path)
    assert "needs either embedded: true or a host" in error


def test_unknown_connection_key_with_hint(tmp_path: Path) -> None:
    path = write(tmp_path, BASE + "  - {id: 1, name: h, type: hive, host: x, usernme: bob}\n")
    (error,) = errors_of(path)
    assert "unknown key 'usernme' in connections[0]; did you mean 'username'?" in error


def test_missing_config_is_one_clear_error(tmp_path: Path) -> None:
    assert errors_of(tmp_path / "nope.yaml") == [
        f"error: config not found: {tmp_path / 'nope.yaml'} (create it, or pass --config FILE)"
    ]


def test_results_template_fills_and_resolves(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, BASE + "  - {id: 1, name: h, type: hive, embedded: true}\n"))
    assert config.results_location(31, 27) == f"{tmp_path}/results/31/27/"


@pytest.mark.parametrize("prefix", ["s3://bucket/a\\\\b/", "s3://bucket/a\\tb/"])
def test_manifest_prefix_refuses_backslashes_and_control_characters(tmp_path: Path, prefix: str) -> None:
    path = write(
        tmp_path,
        BASE
        + "  - {id: 3, name: rs, type: redshift, host: h, database: dev, user: u, password: '${P}', s3: 4,"
        + f' manifestPrefix: "{prefix}"}}\n'
        + "  - {id: 4, name: s3, type: s3}\n",
    )
    (error,) = errors_of(path)
    assert "connections[0].manifestPrefix must be an s3://bucket/prefix/ URI ending in '/', without backsl" in error


def test_manifest_prefix_takes_any_key_an_s3_object_may_have(tmp_path: Path) -> None:
    """A key is the bytes as written: '#', '?', '%', spaces, quotes, ${x} and non-ASCII included."""
    prefix = "s3://bucket/own #1?%20 it's ${x} é/"
    path = write(
        tmp_path,
        BASE
        + "  - {id: 3, name: rs, type: redshift, host: h, database: dev, user: u, password: '${P}', s3: 4,"
        + f' iamRole: "arn:aws:iam::123456789012:role/r", manifestPrefix: "{prefix}"}}\n'
        + "  - {id: 4, name: s3, type: s3}\n",
    )
    assert load_config(path).connections[0].settings_of(RedshiftSettings).manifest_prefix == prefix


def test_a_config_that_is_not_utf8_is_one_positioned_error(tmp_path: Path) -> None:
    path = tmp_path / "publisher.yaml"
    path.write_bytes(BASE.encode() + b"  - {id: 1, name: h\xf6st, type: hive, embedded: true}\n")
    assert errors_of(path) == [
        f"{path}:3:20: error: not UTF-8 text: byte 0xf6 at offset 74 (invalid start byte); save the file as UTF-8"
    ]


def test_a_redshift_connection_without_credentials_for_copy_is_refused(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        BASE
        + "  - {id: 3, name: rs, type: redshift, host: h, database: dev, user: u, password: '${RS_PW}', s3: 4}\n"
        + "  - {id: 4, name: s3, type: s3}\n",
    )
    (error,) = errors_of(path)
    assert error.endswith(
        "connection rs: COPY needs credentials: set iamRole, or accessKeyId and secretAccessKey "
        "(as ${ENV} references) on its s3 connection"
    )
