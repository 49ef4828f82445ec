"""Schemas and code must not drift apart: one vocabulary, one definition."""

from __future__ import annotations

from pathlib import Path

from publisher.inputs.validation import schema
from publisher.model.vocabulary import (
    ACTIONS,
    CONNECTION_TYPES,
    HIVE_AUTH_MODES,
    INPUT_FORMATS,
    SSL_MODES,
    TARGET_FORMATS,
)


def test_spec_schema_actions_equal_code() -> None:
    assert schema("publish-spec.schema.json")["properties"]["action"]["enum"] == list(ACTIONS)


def test_spec_schema_formats_equal_code() -> None:
    assert schema("publish-spec.schema.json")["properties"]["inputFormat"]["enum"] == list(INPUT_FORMATS)


def test_per_target_formats_equal_code() -> None:
    rules = schema("publish-spec.schema.json")["$defs"]["target"]
    for target, formats in TARGET_FORMATS.items():
        assert rules[target]["properties"]["inputFormat"]["enum"] == list(formats)


def test_config_connection_types_equal_code() -> None:
    assert schema("config.schema.json")["$defs"]["connection"]["properties"]["type"]["enum"] == list(CONNECTION_TYPES)


def test_config_hive_auth_and_sslmode_equal_code() -> None:
    config = schema("config.schema.json")["$defs"]
    assert config["hive"]["properties"]["auth"]["enum"] == list(HIVE_AUTH_MODES)
    assert config["redshift"]["properties"]["sslmode"]["enum"] == list(SSL_MODES)


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
        "maxItems",
        "items",
        "enum",
        "propertyNames",
        "x-message",
        "hive",
        "redshift",
        "target",
    }

    def keywords(node: dict[str, object]) -> set[str]:
        found = set(node)
        for key, value in node.items():
            if key in ("properties", "$defs") and isinstance(value, dict):
                for sub in value.values():
                    found |= keywords(sub)
            elif key in ("items", "additionalProperties", "propertyNames", "hive", "redshift", "not") and isinstance(
                value, dict
            ):
                found |= keywords(value)
            elif key == "allOf" and isinstance(value, list):
                for sub in value:
                    found |= keywords(sub)
        return found

    assert keywords(schema("publish-spec.schema.json")) <= known
