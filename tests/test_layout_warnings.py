"""The plan warns when the results' files will load far below the engine's throughput
(issue 15, goal 5), with the real thresholds.

Results are files on disk, listed and inspected by the same code as real results. Large ones
are sparse: a real Parquet footer (or real JSON and CSV lines) at the size wanted, the rest a
hole that takes no disk, since planning reads footers and samples, never whole files.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from redshift_connector.error import InterfaceError, ProgrammingError

from publisher.dialects.hive import Hive
from publisher.dialects.redshift import Redshift
from publisher.engines.redshift import SLICES_SQL, RedshiftTarget
from publisher.model.plan import plan_from_json
from publisher.planning.planner import plan_publication
from publisher.planning.snapshot import Snapshot
from publisher.results import ResultFile, Results, inspect_results
from tests.test_planner_golden import NOW, make_results, make_spec, view
from tests.test_snapshot_ledger import LedgerTarget, Pool, specs

MB = 1 << 20
TABLE = pa.table({"id": pa.array([1, 2, 3], pa.int64()), "name": ["a", "b", "c"]})
ROOT = Path(__file__).resolve().parent.parent


def parquet(path: Path, size: int | None = None) -> None:
    """A Parquet file of ``size`` bytes (default: as written), its footer real and intact."""
    buffer = io.BytesIO()
    pq.write_table(TABLE, buffer)
    data = buffer.getvalue()
    with open(path, "wb") as f:
        f.write(data[:4])  # the leading magic bytes
        if size is not None:
            f.seek(size - (len(data) - 4))  # a hole: offsets inside are wrong, the footer is not read for them
        f.write(data[4:])


def text(path: Path, fmt: str, size: int) -> None:
    """CSV or JSON lines: more than the planner samples, then a hole up to ``size`` bytes."""
    with open(path, "w", encoding="utf-8") as f:
        if fmt == "csv":
            f.write("id,name\n" + "".join(f"{i},name-{i}\n" for i in range(2000)))
            f.truncate(size)
        else:  # every line is read (for fields the sample lacks): sized after inspecting, in results()
            f.write("".join(json.dumps({"id": i, "name": f"name-{i}"}) + "\n" for i in range(2000)))


def results(folder: Path, fmt: str, sizes: list[int | None]) -> Results:
    folder.mkdir(parents=True, exist_ok=True)
    for i, size in enumerate(sizes):
        path = folder / f"part-{i:05d}.{fmt}"
        if fmt == "pqt":
            parquet(path, size)
        else:
            assert size is not None
            text(path, fmt, size)
    (folder / "_SUCCESS").touch()
    found = inspect_results(str(folder), fmt)  # type: ignore[arg-type]
    assert len(found.files) == len(sizes)
    if fmt == "json":
        found = replace(found, files=tuple(replace(f, size=s) for f, s in zip(found.files, sizes, strict=True)))
    return found


def test_sparse_files_take_no_disk(tmp_path: Path) -> None:
    """Else these tests would write gigabytes: the file system must support holes."""
    parquet(tmp_path / "big.pqt", 1 << 30)
    stat = (tmp_path / "big.pqt").stat()
    assert stat.st_size == 1 << 30
    if stat.st_blocks * 512 > 16 * MB:
        pytest.skip("this file system does not keep holes")


# ----------------------------------------------------------------------------- Redshift


def test_many_files_under_1_mb(tmp_path: Path) -> None:
    found = Redshift().layout_warnings(results(tmp_path, "pqt", [None] * 16))
    assert len(found) == 1
    assert found[0].startswith("16 of the results' files are under 1 MB (16 files of ")
    assert "AWS advises files of 1 MB to 1 GB after compression (1-125 MB ideal)" in found[0]


def test_a_few_small_files_load_quickly_whatever_their_layout(tmp_path: Path) -> None:
    assert Redshift().layout_warnings(results(tmp_path, "pqt", [None] * 15)) == ()


def test_one_parquet_file_under_128_mb_is_not_split(tmp_path: Path) -> None:
    found = Redshift().layout_warnings(results(tmp_path, "pqt", [64 * MB]))
    assert found == (
        "1 file of 64 MB for 2 slices (the fewest a cluster has): COPY does not split Parquet files under "
        "128 MB, so at most 1 slice(s) load; split the results into a multiple of the slices",
    )


def test_parquet_files_of_128_mb_or_more_are_split(tmp_path: Path) -> None:
    assert Redshift().layout_warnings(results(tmp_path, "pqt", [200 * MB])) == ()


def test_even_parquet_files_of_good_size(tmp_path: Path) -> None:
    assert Redshift().layout_warnings(results(tmp_path, "pqt", [10 * MB] * 4)) == ()


def test_a_big_json_file_is_never_split(tmp_path: Path) -> None:
    found = Redshift().layout_warnings(results(tmp_path, "json", [300 * MB]))
    assert found == (
        "1 of the results' files are over 125 MB (largest 300 MB): COPY does not split JSON files, one slice "
        "reads each; AWS advises 1-125 MB after compression",
        "1 file of 300 MB for 2 slices (the fewest a cluster has): COPY does not split JSON files of any "
        "size, so at most 1 slice(s) load; split the results into a multiple of the slices",
    )


def test_a_big_csv_file_is_split(tmp_path: Path) -> None:
    # The publisher's COPY names no compression: CSV results are plain text, which COPY splits.
    assert Redshift().layout_warnings(results(tmp_path, "csv", [300 * MB])) == ()


def test_a_file_count_that_is_not_a_multiple_of_the_slices(tmp_path: Path) -> None:
    found = Redshift().layout_warnings(results(tmp_path, "pqt", [8 * MB] * 17), slices=16)
    assert found == (
        "17 files of 8 MB each for the cluster's 16 slices: not a multiple of the slices, so "
        "COPY's last round loads 1 file(s) while 15 slice(s) wait; AWS advises a file count that is a multiple "
        "of the slices",
    )


def test_a_multiple_of_the_slices_or_many_rounds_is_fine(tmp_path: Path) -> None:
    even = results(tmp_path / "even", "pqt", [8 * MB] * 32)
    assert Redshift().layout_warnings(even, slices=16) == ()
    many = results(tmp_path / "many", "pqt", [2 * MB] * 41)  # 6 rounds where 5.1 would do: under 1.2x
    assert Redshift().layout_warnings(many, slices=8) == ()


# ----------------------------------------------------------------------------- the cluster's slices


def test_a_live_plan_names_the_clusters_slices(tmp_path: Path) -> None:
    five = results(tmp_path / "five", "pqt", [2 * MB] * 5)
    assert Redshift().layout_warnings(five, slices=4) == (
        "5 files of 2 MB each for the cluster's 4 slices: not a multiple of the slices, so COPY's last round "
        "loads 1 file(s) while 3 slice(s) wait; AWS advises a file count that is a multiple of the slices",
    )
    assert Redshift().layout_warnings(five) == ()  # slices unknown: whether 5 is a multiple is not judged
    assert Redshift().layout_warnings(results(tmp_path / "eight", "pqt", [2 * MB] * 8), slices=4) == ()
    three = results(tmp_path / "three", "pqt", [8 * MB] * 3)
    assert Redshift().layout_warnings(three, slices=4) == (
        "3 files of 8 MB each for the cluster's 4 slices: COPY does not split Parquet files under 128 MB, so at "
        "most 3 slice(s) load; split the results into a multiple of the slices",
    )


def test_the_planner_passes_the_slices_the_view_read(tmp_path: Path) -> None:
    spec = make_spec(tmp_path, "redshift", "createAndLoad", "pqt")
    found = make_results("redshift", "pqt")
    found = replace(found, files=tuple(ResultFile(f"{found.location}part-{i}.pqt", 2 * MB, "v", 500) for i in range(5)))
    live = replace(view("redshift", "createAndLoad"), slices=4)
    (warning,) = plan_publication(spec, found, live, NOW).warnings
    assert warning.startswith("5 files of 2 MB each for the cluster's 4 slices: not a multiple of the slices")
    assert plan_publication(spec, found, None, NOW).warnings == ()  # offline: slices unknown


def test_the_slices_are_read_once_per_connection_and_only_for_loads(tmp_path: Path) -> None:
    a, b = specs(tmp_path)
    create = replace(a, action="create", job_group=33)
    target = LedgerTarget([])
    snapshot = Snapshot(Pool(target), [a, b, create])  # type: ignore[arg-type]
    assert snapshot.view(a).slices == 4
    assert snapshot.view(b).slices == 4
    assert snapshot.view(create).slices is None  # creates an empty table: nothing to advise on
    assert target.queries.count("SELECT COUNT(*) FROM stv_slices") == 1


class SlicesConnection:
    """A redshift_connector connection that answers the slices query with ``answer``, or raises it."""

    def __init__(self, answer: int | Exception) -> None:
        self.answer = answer

    def cursor(self) -> SlicesConnection:
        return self

    def execute(self, sql: str) -> None:
        assert sql == SLICES_SQL
        if isinstance(self.answer, Exception):
            raise self.answer

    def fetchone(self) -> list[object]:
        return [self.answer]


def redshift_target(answer: int | Exception) -> RedshiftTarget:
    target = RedshiftTarget.__new__(RedshiftTarget)  # no connection to open: the driver's is faked
    target.connection = SlicesConnection(answer)  # type: ignore[assignment]
    return target


def test_slices_the_catalog_does_not_give_are_unknown() -> None:
    assert redshift_target(4).slice_count() == 4
    assert redshift_target(0).slice_count() is None  # rows hidden from this user
    refused = ProgrammingError({"S": "ERROR", "C": "42501", "M": "permission denied for relation stv_slices"})
    assert redshift_target(refused).slice_count() is None
    with pytest.raises(InterfaceError):  # a lost connection is no advisory fact: it still fails the plan
        redshift_target(InterfaceError("communication error")).slice_count()


# ----------------------------------------------------------------------------- Hive


def test_hive_many_tiny_files(tmp_path: Path) -> None:
    found = Hive().layout_warnings(results(tmp_path, "pqt", [None] * 100))
    assert len(found) == 1
    assert found[0].startswith("100 of the results' files are under 4 MB (100 files of ")
    assert "many tiny files" in found[0]


def test_hive_fewer_or_larger_files(tmp_path: Path) -> None:
    assert Hive().layout_warnings(results(tmp_path / "few", "pqt", [None] * 99)) == ()
    assert Hive().layout_warnings(results(tmp_path / "large", "pqt", [8 * MB] * 100)) == ()


# ----------------------------------------------------------------------------- in the plan


def _project(root: Path, files: int, action: str = "createAndLoad") -> None:
    (root / "publisher.yaml").write_text(
        "results: results/{jobGroup}/{flowNodeId}/\n"
        "connections:\n  - {id: 1, name: local, type: hive, embedded: true}\n"
    )
    (root / "specs").mkdir()
    (root / "specs" / "s.yaml").write_text(
        f"jobGroup: 1\nflowNodeId: 1\nconnection: {{id: 1}}\npath: [default]\ntable: t\naction: {action}\n"
        "inputFormat: pqt\n"
    )
    folder = root / "results" / "1" / "1"
    folder.mkdir(parents=True)
    for i in range(files):
        parquet(folder / f"part-{i:05d}.parquet")


def _plan(root: Path, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "publisher", "plan", "--offline", *args],
        cwd=root,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_warning_shows_in_text_json_and_markdown(tmp_path: Path) -> None:
    _project(tmp_path, 100)
    shown = _plan(tmp_path, "-o", "plan.json")
    assert "    warning: 100 of the results' files are under 4 MB (100 files of " in shown
    saved = plan_from_json((tmp_path / "plan.json").read_text())
    assert saved.publications[0].warnings[0].startswith("100 of the results' files are under 4 MB")
    markdown = _plan(tmp_path, "--format", "markdown")
    # Outside the folded statements, where a reviewer reads it.
    assert markdown.index("> **warning** (1): 100 of the results' files") < markdown.index("<details>")


def test_an_action_that_loads_no_rows_has_no_layout_warning(tmp_path: Path) -> None:
    _project(tmp_path, 100, action="create")
    assert "warning" not in _plan(tmp_path)


def test_sizes_are_described_with_their_spread() -> None:
    from publisher.dialects.base import file_sizes

    assert file_sizes([3 * MB]) == "1 file of 3 MB"
    assert file_sizes([512, 512]) == "2 files of 512 bytes each"
    assert file_sizes([40 << 10, 3 * MB + MB // 10, 512 << 10]) == (
        "3 files of 40 KB to 3.1 MB (median 512 KB), 3.6 MB in all"
    )
