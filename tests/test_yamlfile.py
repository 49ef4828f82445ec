from __future__ import annotations

import pytest

from publisher.errors import InvalidInput, Location
from publisher.yamlfile import load_documents


def test_values_keep_line_and_column() -> None:
    (doc,) = load_documents("a: 1\nb:\n  - x\n  - {c: true}\n", "f.yaml")
    assert doc.value == {"a": 1, "b": ["x", {"c": True}]}
    assert doc.where(("a",)) == Location("f.yaml", 1, 4)
    assert doc.where(("a",), key=True) == Location("f.yaml", 1, 1)
    assert doc.where(("b", 1, "c")) == Location("f.yaml", 4, 9)


def test_missing_path_falls_back_to_nearest_parent() -> None:
    (doc,) = load_documents("a:\n  b: 1\n", "f.yaml")
    assert doc.where(("a", "nope")) == Location("f.yaml", 2, 3)


def test_duplicate_keys_are_errors_at_the_second_key() -> None:
    with pytest.raises(InvalidInput) as err:
        load_documents("a: 1\nb: 2\na: 3\n", "f.yaml")
    assert str(err.value) == "f.yaml:3:1: error: duplicate key 'a' (first at line 1); YAML would keep only the last"


def test_nested_duplicate_keys_are_errors() -> None:
    with pytest.raises(InvalidInput, match="duplicate key 'id'"):
        load_documents("c: {id: 1, id: 2}\n", "f.yaml")


def test_unsafe_tags_are_refused() -> None:
    with pytest.raises(InvalidInput, match="unsupported YAML tag tag:yaml.org,2002:python/object/apply"):
        load_documents("a: !!python/object/apply:os.system ['true']\n", "f.yaml")


def test_merge_keys_are_refused() -> None:
    with pytest.raises(InvalidInput, match="merge keys"):
        load_documents("base: &b {x: 1}\nother:\n  <<: *b\n", "f.yaml")


def test_several_documents_and_empty_ones() -> None:
    docs = load_documents("a: 1\n---\n---\nb: 2\n", "f.yaml")
    assert [d.value for d in docs] == [{"a": 1}, {"b": 2}]
    assert docs[1].start.line == 4


def test_yaml_dates_stay_text() -> None:
    (doc,) = load_documents("d: 2026-01-01\n", "f.yaml")
    assert doc.value == {"d": "2026-01-01"}
