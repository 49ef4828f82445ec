"""A small SQL lexer: enough to split a query string into statements and to recognise the
statements the stand-in executes itself (COPY, TRUNCATE, ALTER TABLE ... APPEND)."""

from __future__ import annotations

import re
from dataclasses import dataclass

# Cheap pre-check: a query without these words needs no lexing at all.
_MAYBE_SPECIAL = re.compile(
    r"copy|truncate|append|commit|end|distkey|diststyle|sortkey|encode|identity|binding|role", re.IGNORECASE
)

_SIMPLE = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<comment>--[^\n]*|/\*.*?\*/)
  | (?P<string>[Ee]?'(?:[^']|'')*')
  | (?P<ident>"(?:[^"]|"")*")
  | (?P<param>\$\d+)
  | (?P<number>\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)
  | (?P<word>[A-Za-z_\u0080-\U0010ffff][A-Za-z0-9_$\u0080-\U0010ffff]*)
    """,
    re.VERBOSE | re.DOTALL,
)
_DOLLAR_OPEN = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)?\$")


@dataclass(frozen=True)
class Token:
    kind: str  # word | ident | string | number | param | dollar | op | error
    text: str  # the source text
    start: int

    @property
    def value(self) -> str:
        """Unquoted value: string and identifier quotes removed, doubled quotes undone."""
        if self.kind == "string":
            body = self.text[1:] if self.text[:1] in "Ee" else self.text
            return body[1:-1].replace("''", "'")
        if self.kind == "ident":
            return self.text[1:-1].replace('""', '"')
        return self.text

    def is_word(self, *words: str) -> bool:
        return self.kind == "word" and self.text.lower() in words


def tokenize(sql: str, keep_trivia: bool = False) -> list[Token]:
    """Tokens of sql; whitespace and comments are dropped unless keep_trivia."""
    tokens: list[Token] = []
    pos = 0
    while pos < len(sql):
        if sql[pos] == "$":
            opened = _DOLLAR_OPEN.match(sql, pos)
            if opened:
                close = sql.find(opened.group(0), opened.end())
                end = len(sql) if close < 0 else close + len(opened.group(0))
                tokens.append(Token("dollar" if close >= 0 else "error", sql[pos:end], pos))
                pos = end
                continue
        match = _SIMPLE.match(sql, pos)
        if match is None:
            char = sql[pos]
            # An unterminated quote or comment swallows the rest: PostgreSQL will say so.
            kind = "error" if char in "'\"" or sql.startswith("/*", pos) else "op"
            end = len(sql) if kind == "error" else pos + 1
            tokens.append(Token(kind, sql[pos:end], pos))
            pos = end
            continue
        kind = match.lastgroup or "op"
        if keep_trivia or kind not in ("ws", "comment"):
            tokens.append(Token(kind, match.group(0), pos))
        pos = match.end()
    return tokens


def split_statements(sql: str) -> list[str]:
    """The statements of a simple-query string, without separators or empty statements."""
    statements: list[str] = []
    start = 0
    significant = False
    for token in tokenize(sql, keep_trivia=True):
        if token.kind == "op" and token.text == ";":
            if significant:
                statements.append(sql[start : token.start])
            start = token.start + 1
            significant = False
        elif token.kind not in ("ws", "comment"):
            significant = True
    if significant:
        statements.append(sql[start:])
    return statements


def classify(sql: str) -> str | None:
    """'copy', 'truncate', 'append', 'commit', 'keys' (CREATE TABLE with distribution or sort
    keys, column encodings or identity columns), 'late_binding' (CREATE VIEW ... WITH NO SCHEMA
    BINDING) or 'role_grant' (GRANT/REVOKE naming a ROLE) for the statements the proxy runs
    itself, else None."""
    from .redshift_ddl import is_late_binding_view, is_role_grant

    if not _MAYBE_SPECIAL.search(sql):
        return None
    tokens = tokenize(sql)
    if not tokens:
        return None
    if tokens[0].is_word("copy"):
        return "copy"
    if tokens[0].is_word("truncate"):
        return "truncate"
    if (tokens[0].is_word("commit") or tokens[0].is_word("end")) and len(tokens) <= 2:
        return "commit"  # COMMIT, END, COMMIT WORK, COMMIT TRANSACTION
    creates_table = tokens[0].is_word("create") and any(t.is_word("table") for t in tokens[1:4])
    if creates_table and any(t.is_word("diststyle", "distkey", "sortkey", "encode", "identity") for t in tokens):
        return "keys"
    if is_late_binding_view(tokens):
        return "late_binding"
    if is_role_grant(tokens):
        return "role_grant"
    if len(tokens) > 4 and tokens[0].is_word("alter") and tokens[1].is_word("table"):
        for i in range(3, len(tokens) - 1):
            if tokens[i].is_word("append") and tokens[i + 1].is_word("from"):
                return "append"
    return None


def identifier_part(token: Token) -> str:
    """An identifier as PostgreSQL resolves it: unquoted words fold to lower case."""
    return token.text.lower() if token.kind == "word" else token.value


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def qualified(parts: list[str]) -> str:
    return ".".join(quote_ident(p) for p in parts)


def take_qualified_name(tokens: list[Token], pos: int) -> tuple[list[str], int]:
    """Read name[.name[.name]] at tokens[pos]; returns (parts, next position)."""
    parts: list[str] = []
    while True:
        if pos >= len(tokens) or tokens[pos].kind not in ("word", "ident"):
            raise ValueError(pos)
        parts.append(identifier_part(tokens[pos]))
        pos += 1
        if pos < len(tokens) and tokens[pos].kind == "op" and tokens[pos].text == "." and len(parts) < 3:
            pos += 1
            continue
        return parts, pos
