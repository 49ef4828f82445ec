"""Identifier case as Redshift has it, for the stand-in's proxy.

AWS, "enable_case_sensitive_identifier" (Database Developer Guide,
https://docs.aws.amazon.com/redshift/latest/dg/r_enable_case_sensitive_identifier.html):
"The case of name identifiers is not preserved, and instead converted to lowercase, when you do
not enclose identifiers within double quotation marks or when you set
enable_case_sensitive_identifier to false" (the default); with it true, quoted names keep their
case. "The case of a username enclosed in double quotation marks is always preserved." The same
page folds ASCII letters only ("Names and identifiers": ASCII letters are case-insensitive).

PostgreSQL keeps every quoted name's case. So, unless the session's setting is on, the proxy
rewrites each "Quoted" identifier to lower case (ASCII letters only) before PostgreSQL parses
the statement; unquoted names PostgreSQL folds itself. User names (after USER, OWNER TO, and a
GRANT's or REVOKE's grantees) keep their case.

The setting lives upstream as the placeholder redshift_standin.enable_case_sensitive_identifier
(PostgreSQL refuses unknown names without a prefix), so SET, SET LOCAL, RESET, ALTER USER/
DATABASE ... SET and their rollback behave as PostgreSQL's settings do; the proxy rewrites the
statements that name it, and reads the value back when it next needs it.
"""

from __future__ import annotations

import re

from .sqlscan import Token, quote_literal, tokenize

SETTING = "enable_case_sensitive_identifier"
UPSTREAM = f"redshift_standin.{SETTING}"
READ_SQL = f"SELECT current_setting('{UPSTREAM}', true)"

# PostgreSQL's parse_bool spellings (Redshift documents true and false).
_TRUE = {"true", "on", "yes", "1", "t", "y"}
_FALSE = {"false", "off", "no", "0", "f", "n"}

_MENTIONS = re.compile(SETTING, re.IGNORECASE)
_QUOTED_CAPITAL = re.compile(r'"[^"]*[A-Z]')
_ENDS_TRANSACTION = re.compile(r"^\s*(commit|end|rollback|abort|reset|discard|prepare)\b", re.IGNORECASE)


class CaseError(Exception):
    def __init__(self, sqlstate: str, message: str) -> None:
        super().__init__(message)
        self.sqlstate = sqlstate
        self.message = message


def mentions_setting(sql: str) -> bool:
    return _MENTIONS.search(sql) is not None


def may_change_setting(sql: str) -> bool:
    """A statement after which the session's value may differ: one naming the setting, or one
    ending a transaction (SET LOCAL ends, a rolled-back SET is undone), RESET ALL, DISCARD."""
    return mentions_setting(sql) or _ENDS_TRANSACTION.match(sql) is not None


def has_quoted_capitals(sql: str) -> bool:
    """Cheap: whether folding could change anything (a quoted name with an ASCII capital)."""
    return _QUOTED_CAPITAL.search(sql) is not None


def is_on(value: str | None) -> bool:
    """The upstream value read back (None: never set, Redshift's default false)."""
    return (value or "off").strip().lower() in _TRUE


def _lower_ascii(text: str) -> str:
    return text.translate(_ASCII_LOWER)


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def fold_quoted(sql: str) -> str:
    """``sql`` with every quoted identifier but a user name in lower case (ASCII letters)."""
    tokens = tokenize(sql, keep_trivia=True)
    significant = [t for t in tokens if t.kind not in ("ws", "comment")]
    kept = _user_names(significant)
    return "".join(_lower_ascii(t.text) if t.kind == "ident" and t.start not in kept else t.text for t in tokens)


def _user_names(tokens: list[Token]) -> set[int]:
    """Positions of the quoted identifiers that name users, whose case Redshift keeps."""
    kept: set[int] = set()
    for i, token in enumerate(tokens):
        if token.kind != "ident" or i == 0:
            continue
        before = tokens[i - 1]
        if before.is_word("user") or (before.is_word("to") and i > 1 and tokens[i - 2].is_word("owner")):
            kept.add(token.start)
    if tokens and tokens[0].is_word("grant", "revoke"):
        # Grantees: after the last TO (GRANT) or FROM (REVOKE); GROUP g and ROLE r are not users.
        keyword = "to" if tokens[0].is_word("grant") else "from"
        last = max((i for i, t in enumerate(tokens) if t.is_word(keyword)), default=len(tokens))
        for i in range(last + 1, len(tokens)):
            if tokens[i].kind == "ident" and not tokens[i - 1].is_word("group", "role"):
                kept.add(tokens[i].start)
    return kept


def rewrite_setting(sql: str) -> str:
    """SET/RESET/SHOW/ALTER USER|ROLE|DATABASE ... of the setting, as the upstream placeholder;
    any other statement unchanged. CaseError for a value that is not a Boolean."""
    tokens = tokenize(sql)
    if not tokens:
        return sql
    first = tokens[0]
    if first.is_word("show") and len(tokens) >= 2 and tokens[1].is_word(SETTING):
        # SHOW answers a column named after the setting, 'on' or 'off'.
        return f"SELECT {_shown()} AS {SETTING}"
    is_alter = first.is_word("alter") and len(tokens) > 1 and tokens[1].is_word("user", "role", "database")
    if not (first.is_word("set", "reset") or is_alter):
        return sql
    out: list[str] = []
    pos = 0
    for i, token in enumerate(tokens):
        if not token.is_word(SETTING) or i == 0 or not tokens[i - 1].is_word("set", "reset", "session", "local"):
            continue
        out.append(sql[pos : token.start])
        out.append(UPSTREAM)
        pos = token.start + len(token.text)
        if i + 2 < len(tokens) and (tokens[i + 1].is_word("to") or tokens[i + 1].text == "="):
            value = tokens[i + 2]
            if not value.is_word("default"):
                out.append(sql[pos : value.start])
                out.append(quote_literal(_boolean(value)))
                pos = value.start + len(value.text)
    out.append(sql[pos:])
    return "".join(out)


def _shown() -> str:
    truthy = ", ".join(quote_literal(v) for v in sorted(_TRUE))
    return (
        f"CASE WHEN lower(coalesce(current_setting('{UPSTREAM}', true), 'off')) IN ({truthy}) THEN 'on' ELSE 'off' END"
    )


def _boolean(token: Token) -> str:
    text = token.value.strip().lower() if token.kind in ("word", "string", "number") else ""
    if text in _TRUE:
        return "on"
    if text in _FALSE:
        return "off"
    raise CaseError("22023", f'parameter "{SETTING}" requires a Boolean value')
