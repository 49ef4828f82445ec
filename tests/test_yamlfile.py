from __future__ import annotations

import time

import pytest

from publisher.inputs.yamlfile import decode, load_documents
from publisher.model.errors import InvalidInput, Location


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
        # (with an alias, the alias is refused first)
        load_documents("other:\n  <<: {x: 1}\n", "f.yaml")


def test_several_documents_and_empty_ones() -> None:
    docs = load_documents("a: 1\n---\n---\nb: 2\n", "f.yaml")
    assert [d.value for d in docs] == [{"a": 1}, {"b": 2}]
    assert docs[1].start.line == 4


def test_yaml_dates_stay_text() -> None:
    (doc,) = load_documents("d: 2026-01-01\n", "f.yaml")
    assert doc.value == {"d": "2026-01-01"}


def test_aliases_are_refused_at_their_position() -> None:
    with pytest.raises(InvalidInput) as err:
        load_documents("a: &x 1\nb: *x\n", "f.yaml")
    assert str(err.value) == "f.yaml:2:4: error: YAML aliases (*x) are not supported: write the value out"


def test_an_alias_bomb_is_refused_fast() -> None:
    # Nine levels of nine aliases each: 9**9 (387 million) strings if expanded.
    lines = ['l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]" for i in range(1, 10)]
    started = time.process_time()
    with pytest.raises(InvalidInput, match=r"f.yaml:2:10: error: YAML aliases \(\*l0\)"):
        load_documents("\n".join(lines) + "\n", "f.yaml")
    assert time.process_time() - started < 1


def test_an_asterisk_in_a_string_is_not_an_alias() -> None:
    (doc,) = load_documents("source: 's3://b/*'\nx: a*b\n", "f.yaml")
    assert doc.value == {"source": "s3://b/*", "x": "a*b"}


def test_deep_nesting_is_an_error_not_a_recursion_error() -> None:
    with pytest.raises(InvalidInput, match="nested more than 32 levels deep"):
        load_documents("a: " + "[" * 900 + "]" * 900 + "\n", "f.yaml")


def test_a_megabyte_spec_is_judged_within_a_second() -> None:
    text = "columnTypes:\n" + "".join(f"  c{i}: BIGINT\n" for i in range(60_000))
    assert len(text) > 1_000_000
    # CPU time, not wall time: the bound is about the parser, not about a busy CI machine.
    started = time.process_time()
    (doc,) = load_documents(text, "f.yaml")
    assert len(doc.value["columnTypes"]) == 60_000
    assert time.process_time() - started < 2  # about 0.9 s of CPU here


def test_non_utf8_names_the_file_line_column_and_offset() -> None:
    with pytest.raises(InvalidInput) as err:
        decode("a: 1\nb: caf\xe9\n".encode("latin-1"), "f.yaml")
    assert str(err.value) == (
        "f.yaml:2:7: error: not UTF-8 text: byte 0xe9 at offset 11 (invalid continuation byte); save the file as UTF-8"
    )
