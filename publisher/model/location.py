"""A storage location as engines report it, normalised once for comparison.

Hive and Spark report one folder in several spellings: ``file:/w/t`` or ``file:///w/t``, with a
trailing slash or without. Spark's DESCRIBE DATABASE also percent-encodes it (``it's%20a``, a
literal ``%41`` as ``%2541``), where DESCRIBE FORMATTED of a table does not (measured, Spark
4.3): that one is decoded where it is read (engines/hive_describe.py), so that every location
a plan holds is a path as written; decoding here as well would turn a folder named ``100%41``
into ``100A``."""

from __future__ import annotations

from urllib.parse import unquote


def decoded(uri: str) -> str:
    """A location printed as a URI (percent-encoded), as a path as written."""
    return unquote(uri)


def normalized(uri: str) -> str:
    """``uri`` with one spelling per folder: ``file:`` with a single slash, no trailing slash.
    Only for comparing: statements keep the engine's own spelling."""
    text = uri.strip()
    for long_form in ("file:///", "file://localhost/"):
        if text.startswith(long_form):
            text = "file:/" + text[len(long_form) :]
    if text.startswith("/"):
        # A metastore may hold a path without its file system (one a listener or a hand-made
        # table wrote): the engine resolves it against its default, local here.
        text = "file:" + text
    return text.rstrip("/") or text


def same(a: str | None, b: str | None) -> bool:
    """Whether two reported locations name the same folder (None matches nothing)."""
    return a is not None and b is not None and normalized(a) == normalized(b)


def parent_and_leaf(uri: str) -> tuple[str, str]:
    """The normalised folder above ``uri``, and the last name in it."""
    text = normalized(uri)
    parent, _, leaf = text.rpartition("/")
    return parent, leaf


def inside(uri: str, folder: str) -> bool:
    """Whether ``uri`` is ``folder`` or lies anywhere under it."""
    child, parent = normalized(uri), normalized(folder)
    return child == parent or child.startswith(parent + "/")
