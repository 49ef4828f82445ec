"""Result column names a target cannot hold, and tables publisher keeps for itself."""

from __future__ import annotations

import csv
import json
from dataclasses import replace
from pathlib import Path

import fastavro
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from publisher.dialects import dialect_for
from publisher.model.errors import InvalidInput
from publisher.planning.planner import result_columns
from publisher.results import Column, inspect_results
from tests.test_planner_golden import make_results, make_spec


def write(folder: Path, fmt: str, names: list[str]) -> Path:
    folder.mkdir()
    file = folder / f"part-0.{fmt}"
    if fmt == "pqt":
        pq.write_table(pa.table({n: [1] for n in names}), file)
    elif fmt == "avro":
        # fastavro checks nothing about names: write the schema as a job could.
        schema = {"type": "record", "name": "r", "fields": [{"name": n, "type": "long"} for n in names]}
        with open(file, "wb") as f:
            fastavro.writer(f, fastavro.parse_schema(schema), [dict.fromkeys(names, 1)])
    elif fmt == "csv":
        with open(file, "w", newline="") as f:
            csv.writer(f).writerows([names, [1] * len(names)])
    else:
        file.write_text(json.dumps(dict.fromkeys(names, 1)) + "\n")
    return file


@pytest.mark.parametrize("fmt", ["pqt", "avro", "csv", "json"])
def test_names_that_differ_only_in_case_are_refused(tmp_path: Path, fmt: str) -> None:
    file = write(tmp_path / "r", fmt, ["id", "Dup", "dup"])
    with pytest.raises(InvalidInput) as err:
        inspect_results(f"{tmp_path}/r/", fmt)  # type: ignore[arg-type]
    assert str(err.value) == (
        f"error: {file}: columns 'Dup' and 'dup' differ only in case; rename the columns where the job writes them"
    )


@pytest.mark.parametrize("fmt", ["pqt", "csv", "json"])
@pytest.mark.parametrize("name", ["a\nb", "tab\there", "nul\x00", "\u2028"])
def test_control_characters_are_refused(tmp_path: Path, fmt: str, name: str) -> None:
    write(tmp_path / "r", fmt, ["id", name])
    with pytest.raises(InvalidInput) as err:
        inspect_results(f"{tmp_path}/r/", fmt)  # type: ignore[arg-type]
    if fmt == "csv" and name.endswith("\x00"):
        assert "binary data" in str(err.value)  # refused earlier: text files hold no NUL
    elif fmt == "csv" and name == "\u2028":
        assert "header column 2 has no name" in str(err.value)  # refused earlier: blank to str.strip()
    else:
        assert f"column 2 name {name!r} holds a control character" in str(err.value)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("fmt", ["pqt", "json"])
def test_empty_names_are_refused(tmp_path: Path, fmt: str) -> None:
    write(tmp_path / "r", fmt, ["id", ""])
    with pytest.raises(InvalidInput, match="column 2 has no name"):
        inspect_results(f"{tmp_path}/r/", fmt)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "target,name,fits",
    [
        ("hive", "a" * 128, True),
        ("hive", "a" * 129, False),
        ("hive", "é" * 128, True),  # characters, not bytes
        ("redshift", "a" * 127, True),
        ("redshift", "a" * 128, False),
        ("redshift", "é" * 64, False),  # 128 bytes of UTF-8
    ],
)
def test_names_longer_than_the_target_allows(tmp_path: Path, target: str, name: str, fits: bool) -> None:
    spec = make_spec(tmp_path, target, "create", "pqt")
    results = make_results(target, "pqt")
    results = replace(results, columns=(*results.columns, Column(name, pa.int64(), True)))
    if fits:
        assert result_columns(dialect_for(target), spec, results)[-1].name == name  # type: ignore[arg-type]
        return
    with pytest.raises(InvalidInput) as err:
        result_columns(dialect_for(target), spec, results)  # type: ignore[arg-type]
    # Planning errors are placed at the spec by the caller (workflow.make_plan).
    assert str(err.value).startswith(f"error: {results.files[0].uri}: column name {name[:20]!r}...")
    assert f"{target.capitalize()} allows {127 if target == 'redshift' else 128}" in str(err.value)
