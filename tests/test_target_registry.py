"""The registry lists every target with every descriptor field filled, and
docs/architecture.md's checklist of what a new target touches stays true."""

from __future__ import annotations

import ast
import importlib
import re
from dataclasses import fields
from pathlib import Path
from typing import get_args

import pytest

from publisher.dialects import dialect_for
from publisher.dialects.base import ReplaceVia
from publisher.inputs.validation import PRECOMPILED, schema
from publisher.model.vocabulary import CONNECTION_TYPES, INPUT_FORMATS, TARGET_TYPES
from publisher.targets import TARGETS, TargetDescriptor, target
from publisher.targets.base import LedgerHome, NameCase

ROOT = Path(__file__).resolve().parent.parent
CHECKLIST = ROOT / "docs" / "architecture.md"


def test_the_registry_lists_every_target_type_in_order() -> None:
    assert tuple(TARGETS) == TARGET_TYPES
    assert all(name in CONNECTION_TYPES for name in TARGETS)
    assert all(target(name) is descriptor for name, descriptor in TARGETS.items())


@pytest.mark.parametrize("name", TARGET_TYPES)
def test_every_descriptor_field_is_filled(name: str) -> None:
    descriptor = TARGETS[name]  # type: ignore[index]
    assert descriptor.name == name
    for f in fields(TargetDescriptor):
        value = getattr(descriptor, f.name)
        if isinstance(value, (str, tuple)) and f.name != "default_schema":
            assert value, f"{name}: {f.name} is empty"
    assert descriptor.has_schemas == (descriptor.default_schema is not None)
    assert set(descriptor.input_formats) <= set(INPUT_FORMATS)
    assert descriptor.region_refused_formats <= set(descriptor.input_formats)
    assert descriptor.name_case in get_args(NameCase)
    assert descriptor.ledger_home in get_args(LedgerHome)
    for example in descriptor.column_type_examples.split(", "):
        assert descriptor.is_column_type(example), f"{name}: its own example {example} is not its type"


@pytest.mark.parametrize("name", TARGET_TYPES)
def test_each_descriptor_names_a_dialect_an_engine_and_its_schemas(name: str) -> None:
    descriptor = TARGETS[name]  # type: ignore[index]
    dialect = dialect_for(name)
    assert (dialect.name, dialect.title) == (descriptor.name, descriptor.title)
    assert dialect.replace_via in get_args(ReplaceVia)
    assert dialect.integer_digits
    module, _, function = descriptor.engine.partition(":")
    assert callable(getattr(importlib.import_module(module), function))
    config = schema("config.schema.json")["$defs"]
    assert descriptor.config_schema in config
    assert name in config["connection"]["properties"]["type"]["enum"]
    assert name in schema("publish-spec.schema.json")["$defs"]["target"]
    code = PRECOMPILED[("publish-spec.schema.json", "$defs", "target", name)]
    assert code == descriptor.spec_schema_code
    assert (ROOT / "publisher" / "inputs" / "schema_code" / f"{code}.py").exists()


def _checklist(section: str) -> list[str]:
    text = CHECKLIST.read_text(encoding="utf-8")
    block = text[text.index(f"<!-- {section}: begin -->") : text.index(f"<!-- {section}: end -->")]
    return re.findall(r"^- \[ \] `([^`]+)`", block, re.MULTILINE)


def test_the_checklist_names_existing_files_and_at_most_eight_outside_a_targets_own() -> None:
    outside, tests = _checklist("outside"), _checklist("tests")
    assert 0 < len(outside) <= 8, outside
    for path in outside + tests:
        assert (ROOT / path).exists(), f"docs/architecture.md names {path}, which does not exist"


def _own(path: Path, name: str) -> bool:
    """Whether a module of publisher/ is one of target ``name``'s own."""
    return path.parent.name in ("targets", "dialects", "engines") and path.name.startswith(name)


# Outside its own modules, a target's name may appear only where it is a vocabulary word:
# the closed TargetType, and the pip extras named after targets.
NAMED_ELSEWHERE = ("model/vocabulary.py", "engines/drivers.py")


def test_no_target_is_named_outside_its_own_modules() -> None:
    spelled = {n: t.name for t in TARGETS.values() for n in (t.name, t.title)}
    for path in sorted((ROOT / "publisher").rglob("*.py")):
        relative = path.relative_to(ROOT / "publisher").as_posix()
        if relative.startswith("inputs/schema_code/") or relative in NAMED_ELSEWHERE:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and node.value in spelled:
                owner = spelled[node.value]
                assert _own(path, owner), f"publisher/{relative}:{node.lineno} names {node.value!r}"
