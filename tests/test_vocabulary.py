"""Schemas and code must not drift apart: one vocabulary, one definition."""

from __future__ import annotations

from dataclasses import MISSING, fields
from pathlib import Path
from typing import Any, get_args, get_type_hints

import pytest

from publisher.inputs.config import SETTINGS, Ledger, setting_key
from publisher.inputs.validation import PRECOMPILED, schema, schema_digest
from publisher.model.secret import Secret
from publisher.model.vocabulary import (
    ACTIONS,
    CONNECTION_TYPES,
    HIVE_AUTH_MODES,
    INPUT_FORMATS,
    SSL_MODES,
    TARGET_TYPES,
    ConnectionType,
)
from publisher.targets import TARGETS


def test_spec_schema_actions_equal_code() -> None:
    assert schema("publish-spec.schema.json")["properties"]["action"]["enum"] == list(ACTIONS)


def test_spec_schema_formats_equal_code() -> None:
    assert schema("publish-spec.schema.json")["properties"]["inputFormat"]["enum"] == list(INPUT_FORMATS)


def test_per_target_formats_equal_code() -> None:
    rules = schema("publish-spec.schema.json")["$defs"]["target"]
    for name, target in TARGETS.items():
        assert rules[name]["properties"]["inputFormat"]["enum"] == list(target.input_formats)


def test_config_connection_types_equal_code() -> None:
    assert schema("config.schema.json")["$defs"]["connection"]["properties"]["type"]["enum"] == list(CONNECTION_TYPES)


def test_config_hive_auth_and_sslmode_equal_code() -> None:
    config = schema("config.schema.json")["$defs"]
    assert config["hive"]["properties"]["auth"]["enum"] == list(HIVE_AUTH_MODES)
    assert config["redshift"]["properties"]["sslmode"]["enum"] == list(SSL_MODES)


# Defaults the schema cannot state: it allows only embedded: true, and without it a hive
# connection is a HiveServer2.
IMPLIED_DEFAULTS = {("hive", "embedded"): False}


def _agree(kind: str, cls: type[Any], rule: dict[str, Any]) -> None:
    """The fields of ``cls`` are the keys of ``rule``, in order, required alike, with its
    defaults, and typed Secret exactly where the schema says secret."""
    properties = {k: v for k, v in rule["properties"].items() if k not in ("id", "name", "type")}
    hints = get_type_hints(cls)
    assert [setting_key(f.name) for f in fields(cls)] == list(properties), kind
    for f in fields(cls):
        key = setting_key(f.name)
        prop = properties[key]
        required = f.default is MISSING and f.default_factory is MISSING
        assert required == (key in rule.get("required", ())), (kind, key)
        if isinstance(f.default, Ledger):
            assert prop == {"$ref": "#/$defs/ledger"}, (kind, key)
            continue
        declared = prop.get("default", IMPLIED_DEFAULTS.get((kind, key)))
        assert (None if required else f.default) == declared, (kind, key)
        secret = hints[f.name] is Secret or Secret in get_args(hints[f.name])
        assert secret == (prop.get("$ref") == "#/$defs/secret"), (kind, key)


@pytest.mark.parametrize("kind", list(CONNECTION_TYPES))
def test_config_settings_equal_schema(kind: ConnectionType) -> None:
    _agree(kind, SETTINGS[kind], schema("config.schema.json")["$defs"][kind])


def test_config_ledger_equals_schema() -> None:
    _agree("ledger", Ledger, schema("config.schema.json")["$defs"]["ledger"])


def test_every_spec_property_has_description_and_examples() -> None:
    for name, prop in schema("publish-spec.schema.json")["properties"].items():
        assert prop.get("description"), name
        assert prop.get("examples"), name


def test_every_config_property_has_description() -> None:
    config = schema("config.schema.json")
    for kind in ("hive", "redshift", "s3"):
        for name, prop in config["$defs"][kind]["properties"].items():
            if name in ("id", "name", "type"):
                continue
            assert prop.get("description") or prop.get("$ref") == "#/$defs/ledger", (kind, name)


def test_fast_and_full_validators_agree_on_the_corpus() -> None:
    """The compiled fast path must accept exactly what jsonschema accepts."""
    import fastjsonschema

    from publisher.inputs.validation import _compiled, validator
    from publisher.inputs.yamlfile import load_documents

    cases = Path(__file__).parent / "cases"
    files = sorted(cases.glob("*/*.yaml")) + sorted((Path(__file__).parent.parent / "specs").glob("*.yaml"))
    assert len(files) > 20
    for path in files:
        try:
            docs = load_documents(path.read_text(), str(path))
        except Exception:
            continue  # YAML errors never reach a validator
        for doc in docs:
            full = not list(validator("publish-spec.schema.json").iter_errors(doc.value))
            try:
                _compiled("publish-spec.schema.json")(doc.value)
                fast = True
            except fastjsonschema.JsonSchemaException:
                fast = False
            assert fast == full, path


