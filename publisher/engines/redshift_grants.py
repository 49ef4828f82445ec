"""A Redshift table's grants, read from the text of its pg_class.relacl (which PostgreSQL
writes the same way): `alice=rw/owner`, `group analysts=r*/owner`, `=r/owner` for PUBLIC,
names with other characters than letters, digits and _ in double quotes."""

from __future__ import annotations

from publisher.model.target import PRIVILEGES, Grant, GranteeKind

# aclitem privilege letters that mean the same privilege on Redshift and PostgreSQL. Others
# differ (D is DROP on Redshift, TRUNCATE on PostgreSQL) or have no GRANT on both: not copied.
LETTERS = {"r": "SELECT", "a": "INSERT", "w": "UPDATE", "d": "DELETE", "x": "REFERENCES"}


def split_acl(text: str) -> list[str]:
    """``array_to_string(relacl, ',')`` back into its items (a quoted name may hold a comma)."""
    items, current, quoted = [], "", False
    for char in text:
        if char == '"':
            quoted = not quoted
        if char == "," and not quoted:
            items.append(current)
            current = ""
        else:
            current += char
    if current:
        items.append(current)
    return items


def _name(text: str) -> str:
    if text.startswith('"') and text.endswith('"') and len(text) >= 2:
        return text[1:-1].replace('""', '"')
    return text


def _split_item(item: str) -> tuple[str, str]:
    """(grantee as written, privileges) of ``grantee=privileges/grantor``; the = outside quotes."""
    quoted = False
    for i, char in enumerate(item):
        if char == '"':
            quoted = not quoted
        elif char == "=" and not quoted:
            return item[:i], item[i + 1 :].rsplit("/", 1)[0]
    raise ValueError(f"not an aclitem: {item!r}")


def parse_grants(
    acl: str | None, owner: str, groups: frozenset[str], roles: frozenset[str] = frozenset()
) -> tuple[tuple[Grant, ...], tuple[str, ...]]:
    """The grants of a table to others than its owner, and what is granted but not copied
    (described for the plan). ``groups``: names of groups (PostgreSQL writes a group's name
    without Redshift's `group ` prefix). ``roles``: names of roles, whose grants are read from
    svv_relation_privileges (role_grants) and skipped here: Redshift's relacl has none, but
    PostgreSQL's, where its roles stand in for Redshift's, has them too."""
    grants: list[Grant] = []
    skipped: list[str] = []
    for item in split_acl(acl or ""):
        written, letters = _split_item(item.strip())
        kind: GranteeKind = "user"
        if written.startswith("group "):
            kind, written = "group", written[len("group ") :]
        name = _name(written)
        if not name:
            kind = "public"
        elif kind == "user" and name in roles:
            continue
        elif name in groups:
            kind = "group"
        if kind == "user" and name == owner:
            continue  # the owner's own privileges come with ownership
        known = {LETTERS[c]: letters[i + 1 : i + 2] == "*" for i, c in enumerate(letters) if c in LETTERS}
        other = sorted({c for c in letters if c not in LETTERS and c != "*"})
        if other:
            label = "PUBLIC" if kind == "public" else f"{kind} {name}"
            skipped.append(f"{label}: {''.join(other)}")
        for grantable in (False, True):
            privileges = tuple(p for p in PRIVILEGES if p in known and known[p] == grantable)
            if privileges:
                grants.append(Grant(kind, name, privileges, grantable))
    return tuple(grants), tuple(skipped)


def role_grants(rows: list[tuple[str, str]]) -> tuple[tuple[Grant, ...], tuple[str, ...]]:
    """Grants to roles from svv_relation_privileges rows (identity_name, privilege_type) of one
    table whose identity_type is 'role': one Grant per role of the privileges PRIVILEGES lists,
    and the others (Redshift's DROP, ALTER, ...) described as not copied, as parse_grants does."""
    found: dict[str, set[str]] = {}
    for name, privilege in rows:
        found.setdefault(name, set()).add(privilege.upper())
    grants, skipped = [], []
    for name, privileges in sorted(found.items()):
        known = tuple(p for p in PRIVILEGES if p in privileges)
        if known:
            grants.append(Grant("role", name, known))
        other = sorted(privileges - set(PRIVILEGES))
        if other:
            skipped.append(f"role {name}: {', '.join(other)}")
    return tuple(grants), tuple(skipped)
