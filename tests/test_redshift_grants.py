"""A table's grants read from relacl text, as Redshift and PostgreSQL write it."""

from __future__ import annotations

from publisher.engines.redshift_grants import parse_grants, split_acl
from publisher.model.target import Grant


def test_users_groups_public_and_grant_options() -> None:
    acl = 'owner=arwdRxt/owner,alice=r/owner,group analysts=rw/owner,=r/owner,bob=r*a/owner,"we,ird ""x"""=d/owner'
    grants, skipped = parse_grants(acl, "owner", frozenset())
    assert grants == (
        Grant("user", "alice", ("SELECT",)),
        Grant("group", "analysts", ("SELECT", "UPDATE")),
        Grant("public", "", ("SELECT",)),
        Grant("user", "bob", ("INSERT",)),
        Grant("user", "bob", ("SELECT",), grantable=True),
        Grant("user", 'we,ird "x"', ("DELETE",)),
    )
    assert skipped == ()  # the owner's own privileges are not grants to copy


def test_postgresql_writes_groups_without_the_prefix_and_other_letters_are_named() -> None:
    grants, skipped = parse_grants(
        "publisher=arwdDxt/publisher,readers=arwdDxt/publisher", "publisher", frozenset({"readers"})
    )
    assert grants == (Grant("group", "readers", ("SELECT", "INSERT", "UPDATE", "DELETE", "REFERENCES")),)
    assert skipped == ("group readers: Dt",)


def test_no_acl_means_no_grants() -> None:
    assert parse_grants(None, "o", frozenset()) == ((), ())
    assert split_acl('a=r/o,"b,c"=r/o') == ["a=r/o", '"b,c"=r/o']
