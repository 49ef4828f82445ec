"""Schemas and code must not drift apart: one vocabulary, one definition."""

from __future__ import annotations

from publisher.validation import schema
from publisher.vocabulary import ACTIONS, CONNECTION_TYPES, INPUT_FORMATS, TARGET_FORMATS


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
