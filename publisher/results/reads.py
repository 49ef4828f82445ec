"""The files of one result read several at once where each read waits on the network (S3).

10,000 small Parquet files took 47 s to plan against a local S3 server with their footers read
one after another: each read is a round trip that this process only waits for. Here a store
says how many of its reads may overlap; the results come back in file order, so every check
that follows sees the files as a serial read would, and the error raised is the one a serial
read would raise first.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Generator
from concurrent.futures import Future, ThreadPoolExecutor
from itertools import islice
from typing import TypeVar

from publisher.results.stores import _Store
from publisher.results.values import ResultFile

T = TypeVar("T")

AHEAD = 2
"""Reads submitted per thread beyond the one awaited: what bounds memory (a few footers or
Avro stream buffers per thread), however many files the result has."""


def read_each(store: _Store, files: list[ResultFile], read: Callable[[ResultFile], T]) -> Generator[T, None, None]:
    """``read(f)`` of every file, yielded in file order, up to ``store.threads`` at once.

    When a read raises, its error is raised where that file's result would have been yielded:
    after every earlier file's, before any later file's, as a serial loop would. Reads not yet
    started are cancelled, and the ones running are waited for, when the loop stops early (an
    error, or the caller's check of an earlier file failing).
    """
    if store.threads < 2 or len(files) < 2:
        yield from (read(f) for f in files)
        return
    remaining = iter(files)
    threads = ThreadPoolExecutor(max_workers=store.threads, thread_name_prefix="result-files")
    pending: deque[Future[T]] = deque()
    try:
        pending.extend(threads.submit(read, f) for f in islice(remaining, store.threads * AHEAD))
        while pending:
            done = pending.popleft()
            following = next(remaining, None)
            if following is not None:
                pending.append(threads.submit(read, following))
            yield done.result()
    finally:
        threads.shutdown(wait=True, cancel_futures=True)
