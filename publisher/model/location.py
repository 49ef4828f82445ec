"""A storage location as engines report it, normalised once for comparison.

Hive and Spark report one folder in several spellings: ``file:/w/t``, ``file:///w/t``, with a
trailing slash or without, percent-encoded (``it%27s%20a``) or not (``it's a``): a path that
holds a space or a quote compared as text never matched, and a check that a table is where the
plan put it failed on a correct swap."""

from __future__ import annotations

from urllib.parse import unquote


def normalized(uri: str) -> str:
    """``uri`` with one spelling per folder: ``file:`` with a single slash, no percent-encoding,
    no trailing slash. Only for comparing: statements keep the engine's own spelling."""
    text = unquote(uri.strip())
    for long_form in ("file:///", "file://localhost/"):
        if text.startswith(long_form):
            text = "file:/" + text[len(long_form) :]
    return text.rstrip("/") or text


def same(a: str | None, b: str | None) -> bool:
    """Whether two reported locations name the same folder (None matches nothing)."""
    return a is not None and b is not None and normalized(a) == normalized(b)


def parent_and_leaf(uri: str) -> tuple[str, str]:
    """The normalised folder above ``uri``, and the last name in it."""
    text = normalized(uri)
    parent, _, leaf = text.rpartition("/")
    return parent, leaf
