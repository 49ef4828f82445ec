"""CREATE TABLE with Redshift's distribution and sort keys, column encodings and identity
columns, which PostgreSQL has not: the table attributes after the column list (DISTSTYLE,
DISTKEY, [COMPOUND] SORTKEY) and each column's ENCODE are cut off before PostgreSQL sees the
statement, and recorded (redshift_standin.table_keys), so that pg_class_info and
pg_attribute_info answer what Redshift's catalog would; a column's IDENTITY (seed, step)
becomes DEFAULT "identity"(0, 0, 'seed,step'::text), the form Redshift's pg_attrdef shows."""

from __future__ import annotations

from dataclasses import dataclass

from .sqlscan import Token, identifier_part, take_qualified_name, tokenize

KEY_WORDS = ("diststyle", "distkey", "sortkey", "compound", "interleaved")
ENCODINGS = (
    "raw", "az64", "bytedict", "delta", "delta32k", "lzo", "mostly8", "mostly16", "mostly32",
    "runlength", "text255", "text32k", "zstd",
)  # fmt: skip
"""Redshift's column compression encodings (ENCODE AUTO is a table attribute, not implemented)."""
NOT_A_COLUMN = ("constraint", "primary", "unique", "foreign", "check", "like")
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
    encodings: dict[str, str]  # column -> encoding, for the columns given an ENCODE


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
    encodings, cuts = _column_attributes(tokens, pos, end)
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
    keys = TableKeys(table, "KEY" if dist_key else (style or "AUTO"), dist_key, sort_keys, encodings)
    text, last = "", 0
    for start, stop, replacement in cuts:
        text += sql[last:start] + replacement
        last = stop
    return text + sql[last : tokens[end].start + 1], keys


def _column_attributes(tokens: list[Token], first: int, end: int) -> tuple[dict[str, str], list[tuple[int, int, str]]]:
    """Each column's ENCODE and IDENTITY in the column list tokens[first:end+1]: the encodings
    by column, and the spans of text to replace (start, stop, replacement) in order."""
    encodings: dict[str, str] = {}
    cuts: list[tuple[int, int, str]] = []
    depth, column = 0, None
    pos = first
    while pos < end:
        token = tokens[pos]
        if token.text == "(":
            depth += 1
        elif token.text == ")":
            depth -= 1
        elif depth == 1 and token.text == ",":
            column = None
        elif depth == 1 and column is None and tokens[pos - 1].text in ("(", ","):
            column = None if token.is_word(*NOT_A_COLUMN) else identifier_part(token)
        elif depth == 1 and column is not None and token.is_word("encode"):
            word = tokens[pos + 1] if pos + 1 < end else None
            if word is None or not word.is_word(*ENCODINGS):
                found = word.text if word is not None else "end"
                raise KeysError(f'invalid encoding type specified for column "{column}" ({found})', "42704")
            encodings[column] = word.text.lower()
            cuts.append((token.start, word.start + len(word.text), ""))
            pos += 2
            continue
        elif depth == 1 and column is not None and token.is_word("identity"):
            parts = [t.text for t in tokens[pos + 1 : pos + 6]]
            if len(parts) < 5 or parts[0] != "(" or parts[2] != "," or parts[4] != ")":
                raise KeysError("the stand-in implements IDENTITY (seed, step) with two integers only", "0A000")
            if not (parts[1].isdigit() and parts[3].isdigit()):
                raise KeysError("IDENTITY (seed, step) takes two integers")
            closing = tokens[pos + 5]
            cuts.append((token.start, closing.start + 1, f"DEFAULT \"identity\"(0, 0, '{parts[1]},{parts[3]}'::text)"))
            pos += 6
            continue
        pos += 1
    return encodings, cuts


def _word(tokens: list[Token], pos: int, word: str) -> bool:
    return pos < len(tokens) and tokens[pos].is_word(word)
