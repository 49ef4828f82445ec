"""CSV and JSON results: every value reaches the table as written (issue 22).

Column types come from a sample's text, checked value by value: leading zeros stay text,
decimals stay exact, integers beyond BIGINT stay exact, sub-microsecond timestamps are
refused rather than rounded, JSON fields the sample missed are errors, and subfolders the
publisher does not read are named in the plan.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from publisher.dialects.redshift_types import redshift_type
from publisher.dialects.types import UnsupportedType
from publisher.model.errors import InvalidInput
from publisher.planning.planner import plan_publication
from publisher.reports.render import publication_text
from publisher.results import Results, inspect_results


def csv_result(tmp_path: Path, header: str, *lines: str) -> Results:
    folder = tmp_path / "r"
    folder.mkdir(exist_ok=True)
    (folder / "part-0.csv").write_text(header + "\n" + "".join(line + "\n" for line in lines))
    return inspect_results(str(folder), "csv")


def json_result(tmp_path: Path, *files: list[dict[str, Any]] | str) -> Results:
    folder = tmp_path / "r"
    folder.mkdir(parents=True, exist_ok=True)
    for i, records in enumerate(files):
        text = records if isinstance(records, str) else "".join(json.dumps(r) + "\n" for r in records)
        (folder / f"part-{i}.json").write_text(text)
    return inspect_results(str(folder), "json")


def types(results: Results) -> dict[str, pa.DataType]:
    return {c.name: c.type for c in results.columns}


def error(tmp_path: Path, fmt: Any) -> str:
    with pytest.raises(InvalidInput) as exc:
        inspect_results(str(tmp_path / "r"), fmt)
    return exc.value.message


# --- Leading zeros ------------------------------------------------------------------


def test_csv_leading_zeros_keep_the_column_text(tmp_path: Path) -> None:
    res = csv_result(
        tmp_path,
        "code,negative,decimal,zero,half,plain",
        "01234,-01,007.5,0,0.5,12",
        "55555,2,1.5,1,-0.25,0",
    )
    found = types(res)
    assert found["code"] == pa.string()  # 01234 would have become 1234
    assert found["negative"] == pa.string()
    assert found["decimal"] == pa.string()
    assert found["zero"] == pa.int64()  # "0" itself is no leading zero
    assert found["half"] == pa.decimal128(2, 2)  # nor is the 0 of 0.5
    assert found["plain"] == pa.int64()
    assert res.warnings == ()


def test_json_strings_with_leading_zeros_stay_strings(tmp_path: Path) -> None:
    res = json_result(tmp_path, [{"code": "01234", "n": 7}, {"code": "00001", "n": 0}])
    assert types(res) == {"code": pa.string(), "n": pa.int64()}


# --- Exact decimals -----------------------------------------------------------------


def test_csv_decimals_are_exact_with_the_widest_scale_and_integer_part(tmp_path: Path) -> None:
    res = csv_result(
        tmp_path,
        "price,big,mixed,negative",
        "1.10,12345678901234567.25,3,-1.5",
        "22.5,0.125,4.75,-100.001",
    )
    found = types(res)
    assert found["price"] == pa.decimal128(4, 2)  # 1.10 keeps its trailing zero's scale; 22 needs 2 digits
    assert found["big"] == pa.decimal128(20, 3)  # 17 integer digits, scale 3 from 0.125
    assert found["mixed"] == pa.decimal128(3, 2)
    assert found["negative"] == pa.decimal128(6, 3)
    assert redshift_type(found["big"]) == "DECIMAL(20,3)"
    assert res.warnings == ()


def test_csv_exponents_and_too_many_digits_are_doubles_with_a_warning(tmp_path: Path) -> None:
    wide = "1" * 30 + "." + "1" * 10  # 40 digits: more than DECIMAL's 38
    res = csv_result(tmp_path, "exp,wide,fine", f"1.5e3,{wide},1.5", "2.25,1.5,2.5")
    found = types(res)
    assert found["exp"] == pa.float64()
    assert found["wide"] == pa.float64()
    assert found["fine"] == pa.decimal128(2, 1)
    exp, wide_warning = res.warnings
    assert exp.startswith("column 'exp' is published as a double: values such as 1.5e3 are not plain decimals;")
    assert "a double keeps 15 to 17 significant digits and rounds the rest" in exp
    assert "DECIMAL(p,s) or VARCHAR in columnTypes" in exp
    assert wide_warning.startswith(
        "column 'wide' is published as a double: values need 40 digits (30 before the point, 10 after), "
        "more than DECIMAL's 38;"
    )


def test_json_decimals_and_big_integers_are_exact(tmp_path: Path) -> None:
    big = 12345678901234567890123  # 23 digits: beyond BIGINT
    huge = int("9" * 40)  # beyond DECIMAL(38)
    res = json_result(
        tmp_path,
        f'{{"id": 1, "big": {big}, "huge": {huge}, "amount": 1.10, "ratio": 1e-3}}\n'
        + '{"id": 2, "big": 5, "huge": 1, "amount": 12345678901234567.25, "ratio": 0.5}\n',
    )
    found = types(res)
    assert found["id"] == pa.int64()
    assert found["big"] == pa.decimal128(38, 0)
    assert redshift_type(found["big"]) == "DECIMAL(38,0)"
    assert found["huge"] == pa.string()  # kept as written rather than rounded to a double
    assert found["amount"] == pa.decimal128(19, 2)
    assert found["ratio"] == pa.float64()
    (warning,) = res.warnings
    assert warning.startswith("column 'ratio' is published as a double: values such as 1e-3 are not plain decimals")


def test_csv_integers_beyond_bigint(tmp_path: Path) -> None:
    res = csv_result(tmp_path, "big,huge", f"12345678901234567890123,{'9' * 40}", "1,2")
    assert types(res) == {"big": pa.decimal128(38, 0), "huge": pa.string()}


# --- Timestamps ---------------------------------------------------------------------


def test_csv_timestamps_keep_microseconds_and_refuse_finer_ones(tmp_path: Path) -> None:
    res = csv_result(
        tmp_path,
        "micros,nanos,seconds",
        "2024-01-01 00:00:00.123456,2024-01-01 00:00:00.1234567,2024-01-01 00:00:00",
        "2024-01-02 00:00:00.5,2024-01-02 00:00:00.5,2024-01-02 00:00:01",
    )
    found = types(res)
    assert found["micros"] == pa.timestamp("us")
    assert found["nanos"] == pa.timestamp("ns")
    assert found["seconds"] == pa.timestamp("s")
    assert redshift_type(found["micros"]) == "TIMESTAMP"
    # As Parquet nanoseconds are: refused with the same reason, not rounded by COPY.
    with pytest.raises(UnsupportedType) as exc:
        redshift_type(found["nanos"], column="nanos")
    assert "Redshift keeps microseconds and would truncate the nanoseconds" in exc.value.message
    assert "columnTypes" in exc.value.message  # the way to keep the text, or accept the rounding


def test_json_timestamps_with_seven_digits_stay_text(tmp_path: Path) -> None:
    res = json_result(tmp_path, [{"at": "2024-01-01 00:00:00.1234567"}, {"at": "2024-01-01 00:00:01.5"}])
    assert types(res) == {"at": pa.string()}


# --- JSON fields the sample did not see ---------------------------------------------


def test_json_field_first_seen_after_the_sample_is_an_error_naming_file_and_line(tmp_path: Path) -> None:
    rows: list[dict[str, Any]] = [{"id": i} for i in range(1000)] + [{"id": 1000, "late": "x"}]
    json_result_folder = tmp_path / "r"
    json_result_folder.mkdir()
    (json_result_folder / "part-0.json").write_text("".join(json.dumps(r) + "\n" for r in rows))
    message = error(tmp_path, "json")
    part = json_result_folder / "part-0.json"
    assert message == (
        f"{part}:1001: field 'late' is not in the schema inferred from the first 1000 lines of {part} "
        "(fields: id); the schema comes from a sample, so every field must appear in it: write every field "
        "on every line, null where it has no value (Spark: ignoreNullFields=false)"
    )
    assert "\n" not in message


def test_json_field_only_in_another_file_is_an_error_with_that_files_line(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput) as exc:
        json_result(tmp_path, [{"id": 1, "name": "a"}], [{"id": 2}, {"id": 3}, {"id": 4, "name": "d", "extra": 1}])
    message = exc.value.message
    assert message.startswith(f"{tmp_path / 'r' / 'part-1.json'}:3: field 'extra' is not in the schema")
    assert f"the first 1 lines of {tmp_path / 'r' / 'part-0.json'} (fields: id, name)" in message


def test_json_nested_field_the_sample_missed_is_named_by_its_path(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput) as exc:
        json_result(tmp_path, [{"pos": {"lat": 1.5}, "items": [{"sku": "a"}]}], [{"items": [{"sku": "b", "qty": 2}]}])
    assert exc.value.message.startswith(f"{tmp_path / 'r' / 'part-1.json'}:1: field 'items.qty' is not in")


def test_json_fields_within_the_schema_pass_whatever_their_order_or_nulls(tmp_path: Path) -> None:
    res = json_result(tmp_path, [{"a": 1, "b": "x"}], [{"b": None, "a": 2}, {"a": 3}, {}])
    assert types(res) == {"a": pa.int64(), "b": pa.string()}


def test_json_line_that_is_no_object_is_named_by_its_line(tmp_path: Path) -> None:
    folder = tmp_path / "r"
    folder.mkdir()
    (folder / "a.json").write_text('{"x": 1}\n')
    (folder / "b.json").write_text('{"x": 2}\n\n[1, 2]\n')
    message = error(tmp_path, "json")
    assert message.startswith(f"{folder / 'b.json'} is not a readable newline-delimited JSON file")
    assert message.endswith("line 3 is not a JSON object")


# --- Subfolders ---------------------------------------------------------------------


def test_subfolders_of_a_result_are_named_in_its_warnings(tmp_path: Path) -> None:
    folder = tmp_path / "r"
    (folder / "dt=2024-01-02").mkdir(parents=True)
    (folder / "dt=2024-01-02" / "part-0.csv").write_text("id\n2\n")
    (folder / "_temporary").mkdir()  # Hadoop's: ignored, as its files are
    (folder / ".spark-staging").mkdir()
    (folder / "part-0.csv").write_text("id\n1\n")
    res = inspect_results(str(folder), "csv")
    assert [Path(f.uri).name for f in res.files] == ["part-0.csv"]
    assert res.warnings == (
        f"not read: 1 subfolder(s) of {folder}/, dt=2024-01-02/; only the files directly in the results "
        "folder are published (names starting with '_' or '.' are ignored)",
    )


def test_a_result_of_subfolders_only_says_so(tmp_path: Path) -> None:
    folder = tmp_path / "r"
    for i in range(7):
        (folder / f"dt=2024-01-0{i + 1}").mkdir(parents=True)
    message = error(tmp_path, "pqt")
    assert message.endswith(
        "expected Parquet files; it holds only subfolders, which are not read: dt=2024-01-01/, dt=2024-01-02/, "
        "dt=2024-01-03/, dt=2024-01-04/, dt=2024-01-05/ and 2 more"
    )


# --- What the plan shows ------------------------------------------------------------


def test_result_warnings_are_the_plans_warnings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.test_planner_golden import NOW, make_results, make_spec, round_tripped, view

    monkeypatch.chdir(tmp_path)
    spec = make_spec(tmp_path, "redshift", "createAndLoad", "csv")
    said = ("not read: 1 subfolder(s) of s3://results-bucket/jobs/31/27/, dt=1/; ...", "column 'x' is ...")
    results = replace(make_results("redshift", "csv"), warnings=said)
    publication = round_tripped(plan_publication(spec, results, view("redshift", "createAndLoad"), NOW))
    assert publication.warnings[:2] == said
    text = publication_text(1, publication)
    assert f"    warning: {said[0]}\n    warning: {said[1]}" in text


def test_json_values_of_another_type_than_the_samples_are_checked_line_by_line(tmp_path: Path) -> None:
    """pyarrow's fast reader stops at a value of another type (COPY may still convert it):
    the line-by-line check then decides, on fields alone."""
    sampled: list[dict[str, Any]] = [{"id": i} for i in range(1000)]
    fine = [*sampled, {"id": "1000"}]
    assert types(json_result(tmp_path / "a", fine)) == {"id": pa.int64()}
    with pytest.raises(InvalidInput) as exc:
        json_result(tmp_path / "b", [*fine, {"id": 1001, "new": True}])
    assert exc.value.message.startswith(f"{tmp_path / 'b' / 'r' / 'part-0.json'}:1002: field 'new' is not in")
