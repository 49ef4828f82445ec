"""CREATE TABLE with Redshift's distribution and sort keys, which PostgreSQL has not: the
table attributes after the column list (DISTSTYLE, DISTKEY, [COMPOUND] SORTKEY) are cut
off before PostgreSQL sees the statement, and recorded (redshift_standin.table_keys), so
that pg_class_info and pg_attribute_info answer what Redshift's catalog would."""

from __future__ import annotations

from dataclasses import dataclass

from .sqlscan import Token, identifier_part, take_qualified_name, tokenize

KEY_WORDS = ("diststyle", "distkey", "sortkey", "compound", "interleaved")
DIST_STYLES = ("auto", "even", "key", "all")


class KeysError(Exception):
    """A CREATE TABLE whose keys Redshift would refuse, or the stand-in does not implement."""

    def __init__(self, message: str, sqlstate: str = "42601") -> None:
        super().__init__(message)
        self.message = message
        self.sqlstate = sqlstate


@dataclass(frozen=True)
class TableKeys:
    table: list[str]  # the name as written, in parts
    dist_style: str  # AUTO, EVEN, KEY or ALL (AUTO when not given, as on Redshift)
    dist_key: str | None
    sort_keys: list[str]


def _names(tokens: list[Token], pos: int) -> tuple[list[str], int]:
    """( name [, name ...] ) at tokens[pos]."""
    if pos >= len(tokens) or tokens[pos].text != "(":
        raise KeysError("syntax error: expected ( after DISTKEY or SORTKEY")
    names, pos = [], pos + 1
    while pos < len(tokens) and tokens[pos].text != ")":
        if tokens[pos].kind in ("word", "ident"):
            names.append(identifier_part(tokens[pos]))
        elif tokens[pos].text != ",":
            raise KeysError(f"syntax error at or near {tokens[pos].text!r}")
        pos += 1
    if pos >= len(tokens) or not names:
        raise KeysError("syntax error: a key names one or more columns")
    return names, pos + 1


def strip_keys(sql: str) -> tuple[str, TableKeys]:
    """The statement without its key attributes, for PostgreSQL, and the keys."""
    tokens = tokenize(sql)
    pos = 1
    while pos < len(tokens) and not tokens[pos].is_word("table"):
        pos += 1  # TEMP, TEMPORARY, LOCAL
    pos += 1
    if pos + 2 < len(tokens) and tokens[pos].is_word("if"):
        pos += 3  # IF NOT EXISTS
    table, pos = take_qualified_name(tokens, pos)
    if pos >= len(tokens) or tokens[pos].text != "(":
        raise KeysError("the stand-in implements keys only on CREATE TABLE name (columns) ...", "0A000")
    depth, end = 0, None
    for i in range(pos, len(tokens)):
        if tokens[i].text == "(":
            depth += 1
        elif tokens[i].text == ")":
            depth -= 1
            if depth == 0:
                end = i
                break
        elif depth == 1 and tokens[i].is_word(*KEY_WORDS):
            raise KeysError("the stand-in implements DISTKEY and SORTKEY as table attributes only", "0A000")
    if end is None:
        raise KeysError("syntax error: CREATE TABLE without a column list")
    style, dist_key, sort_keys = None, None, []
    pos = end + 1
    while pos < len(tokens):
        token = tokens[pos]
        if token.is_word("diststyle") and pos + 1 < len(tokens) and tokens[pos + 1].is_word(*DIST_STYLES):
            style, pos = tokens[pos + 1].text.upper(), pos + 2
        elif token.is_word("distkey"):
            (dist_key, *more), pos = _names(tokens, pos + 1)
            if more:
                raise KeysError("DISTKEY names one column")
        elif token.is_word("sortkey") or (token.is_word("compound") and _word(tokens, pos + 1, "sortkey")):
            pos += 2 if token.is_word("compound") else 1
            sort_keys, pos = _names(tokens, pos)
        elif token.is_word("interleaved"):
            raise KeysError("the stand-in does not implement INTERLEAVED SORTKEY", "0A000")
        else:
            raise KeysError(f"the stand-in does not implement the table attribute {token.text!r}", "0A000")
    if dist_key and style not in (None, "KEY"):
        raise KeysError(f"DISTKEY goes with DISTSTYLE KEY, not {style}")
    if style == "KEY" and not dist_key:
        raise KeysError("DISTSTYLE KEY needs a DISTKEY column")
    keys = TableKeys(table, "KEY" if dist_key else (style or "AUTO"), dist_key, sort_keys)
    return sql[: tokens[end].start + 1], keys


def _word(tokens: list[Token], pos: int, word: str) -> bool:
    return pos < len(tokens) and tokens[pos].is_word(word)
