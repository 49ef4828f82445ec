"""End to end: specs applied through the CLI into Redshift, through the real redshift-connector.

Needs a Redshift endpoint and its S3 (see tests/fixtures/redshift.py): the stand-in that
``bash .ci/services/redshift_standin.sh start`` runs. Without one these tests skip, except
test_generated_sql_of_golden_plans_parses, which needs no service.
"""

from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from publisher.model.target import ColumnState
from tests.fixtures.redshift import RedshiftEngine, RedshiftProject
from tests.resultfiles import normalized, rows, write, write_csv, write_json

redshift_only = pytest.mark.redshift

# CSV and JSON carry no types: their schema is inferred from a sample, where a decimal is a
# float, and a timestamp with microseconds is a string (JSON) or has nanoseconds (CSV).
# Specs of text results say the types they mean.
TEXT_TYPES = {"amount": "DECIMAL(10,2)", "at": "TIMESTAMPTZ", "day": "DATE"}

# format_type() of the results' columns, as the publisher creates them.
TYPES = [
    ("id", "bigint"),
    ("name", "character varying(65535)"),
    ("amount", "numeric(10,2)"),
    ("at", "timestamp with time zone"),
    ("day", "date"),
    ("tags", "super"),
]
TYPES_BY_FORMAT = {
    "pqt": TYPES,
    "avro": TYPES,
    "json": TYPES,  # nested JSON values load into SUPER
    "csv": TYPES[:-1] + [("tags", "character varying(65535)")],  # a CSV field is text: JSON text here
}
DDL = {"bigint": "BIGINT", "super": "SUPER", "character varying(65535)": "VARCHAR(65535)"}


def table_ddl(rs: RedshiftEngine, name: str, fmt: str, *, amount: str = "DECIMAL(10,2)") -> str:
    tags = DDL[dict(TYPES_BY_FORMAT[fmt])["tags"]]
    return (
        f"CREATE TABLE {rs.qualified(name)} (id BIGINT, name VARCHAR(65535), amount {amount}, "
        f"at TIMESTAMPTZ, day DATE, tags {tags})"
    )


def spec(
    project: RedshiftProject,
    rs: RedshiftEngine,
    name: str,
    action: str,
    fmt: str,
    job: int,
    table: str = "t",
    **extra: Any,
) -> Path:
    keys: dict[str, Any] = {
        "jobGroup": job,
        "flowNodeId": 1,
        "connection": {"id": 1},
        "path": ["dev"],
        "table": rs.table_name(table),
        "action": action,
        "inputFormat": fmt,
    }
    if action == "merge":
        keys["mergeKeys"] = ["id"]
    if fmt in ("csv", "json") and "columnTypes" not in extra:
        keys["columnTypes"] = dict(TEXT_TYPES)
    keys.update(extra)
    return project.spec(name, **keys)


def results(
    rs: RedshiftEngine, tmp_path: Path, fmt: str, job: int, first: int, count: int, parts: int = 2
) -> list[dict[str, Any]]:
    """Writes a job's results locally (tests/resultfiles.py) and uploads them to its prefix."""
    folder = tmp_path / "local-results" / str(job)
    data = write(folder, fmt, first, count, parts, tricky=True)
    rs.upload(folder, job)
    return data


def comparable(row: tuple[Any, ...] | dict[str, Any]) -> tuple[Any, ...]:
    """A row of rows() (written) or of the table (read) as comparable values: timestamps as
    UTC instants, tags (SUPER, or JSON text in a CSV's VARCHAR) as a tuple."""
    values = list(normalized(row))
    if len(values) == 6 and isinstance(values[5], str):
        values[5] = tuple(json.loads(values[5]))
    return tuple(values)


def table_rows(rs: RedshiftEngine, table: str) -> list[tuple[Any, ...]]:
    return sorted((comparable(r) for r in rs.rows(table)), key=lambda r: r[0])


