"""A table's grants read from relacl text, as Redshift and PostgreSQL write it."""

from __future__ import annotations

from publisher.engines.redshift import tables_named
from publisher.engines.redshift_grants import parse_grants, role_grants, split_acl
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


def test_roles_in_relacl_are_left_to_svv_relation_privileges() -> None:
    """PostgreSQL, where its roles stand in for Redshift's, writes a grant to a role in relacl;
    Redshift does not: the role's grant is read from svv_relation_privileges alone."""
    grants, _ = parse_grants("o=r/o,analysts=r/o,alice=r/o", "o", frozenset({"analysts"}), frozenset({"analysts"}))
    assert grants == (Grant("user", "alice", ("SELECT",)),)


def test_role_grants_from_svv_relation_privileges_rows() -> None:
    rows = [("b", "SELECT"), ("a", "UPDATE"), ("a", "SELECT"), ("b", "DROP"), ("c", "DROP")]
    assert role_grants(rows) == (
        (Grant("role", "a", ("SELECT", "UPDATE")), Grant("role", "b", ("SELECT",))),
        ("role b: DROP", "role c: DROP"),
    )


def test_the_tables_a_late_binding_views_sql_names() -> None:
    sql = 'select a.x from s.t a join "S"."U" on 1=1 join dev.s.w, other.v with no schema binding'
    assert tables_named(sql, "s") == {"t", "u", "w"}
    assert tables_named(sql, "other") == {"v"}
    assert tables_named("select 1 from ss.t join s2.t2", "s") == set()
