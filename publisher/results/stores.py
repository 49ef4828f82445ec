"""Where result files are: a local folder or an S3 prefix, listed and read by byte range."""

from __future__ import annotations

import os
from typing import Any, Protocol

from publisher.model.errors import InvalidInput
from publisher.model.s3uri import S3Uri, is_s3
from publisher.results.values import ResultFile

S3_PROBE = 64 * 1024
"""Range fetched after a long seek on S3: enough for a block header and sync marker."""

S3_THREADS = 8
"""Files of one result read at once on S3 (publisher/results/reads.py): each read is a round
trip the process only waits for. The S3 client's connection pool is sized for this times the
results read at once (publisher/engines/pool.py)."""


class _Stream(Protocol):
    def read(self, n: int = -1, /) -> bytes: ...
    def seek(self, offset: int, whence: int = 0, /) -> int: ...
    def tell(self) -> int: ...
    def close(self) -> None: ...


class _Store(Protocol):
    location: str
    threads: int  # reads that may overlap (publisher/results/reads.py)

    def list(self, template: str | None) -> tuple[list[ResultFile], list[str]]:
        """The data files directly in the location, and the names of its subfolders (with a
        trailing /) that are not ignored: neither is read."""
        ...

    def read_range(self, f: ResultFile, start: int, end: int) -> bytes: ...
    def stream(self, f: ResultFile, chunk: int) -> _Stream: ...


def _open_store(location: str, s3_client: Any | None) -> _Store:
    if is_s3(location):
        if s3_client is None:
            raise InvalidInput(f"results at {location} are on S3: they need an S3 connection")
        return _S3Store(location, s3_client)
    return _LocalStore(location)


def _ignored(name: str) -> bool:
    # Hadoop convention: _SUCCESS, _metadata, .part-0.crc are not data.
    return name == "" or name.startswith(("_", "."))


def _not_found(location: str, template: str | None, why: str = "") -> InvalidInput:
    source = f" (results template {template!r})" if template else ""
    return InvalidInput(f"results not found at {location}{why}; is the job finished?{source}")


class _LocalStore:
    """A folder on this machine."""

    threads = 1  # a footer read from local disk is CPU work: threads would only contend (bench/README.md)

    def __init__(self, location: str) -> None:
        self.path = os.path.abspath(os.path.expanduser(location))
        self.location = self.path.rstrip(os.sep) + os.sep

    def list(self, template: str | None) -> tuple[list[ResultFile], list[str]]:
        if not os.path.exists(self.path):
            raise _not_found(self.location, template)
        if not os.path.isdir(self.path):
            raise InvalidInput(f"results location {self.path} is a file; expected a folder")
        files, folders = [], []
        with os.scandir(self.path) as entries:
            for entry in entries:
                if _ignored(entry.name):
                    continue
                if entry.is_dir():
                    folders.append(entry.name + "/")
                elif entry.is_file():
                    st = entry.stat()
                    files.append(ResultFile(entry.path, st.st_size, str(st.st_mtime_ns), None))
        return sorted(files, key=lambda f: f.uri), sorted(folders)

    def read_range(self, f: ResultFile, start: int, end: int) -> bytes:
        with open(f.uri, "rb") as fh:
            fh.seek(start)
            return fh.read(end - start)

    def stream(self, f: ResultFile, chunk: int) -> _Stream:
        return open(f.uri, "rb", buffering=min(chunk, 1024 * 1024))


class _S3Store:
    """An S3 prefix, treated as a folder: keys directly under it, not deeper."""

    threads = S3_THREADS

    def __init__(self, location: str, client: Any) -> None:
        self.client = client
        try:
            where = S3Uri.parse(location)
        except ValueError:
            raise InvalidInput(f"results location {location!r} names no S3 bucket") from None
        # The key as written (a/b//c/ is not a/b/c/), as a folder: ending in '/'.
        self.bucket, self.prefix = where.bucket, where.folder().key
        self.location = str(where.folder())

    def list(self, template: str | None) -> tuple[list[ResultFile], list[str]]:
        from botocore.exceptions import BotoCoreError, ClientError

        files: list[ResultFile] = []
        folders: list[str] = []
        seen_any = False
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self.prefix, Delimiter="/"
        )
        try:
            for page in pages:
                seen_any = seen_any or bool(page.get("CommonPrefixes"))
                for common in page.get("CommonPrefixes", ()):
                    folder = common["Prefix"][len(self.prefix) :]
                    if not _ignored(folder.rstrip("/")):
                        folders.append(folder)
                for obj in page.get("Contents", ()):
                    seen_any = True
                    name = obj["Key"][len(self.prefix) :]
                    if not _ignored(name):
                        etag = str(obj.get("ETag", "")).strip('"')
                        uri = str(S3Uri(self.bucket, obj["Key"]))
                        files.append(ResultFile(uri, int(obj["Size"]), etag, None))
        except ClientError as e:
            code = e.response.get("Error", {}).get("Code", "")
            if code == "NoSuchBucket":
                raise _not_found(self.location, template, f" (bucket {self.bucket} does not exist)") from e
            raise InvalidInput(f"cannot list results at {self.location}: {code or e}") from e
        except BotoCoreError as e:
            raise InvalidInput(f"cannot list results at {self.location}: {e}") from e
        if not seen_any:
            raise _not_found(self.location, template)
        return sorted(files, key=lambda f: f.uri), sorted(folders)

    def read_range(self, f: ResultFile, start: int, end: int) -> bytes:
        from botocore.exceptions import BotoCoreError, ClientError

        if end <= start:
            return b""
        key = S3Uri.parse(f.uri).key
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=key, Range=f"bytes={start}-{end - 1}")
            return bytes(response["Body"].read())
        except ClientError as e:
            code = e.response.get("Error", {}).get("Code", "")
            raise InvalidInput(f"cannot read {f.uri}: {code or e}; was it changed or removed after listing?") from e
        except BotoCoreError as e:
            raise InvalidInput(f"cannot read {f.uri}: {e}") from e

    def stream(self, f: ResultFile, chunk: int) -> _Stream:
        return _RangeStream(lambda start, end: self.read_range(f, start, end), f.size, chunk)


class _RangeStream:
    """A seekable reader over ranged GETs: one buffer, refilled on demand.

    Reading on from the buffer fetches ``chunk`` bytes; a long seek forward (past a big
    Avro block) fetches only a small probe, so skipping data costs no transfer.
    """

    def __init__(self, fetch: Any, size: int, chunk: int) -> None:
        self._fetch = fetch
        self._size = size
        self._chunk = chunk
        self._pos = 0
        self._buf = b""
        self._start = 0

    def tell(self) -> int:
        return self._pos

    def close(self) -> None:
        self._buf = b""

    def seek(self, offset: int, whence: int = 0, /) -> int:
        base = {0: 0, 1: self._pos, 2: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def read(self, n: int = -1, /) -> bytes:
        if n < 0:
            n = self._size - self._pos
        out = bytearray()
        while n > 0 and self._pos < self._size:
            end = self._start + len(self._buf)
            if not self._start <= self._pos < end:
                self._fill(end)
            offset = self._pos - self._start
            piece = self._buf[offset : offset + n]
            if not piece:
                break
            out += piece
            self._pos += len(piece)
            n -= len(piece)
        return bytes(out)

    def _fill(self, old_end: int) -> None:
        near = 0 <= self._pos - old_end < self._chunk // 8
        length = self._chunk if near or not self._buf else S3_PROBE
        self._start = self._pos
        self._buf = self._fetch(self._pos, min(self._size, self._pos + length))
