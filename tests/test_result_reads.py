"""The files of one result read several at once (publisher/results/reads.py): results in file
order, the error a serial read would raise first, bounded reads ahead, and the same inspection
as a serial read, on files the tests write."""

from __future__ import annotations

import random
import threading
import time
from contextlib import closing
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from publisher.model.errors import InvalidInput
from publisher.results import inspect_results
from publisher.results.reads import AHEAD, read_each
from publisher.results.stores import _LocalStore
from publisher.results.values import ResultFile

THREADS = 8


def _files(n: int) -> list[ResultFile]:
    return [ResultFile(f"file-{i:03}", 1, "", None) for i in range(n)]


class _Store(_LocalStore):
    def __init__(self, threads: int = THREADS) -> None:
        super().__init__("/nonexistent")
        self.threads = threads


class _Reads:
    """A read that sleeps a random while and records how many reads overlap."""

    def __init__(self, fail: dict[str, float] | None = None) -> None:
        self.fail = fail or {}  # file -> seconds before it raises
        self.lock = threading.Lock()
        self.running = self.most = 0
        self.started: list[str] = []

    def __call__(self, f: ResultFile) -> str:
        with self.lock:
            self.running += 1
            self.most = max(self.most, self.running)
            self.started.append(f.uri)
        try:
            if f.uri in self.fail:
                time.sleep(self.fail[f.uri])
                raise InvalidInput(f"{f.uri}: not a Parquet file")
            time.sleep(random.uniform(0, 0.01))
            return f.uri
        finally:
            with self.lock:
                self.running -= 1


def test_results_come_in_file_order_while_reads_overlap() -> None:
    random.seed(3)
    files, read = _files(200), _Reads()
    assert list(read_each(_Store(), files, read)) == [f.uri for f in files]
    assert 2 <= read.most <= THREADS


def test_a_store_of_one_thread_reads_serially_in_this_thread() -> None:
    seen: list[str] = []
    read_each_list = list(
        read_each(_Store(1), _files(5), lambda f: seen.append(threading.current_thread().name) or f.uri)
    )
    assert read_each_list == [f.uri for f in _files(5)]
    assert set(seen) == {threading.current_thread().name}


def test_the_error_raised_is_the_first_failing_file_in_file_order() -> None:
    # file-030 fails at once, file-010 only after a while: a serial read meets file-010 first.
    files = _files(100)
    read = _Reads(fail={"file-010": 0.2, "file-030": 0.0})
    got: list[str] = []
    with pytest.raises(InvalidInput, match="file-010: not a Parquet file$"):
        for uri in read_each(_Store(), files, read):
            got.append(uri)
    assert got == [f.uri for f in files[:10]]  # every earlier file's result, none after


def test_reads_ahead_are_bounded_and_stop_after_an_error() -> None:
    files = _files(1000)
    read = _Reads(fail={"file-005": 0.05})
    with pytest.raises(InvalidInput):
        list(read_each(_Store(), files, read))
    # At most the window beyond the failing file was ever started; nothing of the other 900.
    assert len(read.started) <= 6 + THREADS * AHEAD, len(read.started)
    assert read.running == 0  # the ones running were waited for


def test_a_caller_that_stops_early_cancels_the_reads_not_started() -> None:
    files = _files(1000)
    read = _Reads()
    with closing(read_each(_Store(), files, read)) as results:
        for i, _ in enumerate(results):
            if i == 3:
                break
    assert len(read.started) <= 4 + THREADS * AHEAD + THREADS
    assert read.running == 0


def _parquet_result(folder: Path, n: int) -> Path:
    folder.mkdir(parents=True)
    for i in range(n):
        table = pa.table({"id": pa.array([i, i + 1], pa.int64()), "name": [f"n{i}", None]})
        pq.write_table(table, folder / f"part-{i:04}.parquet")
    return folder


def test_inspecting_files_at_once_gives_what_a_serial_read_gives(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = _parquet_result(tmp_path / "r", 60)
    serial = inspect_results(str(folder), "pqt")
    monkeypatch.setattr(_LocalStore, "threads", THREADS)
    at_once = inspect_results(str(folder), "pqt")
    assert at_once == serial
    assert at_once.rows == 120 and [c.null_count for c in at_once.columns] == [0, 60]


def test_avro_headers_read_at_once_give_what_a_serial_read_gives(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import fastavro

    schema = {"type": "record", "name": "r", "fields": [{"name": "id", "type": "long"}]}
    folder = tmp_path / "avro"
    folder.mkdir()
    for i in range(30):
        with (folder / f"part-{i:03}.avro").open("wb") as out:
            fastavro.writer(out, schema, [{"id": j} for j in range(i + 1)])
    serial = inspect_results(str(folder), "avro")
    monkeypatch.setattr(_LocalStore, "threads", THREADS)
    assert inspect_results(str(folder), "avro") == serial
    assert serial.rows == sum(range(1, 31))


def _error(folder: Path) -> str:
    with pytest.raises(InvalidInput) as err:
        inspect_results(str(folder), "pqt")
    return str(err.value)


def test_a_corrupt_file_and_a_file_that_differs_are_named_as_a_serial_read_names_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = _parquet_result(tmp_path / "r", 60)
    (folder / "part-0040.parquet").write_bytes(b"not parquet at all")
    (folder / "part-0050.parquet").write_bytes(b"PAR1 neither")
    pq.write_table(pa.table({"other": [1]}), folder / "part-0020.parquet")  # differs: found after every read
    serial = _error(folder)
    monkeypatch.setattr(_LocalStore, "threads", THREADS)
    assert _error(folder) == serial
    assert "part-0040.parquet" in serial and "part-0050" not in serial
    (folder / "part-0040.parquet").unlink()
    (folder / "part-0050.parquet").unlink()
    assert "part-0020.parquet does not match" in _error(folder)


def test_csv_headers_are_compared_in_file_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_LocalStore, "threads", THREADS)
    folder = tmp_path / "csv"
    folder.mkdir()
    for i in range(40):
        header = "a,c" if i in (25, 35) else "a,b"
        (folder / f"part-{i:03}.csv").write_text(f"{header}\n1,2\n")
    with pytest.raises(InvalidInput, match=r"part-025\.csv does not match .*part-000\.csv"):
        inspect_results(str(folder), "csv")
