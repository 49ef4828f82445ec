"""An S3 location: ``s3://`` + the bucket up to the first ``/`` + the key, exactly as written.

Never parsed as a URL: a key may hold ``#``, ``?``, ``%``, spaces and any other character, and
each is part of the key (urllib would cut the key at ``#`` or ``?``: a clean-up would then
delete another object, ``run`` for ``run#42/...``). Nothing is percent-decoded either.
"""

from __future__ import annotations

from dataclasses import dataclass

SCHEME = "s3://"


@dataclass(frozen=True)
class S3Uri:
    """An object or a prefix on S3: ``bucket`` and ``key`` as S3's API takes them."""

    bucket: str
    key: str

    @classmethod
    def parse(cls, uri: str) -> S3Uri:
        """The bucket and key of ``uri``; ValueError unless it starts with s3:// and names a bucket."""
        if not uri.startswith(SCHEME):
            raise ValueError(f"not an s3:// URI: {uri!r}")
        bucket, _, key = uri[len(SCHEME) :].partition("/")
        if not bucket:
            raise ValueError(f"{uri!r} names no S3 bucket")
        return cls(bucket, key)

    def __str__(self) -> str:
        return f"{SCHEME}{self.bucket}/{self.key}"

    def join(self, name: str) -> S3Uri:
        """The object ``name`` under this prefix (the key extended as written, no separator added)."""
        return S3Uri(self.bucket, self.key + name)

    def folder(self) -> S3Uri:
        """This location as a prefix ending in '/' (the bucket's root stays the empty key)."""
        return self if self.key == "" or self.key.endswith("/") else S3Uri(self.bucket, self.key + "/")

    def within(self, prefix: S3Uri) -> bool:
        """Whether COPY FROM ``prefix`` (every key starting with it) would reach this location."""
        return self.bucket == prefix.bucket and self.key.startswith(prefix.key)


def is_s3(location: str) -> bool:
    """Whether a results location or setting is on S3."""
    return location.startswith(SCHEME)