_HIVE = {"id": 1, "name": "local", "type": "hive", "embedded": True}
_HS2 = {"id": 2, "name": "hs2", "type": "hive", "host": "h", "port": 10000, "auth": "NONE"}
_REDSHIFT = {
    "id": 3, "name": "rs", "type": "redshift", "host": "c.example.com", "port": 5439, "database": "dev",
    "user": "publisher", "password": "${PW}", "iamRole": "arn:aws:iam::123456789012:role/p", "s3": 4,
}  # fmt: skip
_S3 = {"id": 4, "name": "results", "type": "s3", "region": "us-east-1", "endpointUrl": "http://127.0.0.1:9000"}


def _configs() -> list[dict[str, Any]]:
    """A valid config, and one variant for each way a connection can break the schema."""
    base = {"results": "results/{jobGroup}/{flowNodeId}/", "connections": [_HIVE, _HS2, _REDSHIFT, _S3]}
    variants: list[dict[str, Any]] = [base, {**base, "server": {"tokens": ["${T}"], "port": 8080}}]
    for i, conn in enumerate(base["connections"]):
        for change in (
            {"unknownKey": 1},  # each type's additionalProperties
            {"embedded": True, "host": "h"},  # hive: one of embedded or host
            {"type": "mysql"},
            {"id": 0},
            {"port": "x"},
            {"password": "plain"},
            {"ledger": {"database": "x", "extra": 1}},
        ):
            changed = [dict(c) for c in base["connections"]]
            changed[i] = {**conn, **change}
            variants.append({**base, "connections": changed})
        without_host = {k: v for k, v in conn.items() if k != "host"}
        variants.append({**base, "connections": [without_host]})
    variants += [{**base, "results": "no/placeholders/"}, {**base, "bogus": 1}, {"results": "x"}]
    return variants


def test_fast_and_full_validators_agree_on_configs() -> None:
    """load_config takes the compiled fast path too: it must accept exactly what jsonschema accepts."""
    import fastjsonschema

    from publisher.inputs.validation import _compiled, validator

    verdicts = []
    for config in _configs():
        full = not list(validator("config.schema.json").iter_errors(config))
        try:
            _compiled("config.schema.json")(config)
            fast = True
        except fastjsonschema.JsonSchemaException:
            fast = False
        assert fast == full, config
        verdicts.append(full)
    assert verdicts.count(True) >= 2 and verdicts.count(False) > 20  # both sides exercised


def test_spec_schema_uses_only_keywords_fastjsonschema_checks() -> None:
    known = {
        "$schema",
        "$id",
        "$ref",
        "$defs",
        "title",
        "description",
        "examples",
        "type",
        "properties",
        "additionalProperties",
        "required",
        "minProperties",
        "maxProperties",
        "minimum",
        "maximum",
        "allOf",
        "not",
        "pattern",
        "minLength",
        "minItems",
        "uniqueItems",
        "maxItems",
        "items",
        "enum",
        "propertyNames",
        "x-message",
        "x-actions",  # publisher's own: which actions take the key (inputs/spec.py)
        "x-why",
        "if",
        "then",
        "const",
        *TARGET_TYPES,  # $defs/target/<name>: each target's spec rules
        "target",
    }

    NESTED = ("items", "additionalProperties", "propertyNames", *TARGET_TYPES, "not", "if", "then")

    def keywords(node: dict[str, object]) -> set[str]:
        found = set(node)
        for key, value in node.items():
            if key in ("properties", "$defs") and isinstance(value, dict):
                for sub in value.values():
                    found |= keywords(sub)
            elif key in NESTED and isinstance(value, dict):
                found |= keywords(value)
            elif key == "allOf" and isinstance(value, list):
                for sub in value:
                    found |= keywords(sub)
        return found

    assert keywords(schema("publish-spec.schema.json")) <= known


@pytest.mark.parametrize("key", list(PRECOMPILED), ids=list(PRECOMPILED.values()))
def test_generated_schema_code_is_of_the_schema_as_it_is(key: tuple[str, ...]) -> None:
    """validate and plan import each schema's generated code instead of compiling the schema;
    after a schema changes they compile it again on every run until the code is generated anew."""
    import importlib

    code = importlib.import_module(f"publisher.inputs.schema_code.{PRECOMPILED[key]}")
    assert schema_digest(*key) == code.SCHEMA_SHA256, "run: .venv/bin/python scripts/compile_schemas.py"


def test_the_fast_path_uses_the_generated_code() -> None:
    from publisher.inputs.validation import _compiled

    for key, module in PRECOMPILED.items():
        assert _compiled(*key).__module__ == f"publisher.inputs.schema_code.{module}"


def test_a_schema_edited_since_its_code_was_generated_is_compiled_as_it_is(monkeypatch: pytest.MonkeyPatch) -> None:
    from publisher.inputs import validation

    monkeypatch.setattr(validation, "schema_digest", lambda *key: "edited")
    validation._compiled.cache_clear()
    try:
        fresh = validation._compiled("publish-spec.schema.json")
        assert fresh.__module__ != "publisher.inputs.schema_code.publish_spec"
        import fastjsonschema
        import yaml

        valid = yaml.safe_load((Path(__file__).parent.parent / "specs" / "10_customers.yaml").read_text())
        fresh(valid)
        with pytest.raises(fastjsonschema.JsonSchemaException):
            fresh({**valid, "action": "upsert"})
    finally:
        validation._compiled.cache_clear()