def expected(data: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return sorted((comparable(r) for r in data), key=lambda r: r[0])


def new_tables(rs: RedshiftEngine, before: set[str]) -> set[str]:
    return rs.tables() - before - {"publications"}


def applied(project: RedshiftProject, *args: str) -> str:
    result = project.run("apply", *args)
    assert result.code == 0, result.err + result.out
    return result.out


# --- 1. loads ---------------------------------------------------------------------------------
# Every action x format is in test_actions.py, on every target.


@redshift_only
@pytest.mark.parametrize("fmt", ["pqt", "avro"])  # formats whose metadata counts the rows
def test_a_load_is_checked_by_the_copys_own_count(
    redshift_project: RedshiftProject, redshift: RedshiftEngine, tmp_path: Path, fmt: str
) -> None:
    """COPY straight into the table (its columns are the results'), checked by the rows COPY
    says it added, not by COUNT(*) of the whole table before and after."""
    rs = redshift
    rs.execute(table_ddl(rs, "t", fmt))
    results(rs, tmp_path, fmt, 10, 1, 60, parts=3)
    spec(redshift_project, rs, "a", "load", fmt, 10)
    out = applied(redshift_project)
    assert "SELECT pg_last_copy_count()  -- must return 60" in out, out
    assert rs.count("t") == 60


@redshift_only
def test_csv_timestamps_publish_without_column_types(
    redshift_project: RedshiftProject, redshift: RedshiftEngine, tmp_path: Path
) -> None:
    results(redshift, tmp_path, "csv", 10, 1, 10)
    spec(redshift_project, redshift, "a", "createAndLoad", "csv", 10, columnTypes={})
    result = redshift_project.run("apply")
    assert result.code == 0, result.err
    (made,) = new_tables(redshift, set())
    assert ("at", "timestamp with time zone") in redshift.columns(made)


# --- 2. what the target must hold before anything runs -------------------------------------


@redshift_only
@pytest.mark.parametrize("action", ["load", "truncateAndLoad"])
def test_mismatched_columns_list_every_difference(
    redshift_project: RedshiftProject, redshift: RedshiftEngine, tmp_path: Path, action: str
) -> None:
    rs = redshift
    rs.execute(
        f"CREATE TABLE {rs.qualified('t')} (id INTEGER, name VARCHAR(65535), amount DECIMAL(10,2), "
        "extra_col VARCHAR(10), day DATE, tags SUPER)"
    )
    rs.execute(f"INSERT INTO {rs.qualified('t')} (id) VALUES (7)")
    results(rs, tmp_path, "pqt", 10, 1, 10)
    spec(redshift_project, rs, "a", action, "pqt", 10)
    for command in ("plan", "apply"):
        result = redshift_project.run(command)
        assert result.code == 1
        message = result.err
        assert message.startswith(
            f"specs/a.yaml:1:1: error: {action}: table dev.{rs.schema}.t does not match the results: "
        )
        assert "column id: results BIGINT do not fit table INTEGER" in message
        assert "missing column extra_col VARCHAR(10) (in the table, not in the results)" in message
        assert "extra column at TIMESTAMPTZ (in the results, not in the table)" in message
        assert "dropAndLoad recreates the table from the results" in message
        assert message.count("\n") == 1, "one error line"
    assert rs.rows("t") == [(7, None, None, None, None, None)]
    assert rs.ledger() == [], "nothing ran: not even the ledger was created"
    assert not rs.manifests()


@redshift_only
@pytest.mark.parametrize("action", ["load", "truncateAndLoad"])
def test_missing_table_is_a_plan_error(
    redshift_project: RedshiftProject, redshift: RedshiftEngine, tmp_path: Path, action: str
) -> None:
    results(redshift, tmp_path, "csv", 10, 1, 10)
    spec(redshift_project, redshift, "a", action, "csv", 10, table="nope")
    result = redshift_project.run("plan")
    assert result.code == 1
    assert result.err == (
        f"specs/a.yaml:1:1: error: {action}: table dev.{redshift.schema}.nope does not exist on redshift "
        "(id 1, redshift); createAndLoad or dropAndLoad create it\n"
    )
    assert redshift_project.run("apply").code == 1
    assert redshift.tables() == set()


@redshift_only
def test_many_specs_read_their_results_at_once_and_each_error_stays_at_its_spec(
    redshift_project: RedshiftProject, redshift: RedshiftEngine, tmp_path: Path
) -> None:
    """Results on S3 are read by several threads at once: the plan is the same as a serial
    read's, in spec order, and a spec whose results are missing is named at its own line."""
    for job in range(1, 9):
        if job not in (3, 6):  # no results uploaded for jobs 3 and 6
            results(redshift, tmp_path, "pqt", job, job * 100, 5 + job)
        spec(redshift_project, redshift, f"s{job}", "createAndLoad", "pqt", job, table=f"t{job}")
    failed = redshift_project.run("plan")
    assert failed.code == 1
    where = [line.split(": error: ")[0] for line in failed.err.splitlines()]
    assert where == ["specs/s3.yaml:1:1", "specs/s6.yaml:1:1"]
    assert all("results not found at s3://" in line for line in failed.err.splitlines()), failed.err
    for job in (3, 6):
        results(redshift, tmp_path, "pqt", job, job * 100, 5 + job)
    planned = redshift_project.run("plan")
    assert planned.code == 0, planned.err
    shown = re.findall(r"\[\d+\] specs/(s\d)\.yaml.*\n.*\n.*\(pqt, (\d+) rows\)", planned.out)
    assert shown == [(f"s{job}", str(5 + job)) for job in range(1, 9)], planned.out


@redshift_only
def test_path_must_be_the_connections_database(
    redshift_project: RedshiftProject, redshift: RedshiftEngine, tmp_path: Path
) -> None:
    results(redshift, tmp_path, "pqt", 10, 1, 5)
    path = spec(redshift_project, redshift, "a", "createAndLoad", "pqt", 10, path=["other_db"])
    line = path.read_text().splitlines().index("- other_db") + 1
    want = (
        f"specs/a.yaml:{line}:3: error: path [other_db] must be the database of connection redshift, 'dev': "
        "Redshift cannot write across databases\n"
    )
    for command in ("validate", "plan", "apply"):
        result = redshift_project.run(command)
        assert (result.code, result.err) == (1, want), command
    assert redshift.tables() == set()
    assert not redshift.manifests()


@redshift_only
def test_missing_schema_is_a_plan_error(
    redshift_project: RedshiftProject, redshift: RedshiftEngine, tmp_path: Path
) -> None:
    results(redshift, tmp_path, "avro", 10, 1, 5)
    spec(redshift_project, redshift, "a", "createAndLoad", "avro", 10)
    (redshift_project.root / "specs" / "a.yaml").write_text(
        (redshift_project.root / "specs" / "a.yaml").read_text().replace(f"{redshift.schema}.t", "no_such_schema.t")
    )
    result = redshift_project.run("apply")
    assert result.code == 1
    assert result.err == "specs/a.yaml:1:1: error: schema no_such_schema does not exist on redshift (id 1, redshift)\n"
    assert redshift.tables() == set(), "nothing ran: no ledger either"
    assert not redshift.manifests()


# --- 3. exactly the result's files ---------------------------------------------------------


@redshift_only
@pytest.mark.parametrize("fmt", ["pqt", "csv"])
def test_only_the_manifests_files_load(
    redshift_project: RedshiftProject, redshift: RedshiftEngine, tmp_path: Path, fmt: str
) -> None:
    """COPY FROM 's3://.../results/31/27/' would also load results/31/270/ and
    results/31/27extra.*: the manifest names exactly the result's files."""
    rs = redshift
    ext = {"pqt": "parquet", "csv": "csv"}[fmt]
    data = write(tmp_path / "mine", fmt, 1, 30, parts=2, tricky=True)
    rs.upload(tmp_path / "mine", 31, 27)  # results/31/27/part-0000{0,1}.*, results/31/27/_SUCCESS
    write(tmp_path / "sibling", fmt, 1000, 5, parts=1)
    rs.upload(tmp_path / "sibling", 31, 270)  # results/31/270/...
    write(tmp_path / "extra", fmt, 2000, 3, parts=1)
    rs.put(f"results/31/27extra.{ext}", (tmp_path / "extra" / f"part-00000.{ext}").read_bytes())
    rs.put(f"results/31/27/nested/part-00000.{ext}", (tmp_path / "extra" / f"part-00000.{ext}").read_bytes())
    redshift_project.spec(
        "a",
        jobGroup=31,
        flowNodeId=27,
        connection={"id": 1},
        path=["dev"],
        table=rs.table_name("t"),
        action="dropAndLoad",
        inputFormat=fmt,
        **({"columnTypes": TEXT_TYPES} if fmt == "csv" else {}),
    )
    plan = json.loads(redshift_project.run("plan", "--format", "json").out)
    (put,) = [s for s in plan["publications"][0]["steps"] if s["kind"] == "put_object"]
    listed = sorted(e["url"] for e in json.loads(put["body"])["entries"])
    assert listed == [rs.uri(f"results/31/27/part-0000{i}.{ext}") for i in range(2)]
    files = rs.objects()
    applied(redshift_project)
    assert table_rows(rs, "t") == expected(data)
    assert rs.objects() == files


# --- 4. a failing COPY leaves the table as it was ------------------------------------------


def bad_rows(data: list[dict[str, Any]], index: int, column: str, value: str) -> list[dict[str, Any]]:
    """``data`` with the raw text ``value`` in ``column`` of row ``index``."""
    changed = [dict(r) for r in data]
    changed[index][column] = value
    return changed


def bad_json(folder: Path, line: int, column: str, value: str, name: str = "part-00001.json") -> None:
    """Puts the JSON text ``value`` as ``column`` on line ``line`` of a JSON results file."""
    path = folder / name
    lines = path.read_text(encoding="utf-8").split("\n")
    record = json.loads(lines[line - 1])
    record[column] = "@@bad@@"
    lines[line - 1] = json.dumps(record).replace('"@@bad@@"', value)
    path.write_text("\n".join(lines), encoding="utf-8")


@redshift_only
@pytest.mark.parametrize(
    ("action", "fmt", "column", "value", "extra_types"),
    [
        ("truncateAndLoad", "csv", "id", "12x", {}),
        ("truncateAndLoad", "csv", "name", "much-too-long-for-the-column", {"name": "VARCHAR(24)"}),
        ("dropAndLoad", "csv", "day", "2026-13-45", {}),
        ("dropAndLoad", "json", "amount", '"not a number"', {}),
    ],
    ids=[
        "truncateAndLoad-csv-bad-integer",
        "truncateAndLoad-csv-too-long",
        "dropAndLoad-csv-bad-date",
        "dropAndLoad-json-bad-decimal",
    ],
)
def test_failing_copy_leaves_the_old_table_and_reports_the_load_error(
    redshift_project: RedshiftProject,
    redshift: RedshiftEngine,
    tmp_path: Path,
    action: str,
    fmt: str,
    column: str,
    value: str,
    extra_types: dict[str, str],
) -> None:
    rs = redshift
    if extra_types:
        rs.execute(
            f"CREATE TABLE {rs.qualified('t')} (id BIGINT, name VARCHAR(24), amount DECIMAL(10,2), "
            "at TIMESTAMPTZ, day DATE, tags VARCHAR(65535))"
        )
    else:
        rs.execute(table_ddl(rs, "t", fmt))
    rs.execute(f"INSERT INTO {rs.qualified('t')} (id, name) VALUES (-1, 'old'), (-2, 'older')")
    old_columns, old_rows = rs.columns("t"), rs.rows("t")

    folder = tmp_path / "bad"
    folder.mkdir()
    data = rows(1, 20)
    if fmt == "csv":
        write_csv(folder / "part-00000.csv", data[:10])
        write_csv(folder / "part-00001.csv", bad_rows(data[10:], 2, column, value))  # line 4: header, 2 rows
    else:
        write_json(folder / "part-00000.json", data[:10])
        write_json(folder / "part-00001.json", data[10:])
        bad_json(folder, 3, column, value)  # its third line
    rs.upload(folder, 10)
    spec(redshift_project, rs, "a", action, fmt, 10, columnTypes={**TEXT_TYPES, **extra_types})
    files = rs.objects()

    result = redshift_project.run("apply")
    assert result.code == 1
    error = result.err.strip().splitlines()[-1]
    assert "failed: Load into table" in error
    shown = value if fmt == "csv" else value.strip('"')
    detail = (
        f"{rs.uri('results/10/1/part-00001.' + fmt)} line {3 if fmt == 'json' else 4}, column {column}, value {shown!r}"
    )
    assert detail in error, error
    assert "  " not in error.split("load errors:")[1], "CHAR-padded values are trimmed"
    assert rs.columns("t") == old_columns
    assert rs.rows("t") == old_rows
    assert not [n for n in rs.tables() if "__" in n], "no replacement or staging table left"
    assert rs.ledger("done") == []
    assert rs.objects() == files, "the manifest is deleted after a failure too"


@redshift_only
def test_value_too_long_for_a_narrower_column_type_fails_instead_of_truncating(
    redshift_project: RedshiftProject, redshift: RedshiftEngine, tmp_path: Path
) -> None:
    """Parquet strings into columnTypes VARCHAR(12): rows go through a staging table, and
    the INSERT must refuse a value that does not fit rather than cut it (as CAST would)."""
    rs = redshift
    old = results(rs, tmp_path, "pqt", 9, 1, 5)
    spec(redshift_project, rs, "a", "dropAndLoad", "pqt", 9)
    applied(redshift_project)
    results(rs, tmp_path, "pqt", 10, 1, 20)
    spec(redshift_project, rs, "b", "dropAndLoad", "pqt", 10, columnTypes={"name": "VARCHAR(12)"})
    result = redshift_project.run("apply", "specs/b.yaml")
    assert result.code == 1
    assert "value too long" in result.err
    assert table_rows(rs, "t") == expected(old)
    assert rs.columns("t") == TYPES


# --- 5. readers never see an empty or missing table ----------------------------------------


class Reader(threading.Thread):
    """Polls SELECT COUNT(*) on a connection of its own until stopped; records each answer
    with when the query was sent and when it came back, and any error (a missing table
    fails the query)."""

    def __init__(self, rs: RedshiftEngine, table: str) -> None:
        super().__init__(daemon=True)
        self.conn = rs.endpoint.connect()
        self.sql = f"SELECT COUNT(*) FROM {rs.qualified(table)}"
        self.seen: list[tuple[float, float, int]] = []  # (sent, answered, count)
        self.errors: list[str] = []
        self.stop = threading.Event()

    def run(self) -> None:
        cursor = self.conn.cursor()
        try:
            while not self.stop.is_set():
                sent = time.monotonic()
                try:
                    cursor.execute(self.sql)
                    self.seen.append((sent, time.monotonic(), int(cursor.fetchall()[0][0])))
                except Exception as exc:
                    self.errors.append(str(exc))
                    return
                time.sleep(0.002)
        finally:
            self.conn.close()


LARGE_ROWS = 200_000
OLD_ROWS = 1234


def large_parquet(folder: Path, first: int, count: int, parts: int = 4) -> None:
    """``count`` rows (id, label) in ``parts`` Parquet files."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    folder.mkdir(parents=True, exist_ok=True)
    size = -(-count // parts)
    for i in range(parts):
        start = first + i * size
        ids = pa.array(range(start, min(start + size, first + count)), pa.int64())
        label = pc.binary_join_element_wise("row ", pc.cast(ids, pa.string()), "")
        pq.write_table(pa.table({"id": ids, "label": label}), folder / f"part-{i:05d}.parquet")


def replace_while_reading(
    project: RedshiftProject, rs: RedshiftEngine, tmp_path: Path, action: str, monkeypatch: pytest.MonkeyPatch
) -> tuple[Reader, dict[str, float]]:
    """Publishes OLD_ROWS rows into t, then replaces them with LARGE_ROWS rows by ``action``
    while a Reader polls t. Returns the stopped reader and the times (monotonic) when the
    transaction was open ("begin"), when its change had started ("changed": the DELETE, or
    the CREATE of the replacement) and when COMMIT was sent ("commit")."""
    from publisher.apply.executor import Executor
    from publisher.model.plan import SqlStep

    large_parquet(tmp_path / "old", 0, OLD_ROWS, parts=1)
    rs.upload(tmp_path / "old", 9)
    large_parquet(tmp_path / "new", 10_000_000, LARGE_ROWS)
    rs.upload(tmp_path / "new", 10)
    for name, job, what in (("a", 9, "dropAndLoad"), ("b", 10, action)):
        project.spec(
            name,
            jobGroup=job,
            flowNodeId=1,
            connection={"id": 1},
            path=["dev"],
            table=rs.table_name("t"),
            action=what,
            inputFormat="pqt",
        )
    applied(project, "specs/a.yaml")
    assert rs.count("t") == OLD_ROWS

    # The transaction, stretched: a pause after each of its steps, so that the reader polls
    # many times while it is open, whatever the speed of the load.
    marks: dict[str, float] = {}
    original = Executor._execute

    def execute(self: Executor, step: Any) -> Any:
        sql = step.text if isinstance(step, SqlStep) else ""
        # The publication's own BEGIN and COMMIT: the first of each (a dropAndLoad drops the
        # old table after it, in a transaction of its own).
        if sql == "COMMIT":
            marks.setdefault("commit", time.monotonic())
        result = original(self, step)
        if sql == "BEGIN":
            marks.setdefault("begin", time.monotonic())
        elif sql.startswith("DELETE FROM") or (sql.startswith("CREATE TABLE") and "__new_" in sql):
            marks["changed"] = time.monotonic()
        if "begin" in marks and "commit" not in marks:
            time.sleep(0.1)
        return result

    monkeypatch.setattr(Executor, "_execute", execute)
    reader = Reader(rs, "t")
    reader.start()
    try:
        while not reader.seen and not reader.errors:
            time.sleep(0.01)
        applied(project, "specs/b.yaml")
        done = len(reader.seen)
        deadline = time.monotonic() + 10
        while len(reader.seen) < done + 3 and not reader.errors and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        reader.stop.set()
        reader.join(30)
    assert set(marks) == {"begin", "changed", "commit"}, marks
    return reader, marks


@redshift_only
@pytest.mark.parametrize("action", ["truncateAndLoad", "dropAndLoad"])
def test_concurrent_reader_never_sees_an_empty_or_missing_table(
    redshift_project: RedshiftProject,
    redshift: RedshiftEngine,
    tmp_path: Path,
    action: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A reader polling COUNT(*) on another connection while a large load replaces the
    rows gets the old count, then the new one: never 0, never a missing table."""
    reader, marks = replace_while_reading(redshift_project, redshift, tmp_path, action, monkeypatch)
    assert reader.errors == [], f"the reader failed: {reader.errors[:1]}"
    counts = [n for _, _, n in reader.seen]
    assert set(counts) == {OLD_ROWS, LARGE_ROWS}, f"counts seen: {sorted(set(counts))}"
    assert counts == sorted(counts, key=lambda n: n == LARGE_ROWS), "the old rows, then the new rows"
    overlapping = [n for sent, answered, n in reader.seen if sent < marks["commit"] and answered > marks["changed"]]
    assert overlapping, "no read overlapped the transaction's change: the test proves nothing"
    assert redshift.count("t") == LARGE_ROWS


@redshift_only
@pytest.mark.parametrize("action", ["truncateAndLoad", "dropAndLoad"])
def test_readers_keep_reading_the_old_rows_while_the_load_runs(
    redshift_project: RedshiftProject,
    redshift: RedshiftEngine,
    tmp_path: Path,
    action: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Until COMMIT, readers are answered at once, with the old rows ("readers keep seeing
    them until COMMIT"): the load does not make them wait. (dropAndLoad's DROP and RENAME,
    just before COMMIT, may make a reader wait for that moment.)"""
    reader, marks = replace_while_reading(redshift_project, redshift, tmp_path, action, monkeypatch)
    assert reader.errors == []
    answered = [n for sent, answered, n in reader.seen if marks["changed"] <= answered <= marks["commit"]]
    took = marks["commit"] - marks["changed"]
    assert len(answered) >= 10, f"{len(answered)} reads answered in the {took:.2f}s the load ran"
    assert set(answered) == {OLD_ROWS}


# --- TLS ----------------------------------------------------------------------------------


@redshift_only
def test_tls_verify_full_checks_the_server_name(
    redshift_project: RedshiftProject, redshift: RedshiftEngine, tmp_path: Path
) -> None:
    if redshift.endpoint.ca is None:
        pytest.skip("PUBLISHER_TEST_REDSHIFT_CA is not set: the endpoint is reached without TLS")
    redshift.target["sslmode"] = "verify-full"
    redshift_project.write_config()
    data = results(redshift, tmp_path, "pqt", 10, 1, 5)
    spec(redshift_project, redshift, "a", "dropAndLoad", "pqt", 10)
    applied(redshift_project)
    assert table_rows(redshift, "t") == expected(data)


@redshift_only
def test_untrusted_server_certificate_is_a_one_line_error(
    redshift_project: RedshiftProject, redshift: RedshiftEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if redshift.endpoint.ca is None:
        pytest.skip("PUBLISHER_TEST_REDSHIFT_CA is not set: the endpoint is reached without TLS")
    other_ca = tmp_path / "other-ca.crt"
    other_ca.write_text("")
    monkeypatch.setenv("SSL_CERT_FILE", str(other_ca))  # trust nothing but the driver's Redshift CAs
    results(redshift, tmp_path, "pqt", 10, 1, 5)
    spec(redshift_project, redshift, "a", "dropAndLoad", "pqt", 10)
    for command in ("plan", "apply", "status"):
        result = redshift_project.run(command)
        assert result.code == 1, command
        line = result.err.strip()
        assert "\n" not in line and "Traceback" not in line, line
        assert "cannot connect to Redshift at" in line and "certificate verify failed" in line, line
        assert "point SSL_CERT_FILE at it" in line
    assert redshift.tables() == set()


# --- 7. generated SQL parses as Redshift's (no service needed) -----------------------------


COPY_FORMATS = {"csv": "FORMAT AS CSV", "json": "FORMAT AS JSON", "avro": "FORMAT AS AVRO", "pqt": "FORMAT AS PARQUET"}


def copy_options(copy: Any) -> set[str]:
    """COPY's options as sqlglot parsed them: 'FORMAT AS CSV', 'MANIFEST', ..."""
    from sqlglot import exp

    options = set()
    for param in copy.args.get("params") or ():
        name = param.this.name.upper()
        value = param.args.get("expression")
        if name == "FORMAT" and isinstance(value, exp.Var):
            name = f"FORMAT AS {value.name.upper()}"
        elif isinstance(value, exp.Var):
            options.add(value.name.upper())  # sqlglot reads SERIALIZETOJSON MANIFEST as one option
        options.add(name)
    return options


def test_generated_sql_of_golden_plans_parses(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every COPY and DDL statement of every golden Redshift plan (tests/golden/redshift/,
    planned here as test_planner_golden plans them), and of the same plans with a nested
    column (SUPER, SERIALIZETOJSON), parses with sqlglot's Redshift dialect as the
    statement it is, not as an opaque command. Object steps (PUT, DELETE) are not SQL."""
    import pyarrow as pa
    import sqlglot
    from sqlglot import exp

    from publisher.model.plan import CheckColumns, CheckKeys, DeleteObject, PutObject, SqlStep
    from publisher.planning.planner import plan_publication
    from publisher.results import Column
    from tests.test_planner_golden import CASES_MATRIX, NOW, make_results, make_spec, view

    monkeypatch.chdir(tmp_path)
    kinds = {
        "COPY": exp.Copy,
        "CREATE": exp.Create,
        "DROP": exp.Drop,
        "ALTER": exp.Alter,
        "INSERT": exp.Insert,
        "SELECT": exp.Select,
        "DELETE": exp.Delete,
        "BEGIN": exp.Transaction,
        "COMMIT": exp.Commit,
    }
    checked: dict[str, int] = {}
    cases = [(a, f) for t, a, f in CASES_MATRIX if t == "redshift"]
    assert len(cases) == 24
    nested = Column("tags", pa.list_(pa.string()), True)
    for (action, fmt), with_nested in [(c, False) for c in cases] + [(c, True) for c in cases if c[1] == "pqt"]:
        found = make_results("redshift", fmt)
        if with_nested:
            found = replace(found, columns=found.columns + (nested,))
        spec = make_spec(tmp_path, "redshift", action, fmt)
        target = view("redshift", action)
        if with_nested and target.table is not None:
            extra = ColumnState("tags", "super")
            target = replace(target, table=replace(target.table, columns=target.table.columns + (extra,)))
        publication = plan_publication(spec, found, target, NOW)
        for step in publication.steps + publication.on_failure:
            if isinstance(step, CheckKeys):  # merge: two queries the executor runs
                for query in (step.counts, step.examples):
                    assert isinstance(sqlglot.parse_one(query, read="redshift"), exp.Select), query
                continue
            if not isinstance(step, SqlStep):
                assert isinstance(step, PutObject | DeleteObject | CheckColumns), step  # CheckColumns: no SQL
                continue
            word = step.text.split(None, 1)[0].upper()
            if word == "LOCK":
                continue  # sqlglot has no LOCK statement (it falls back to an opaque command)
            where = f"{action}_{fmt}{' nested' if with_nested else ''}: {step.purpose}: {step.text}"
            parsed = sqlglot.parse(step.text, read="redshift")
            assert len(parsed) == 1 and parsed[0] is not None, where
            assert isinstance(parsed[0], kinds[word]), f"{where}: parsed as {type(parsed[0]).__name__}"
            if word == "COPY":
                copy = parsed[0]
                manifest = publication.steps[0]
                assert isinstance(manifest, PutObject)
                assert [f.name for f in copy.args["files"]] == [manifest.uri], where
                assert copy.args["credentials"].args.get("iam_role") is not None, where
                options = copy_options(copy)
                assert {COPY_FORMATS[fmt], "MANIFEST"} <= options, (where, options)
                assert ("SERIALIZETOJSON" in options) == with_nested, (where, options)
            checked[word] = checked.get(word, 0) + 1
    # dropAndLoad renames twice (the old table aside, the new one in), for 4 formats and the nested case.
    assert checked["COPY"] == 20 + 5 and checked["ALTER"] == 2 * (4 + 1) and checked["CREATE"] >= 20, checked


# --- 8. secrets never appear in output ------------------------------------------------------


@redshift_only
def test_secrets_never_appear_in_any_output(
    redshift_project: RedshiftProject, redshift: RedshiftEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """COPY authorizes with the s3 connection's keys (no iamRole): the keys are in the
    statements that run, the password in the connection; neither in anything printed or saved."""
    rs = redshift
    key_id, secret = "AKIADISTINCTIVEKEY7Q", "Distinctive/Secret+Access+Key/9f3c2b1a"
    monkeypatch.setenv("PUBLISHER_TEST_S3_ACCESS_KEY_ID", key_id)
    monkeypatch.setenv("PUBLISHER_TEST_S3_SECRET_ACCESS_KEY", secret)
    password = rs.endpoint.password
    assert len(password) >= 8, "a password distinctive enough to search output for"
    del rs.target["iamRole"]
    redshift_project.write_config()
    results(rs, tmp_path, "csv", 10, 1, 20)
    results(rs, tmp_path, "pqt", 11, 1, 20)
    spec(redshift_project, rs, "a", "dropAndLoad", "csv", 10)
    spec(redshift_project, rs, "b", "createAndLoad", "pqt", 11)
    # A result that fails to load: the error path prints the engine's message.
    folder = tmp_path / "bad"
    folder.mkdir()
    write_csv(folder / "part-00000.csv", bad_rows(rows(1, 5), 2, "id", "three"))
    rs.upload(folder, 12)
    spec(redshift_project, rs, "c", "dropAndLoad", "csv", 12, table="t2", columnTypes={**TEXT_TYPES, "id": "BIGINT"})

    outputs: list[str] = []

    def run(*args: str) -> int:
        result = redshift_project.run(*args)
        outputs.extend([result.out, result.err])
        return result.code

    assert run("validate") == 0
    assert run("plan") == 0
    assert run("plan", "--format", "json", "-o", "plan.json") == 0
    assert run("plan", "--format", "markdown") == 0
    assert run("apply", "--dry-run") == 0
    assert run("apply", "specs/a.yaml", "specs/b.yaml") == 0
    assert run("apply", "specs/c.yaml") == 1
    assert run("status") == 0
    outputs.append((redshift_project.root / "plan.json").read_text())
    copy_steps = [
        s["sql"]
        for p in json.loads(outputs[-1])["publications"]
        for s in p["steps"]
        if s["kind"] == "sql" and s["sql"][0].startswith("COPY")
    ]
    # The keys are parameters of the COPY's credential slots, by name: never their values.
    secret_slot = {"param": "secret", "name": "PUBLISHER_TEST_S3_SECRET_ACCESS_KEY"}
    assert copy_steps and all(secret_slot in s for s in copy_steps)
    # A wrong password: the connection error is printed, the password is not.
    monkeypatch.setenv("PUBLISHER_TEST_REDSHIFT_PASSWORD", "Wrong-Distinctive-Passw0rd")
    assert run("plan") == 1
    assert run("status") == 1
    assert outputs[-1].startswith("error: cannot connect to Redshift at "), outputs[-1]
    text = "\n".join(outputs)
    assert "failed: Load into table" in text and "three" in text, "the failure was reported"
    for value in (key_id, secret, password, "Wrong-Distinctive-Passw0rd"):
        assert value not in text, f"a secret appears in the output: {value[:4]}..."
    ledger = json.dumps([{k: str(v) for k, v in r.items()} for r in rs.ledger()])
    for value in (key_id, secret, password):
        assert value not in ledger
