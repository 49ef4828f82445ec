"""The input formats' names and magic bytes, and the error for a file not in its format."""

from __future__ import annotations

from publisher.model.errors import InvalidInput
from publisher.model.vocabulary import InputFormat
from publisher.results.values import ResultFile

FORMAT_NAMES: dict[InputFormat, str] = {
    "pqt": "Parquet",
    "avro": "Avro",
    "csv": "CSV (comma-delimited, with a header row)",
    "json": "newline-delimited JSON",
}

_PARQUET_MAGIC = b"PAR1"
_AVRO_MAGIC = b"Obj\x01"


class _Corrupt(Exception):
    """A structural problem in a file (Avro blocks, a text line), described for the user."""


def _looks_like(head: bytes) -> str:
    if head.startswith(_PARQUET_MAGIC):
        return "a Parquet file"
    if head.startswith(_AVRO_MAGIC):
        return "an Avro file"
    if head[:1] in (b"{", b"["):
        return "JSON text"
    if b"\0" in head[:1024]:
        return "binary data"
    return "text"


def _wrong_format(f: ResultFile, fmt: InputFormat, problem: str, head: bytes | None) -> InvalidInput:
    seen = f"; it looks like {_looks_like(head)}" if head is not None else ""
    return InvalidInput(f"{f.uri} is not a readable {FORMAT_NAMES[fmt]} file (inputFormat {fmt}): {problem}{seen}")
