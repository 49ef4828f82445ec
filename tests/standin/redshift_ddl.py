"""Two Redshift statements PostgreSQL does not take as written, read by the proxy:

* CREATE [OR REPLACE] VIEW name [(columns)] AS query WITH NO SCHEMA BINDING (a late-binding
  view). AWS, "CREATE VIEW" (WITH NO SCHEMA BINDING, and Usage notes, "Late-binding views"):
  the view is not bound to what it reads, has no dependency on it, can be queried after those
  objects are dropped or altered (a query fails while they are missing), and every table or view
  its query names must be qualified with a schema name. The proxy runs it as a view over
  redshift_standin.late_binding_view(sql) (bootstrap.sql).
* GRANT / REVOKE ... TO / FROM ROLE r, and GRANT / REVOKE ROLE r TO / FROM grantee (AWS, "GRANT",
  "REVOKE"): PostgreSQL names a role without the ROLE keyword, so the proxy drops it.
"""

from __future__ import annotations

from dataclasses import dataclass

from .sqlscan import Token, identifier_part, take_qualified_name, tokenize

UNQUALIFIED = (
    "the relations a late-binding view reads must be qualified with a schema name (WITH NO SCHEMA BINDING): {name}"
)


class DdlError(Exception):
    def __init__(self, message: str, sqlstate: str = "42601") -> None:
        super().__init__(message)
        self.message = message
        self.sqlstate = sqlstate


@dataclass(frozen=True)
class LateBindingView:
    name: list[str]  # as written, in parts
    columns: list[str] | None  # CREATE VIEW name (columns): the names given
    query: str  # the query as written, without WITH NO SCHEMA BINDING
    or_replace: bool


def _significant(sql: str) -> list[Token]:
    tokens = tokenize(sql)
    if tokens and tokens[-1].kind == "op" and tokens[-1].text == ";":
        tokens = tokens[:-1]
    return tokens


def is_late_binding_view(tokens: list[Token]) -> bool:
    if tokens and tokens[-1].kind == "op" and tokens[-1].text == ";":
        tokens = tokens[:-1]
    if len(tokens) < 8 or not tokens[0].is_word("create"):
        return False
    at = 3 if tokens[1].is_word("or") and tokens[2].is_word("replace") else 1
    if not tokens[at].is_word("view"):
        return False
    return [t.text.lower() for t in tokens[-4:]] == ["with", "no", "schema", "binding"]


def parse_late_binding_view(sql: str) -> LateBindingView:
    tokens = _significant(sql)
    or_replace = tokens[1].is_word("or")
    pos = 4 if or_replace else 2
    try:
        name, pos = take_qualified_name(tokens, pos)
    except (ValueError, IndexError):
        raise DdlError("syntax error in CREATE VIEW: a view name is expected") from None
    columns: list[str] | None = None
    if tokens[pos].text == "(":
        columns = []
        pos += 1
        while pos < len(tokens) and tokens[pos].text != ")":
            if tokens[pos].kind in ("word", "ident"):
                columns.append(identifier_part(tokens[pos]))
            elif tokens[pos].text != ",":
                raise DdlError(f'syntax error at or near "{tokens[pos].text}"')
            pos += 1
        pos += 1
    if pos >= len(tokens) - 4 or not tokens[pos].is_word("as"):
        raise DdlError("syntax error in CREATE VIEW: AS query expected")
    body = tokens[pos + 1 : -4]
    query = sql[body[0].start : tokens[-4].start].rstrip()
    check_qualified(body)
    return LateBindingView(name, columns, query, or_replace)


def check_qualified(tokens: list[Token]) -> None:
    """Every name after FROM or JOIN qualified (schema.name), other than a WITH query's own
    name, a function call or a subquery. A reading of the rule, not Redshift's parser: a
    table listed after a comma in FROM is not checked."""
    ctes = {
        identifier_part(t)
        for i, t in enumerate(tokens[:-2])
        if t.kind in ("word", "ident") and tokens[i + 1].is_word("as") and tokens[i + 2].text == "("
    }
    for i, token in enumerate(tokens[:-1]):
        if not token.is_word("from", "join"):
            continue
        following = tokens[i + 1]
        if following.is_word("lateral", "only") or following.kind not in ("word", "ident"):
            continue
        after = tokens[i + 2] if i + 2 < len(tokens) else None
        if after is not None and after.text in (".", "("):
            continue
        if identifier_part(following) in ctes:
            continue
        raise DdlError(UNQUALIFIED.format(name=following.text), "42P01")


def is_role_grant(tokens: list[Token]) -> bool:
    return bool(tokens) and tokens[0].is_word("grant", "revoke") and bool(_role_keywords(tokens))


def _role_keywords(tokens: list[Token]) -> list[Token]:
    """The ROLE keywords PostgreSQL does not take: GRANT ROLE r ..., and before a grantee."""
    found = []
    if len(tokens) > 2 and tokens[1].is_word("role") and tokens[2].kind in ("word", "ident"):
        found.append(tokens[1])
    grantees = False
    for i, token in enumerate(tokens[:-2]):
        if token.is_word("to", "from"):
            grantees = True
        elif not (grantees and token.text == ","):
            continue
        if tokens[i + 1].is_word("role") and tokens[i + 2].kind in ("word", "ident"):
            found.append(tokens[i + 1])
    return found


def rewrite_role_grant(sql: str) -> str:
    """The statement with each ROLE keyword before a role's name removed."""
    for token in sorted(_role_keywords(_significant(sql)), key=lambda t: t.start, reverse=True):
        sql = sql[: token.start] + sql[token.start + len(token.text) :]
    return sql
