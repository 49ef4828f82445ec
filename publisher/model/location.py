"""A table's, partition's or folder's storage location: one value, parsed once where an engine
reports it, compared by value.

Engines print one folder in several spellings (measured, Spark 4.3 and Apache Hive 4.0.1):
``file:/w/t``, ``file:///w/t`` or ``/w/t``, with a trailing slash or without, and either as a
path as written (DESCRIBE FORMATTED of a table or partition: Hadoop's ``Path.toString``) or as
a URI (Spark's DESCRIBE DATABASE prints ``java.net.URI.toString``: ``it's%20a``, a literal
``%41`` as ``%2541``, ``{`` as ``%7B``). Which spelling a line uses is known only where it is
read, so the reader says it (``parse`` or ``from_uri``); percent-encoding is never guessed from
the text, which would turn a folder named ``100%41`` into ``100A``.

A Location holds the path as written (decoded), and renders it back in the form Hive and Spark
read in a LOCATION clause (``new Path(text)``: no decoding): ``str(location)``, which reaches SQL
only through a dialect's literal quoting; the file system is reached only through ``local_path``.
The text is stripped first: engines pad DESCRIBE's cells with spaces, so a last folder name
ending in a space cannot be told from padding (nor published into).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):(.*)", re.DOTALL)
_LOCAL_HOSTS = ("", "localhost")


@dataclass(frozen=True, order=True)
class Location:
    """``scheme://authority/path`` with the path as written: absolute, single slashes, no
    trailing slash (the root stays ``/``); the scheme lower-cased; ``file:`` has no authority."""

    scheme: str
    authority: str
    path: str

    @classmethod
    def parse(cls, text: str) -> Location:
        """A location printed as a path (Hadoop's ``Path.toString``: nothing percent-encoded)."""
        return cls._split(text.strip(), decode=False)

    @classmethod
    def from_uri(cls, text: str) -> Location:
        """A location printed as a URI, percent-encoded (Spark's DESCRIBE DATABASE)."""
        return cls._split(text.strip(), decode=True)

    @classmethod
    def _split(cls, text: str, *, decode: bool) -> Location:
        found = _SCHEME.fullmatch(text)
        if found is None or text.startswith("/"):
            # A metastore may hold a path without its file system (one a listener or a hand-made
            # table wrote): the engine resolves it against its default file system, local here.
            scheme, rest = "file", text
        else:
            scheme, rest = found.group(1).lower(), found.group(2)
        authority = ""
        if rest.startswith("//"):
            authority, slash, rest = rest[2:].partition("/")
            rest = slash + rest
        if not rest.startswith("/"):
            raise ValueError(f"not an absolute location: {text!r}")
        if decode:
            authority, rest = unquote(authority, errors="strict"), unquote(rest, errors="strict")
        if scheme == "file" and authority.lower() in _LOCAL_HOSTS:
            authority = ""
        # Hadoop's Path.normalizePath: repeated slashes are one, no trailing slash.
        path = re.sub("/{2,}", "/", rest).rstrip("/") or "/"
        return cls(scheme, authority, path)

    def __str__(self) -> str:
        """As Hive and Spark print it and read it back in a LOCATION clause (a path, not a URI)."""
        if not self.authority:
            return f"{self.scheme}:{self.path}"
        return f"{self.scheme}://{self.authority}{self.path}"

    @property
    def name(self) -> str:
        """The last name in the path ('' for the root)."""
        return self.path.rpartition("/")[2]

    @property
    def parent(self) -> Location:
        """The folder holding this one (the root is its own parent)."""
        head = self.path.rpartition("/")[0] or "/"
        return Location(self.scheme, self.authority, head)

    def child(self, relative: str) -> Location:
        """``relative`` (one name, or names joined by '/', as written) under this folder."""
        parts = [p for p in relative.split("/") if p]
        if not parts or any(p in (".", "..") for p in parts):
            raise ValueError(f"not a relative path below a folder: {relative!r}")
        base = "" if self.path == "/" else self.path
        return Location(self.scheme, self.authority, f"{base}/{'/'.join(parts)}")

    def inside(self, folder: Location) -> bool:
        """Whether this is ``folder`` or lies anywhere under it."""
        if (self.scheme, self.authority) != (folder.scheme, folder.authority):
            return False
        return folder.path == "/" or self.path == folder.path or self.path.startswith(folder.path + "/")

    def relative_to(self, folder: Location) -> str | None:
        """The names below ``folder`` leading here ('' for the folder itself; None: not inside)."""
        if not self.inside(folder):
            return None
        return self.path[len(folder.path) :].lstrip("/")

    def base_of(self, relative: str) -> Location | None:
        """The folder ``relative`` (names joined by '/') leads here from; None: this does not end with it."""
        tail = "/" + relative.strip("/")
        if tail == "/" or not self.path.endswith(tail):
            return None
        return Location(self.scheme, self.authority, self.path[: -len(tail)] or "/")

    def local_path(self) -> Path:
        """The folder on this machine's file system: the one way to list or delete it."""
        if self.scheme != "file":
            raise ValueError(f"{self} is not on the local file system")
        return Path(self.path)


def same(a: Location | None, b: Location | None) -> bool:
    """Whether two locations name the same folder (None matches nothing)."""
    return a is not None and b is not None and a == b
