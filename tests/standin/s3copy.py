"""Redshift `COPY ... FROM 's3://...'`: the statement's grammar, and its validation as
Redshift validates it. Pure: no I/O here (see loaders.py for reading the objects).

Accepted syntax (keywords case-insensitive, options in any order, each at most once):

    COPY table [ ( column [, ...] ) ]
    FROM 's3://bucket/prefix-or-manifest'
    credentials
    format
    [ option ... ] [ ; ]

    credentials := IAM_ROLE { 'arn:aws:iam::<12 digits>:role/<name>[,...]' | DEFAULT }
                 | ACCESS_KEY_ID 'id' SECRET_ACCESS_KEY 'secret' [ SESSION_TOKEN 'token' ]
                 | CREDENTIALS [AS] 'aws_access_key_id=..;aws_secret_access_key=..[;token=..]'
                 | CREDENTIALS [AS] 'aws_iam_role=arn:aws:iam::...'
    format      := [FORMAT [AS]] CSV [ QUOTE [AS] 'c' ]
                 | [FORMAT [AS]] JSON [AS] { 'auto' | 'auto ignorecase' }
                 | [FORMAT [AS]] AVRO [AS] { 'auto' | 'auto ignorecase' }
                 | FORMAT [AS] PARQUET
    option      := MANIFEST | REGION [AS] 'region'
                 | IGNOREHEADER [AS] n | DELIMITER [AS] 'c' | NULL [AS] 'string'   (CSV)
                 | EMPTYASNULL | BLANKSASNULL | TIMEFORMAT [AS] 'auto'
                 | DATEFORMAT [AS] 'auto'                                          (CSV, JSON, AVRO)
                 | GZIP | BZIP2                                                    (CSV, JSON)
                 | SERIALIZETOJSON                                                 (PARQUET)
                 | COMPUPDATE [ON|OFF|TRUE|FALSE|PRESET] | STATUPDATE [ON|OFF|TRUE|FALSE]
                 | ENCODING [AS] UTF8
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .sqlscan import Token, identifier_part, take_qualified_name, tokenize

_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}$")

# Parameters Redshift accepts with columnar formats. Anything else is refused with
# its message (REGION and COMPUPDATE included), as Redshift does.
_COLUMNAR_ALLOWED = {
    "IAM_ROLE",
    "ACCESS_KEY_ID",
    "SECRET_ACCESS_KEY",
    "SESSION_TOKEN",
    "CREDENTIALS",
    "FORMAT",
    "MANIFEST",
    "STATUPDATE",
    "SERIALIZETOJSON",
}
_COLUMNAR_MESSAGE = (
    "COPY from this file format only accepts IAM_ROLE, CREDENTIALS, STATUPDATE, MANIFEST, "
    "ACCEPTINVCHARS, EXPLICIT_IDS and SERIALIZETOJSON parameters."
)
_CSV_ONLY = {"IGNOREHEADER", "DELIMITER", "NULL", "QUOTE"}
_COMPRESSED_OK = {"csv", "json"}

# Options Redshift has and this stand-in does not implement: each changes what is
# loaded, so ignoring it would make a test pass that Redshift would not.
_NOT_IMPLEMENTED = {
    "ACCEPTANYDATE",
    "ACCEPTINVCHARS",
    "ESCAPE",
    "EXPLICIT_IDS",
    "FILLRECORD",
    "FIXEDWIDTH",
    "IGNOREBLANKLINES",
    "LZOP",
    "MAXERROR",
    "NOLOAD",
    "REMOVEQUOTES",
    "ROUNDEC",
    "TRIMBLANKS",
    "TRUNCATECOLUMNS",
    "ZSTD",
    "SHAPEFILE",
    "ORC",
    "SIMPLIFY",
    "READRATIO",
    "ADDQUOTES",
    "JSONPATHS",
    "ESCAPEQUOTES",
    "CLEANPATH",
}


class CopyError(Exception):
    """A COPY refused before any data is read; sqlstate and message go to the client."""

    def __init__(self, message: str, sqlstate: str = "XX000", detail: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.sqlstate = sqlstate
        self.detail = detail


@dataclass
class Credentials:
    kind: str  # iam_role | keys
    access_key_id: str = ""
    secret_access_key: str = ""
    session_token: str | None = None
    role: str = ""


@dataclass
class CopySpec:
    table: list[str]
    columns: list[str] | None
    source: str
    fmt: str  # csv | json | avro | parquet
    credentials: Credentials
    ignorecase: bool = False
    region: str | None = None
    manifest: bool = False
    ignoreheader: int = 0
    delimiter: str = ","
    quote: str = '"'
    null_as: str = "\\N"
    emptyasnull: bool = False
    blanksasnull: bool = False
    compression: str | None = None
    serializetojson: bool = False

    @property
    def bucket_and_key(self) -> tuple[str, str]:
        return split_s3_uri(self.source)


def split_s3_uri(uri: str) -> tuple[str, str]:
    if not uri.startswith("s3://"):
        raise CopyError(f"Invalid S3 URI: '{uri}'", "22023")
    bucket, _, key = uri[5:].partition("/")
    if not bucket:
        raise CopyError(f"Invalid S3 URI: '{uri}'", "22023")
    return bucket, key


class _Cursor:
    """Walks the tokens of one COPY statement."""

    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.pos = 0

    def peek(self) -> Token | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def next(self) -> Token:
        token = self.peek()
        if token is None:
            raise CopyError("syntax error at end of input", "42601")
        self.pos += 1
        return token

    def error(self, token: Token | None = None) -> CopyError:
        token = token or self.peek()
        if token is None:
            return CopyError("syntax error at end of input", "42601")
        return CopyError(f'syntax error at or near "{token.text}"', "42601")

    def accept_word(self, *words: str) -> bool:
        token = self.peek()
        if token is not None and token.is_word(*words):
            self.pos += 1
            return True
        return False

    def accept_op(self, op: str) -> bool:
        token = self.peek()
        if token is not None and token.kind == "op" and token.text == op:
            self.pos += 1
            return True
        return False

    def expect_word(self, word: str) -> None:
        if not self.accept_word(word):
            raise self.error()

    def expect_string(self, optional_as: bool = True) -> str:
        if optional_as:
            self.accept_word("as")
        token = self.next()
        if token.kind != "string":
            raise self.error(token)
        return token.value

    def expect_int(self) -> int:
        self.accept_word("as")
        token = self.next()
        if token.kind != "number" or not token.text.isdigit():
            raise self.error(token)
        return int(token.text)


def parse_copy(sql: str) -> CopySpec:
    """Parse and validate a Redshift COPY statement; raises CopyError."""
    cur = _Cursor(tokenize(sql))
    cur.expect_word("copy")
    try:
        table, cur.pos = take_qualified_name(cur.tokens, cur.pos)
    except ValueError:
        raise cur.error() from None
    columns = _parse_column_list(cur)
    if cur.accept_word("to"):
        raise CopyError("COPY TO is not supported by Redshift: use UNLOAD", "0A000")
    cur.expect_word("from")
    source_token = cur.next()
    if source_token.kind != "string":
        if source_token.is_word("stdin", "stdout"):
            raise CopyError("COPY FROM STDIN is not supported by Redshift: load from S3", "0A000")
        raise cur.error(source_token)
    source = source_token.value
    if not source.startswith("s3://"):
        raise CopyError(
            f"Unsupported COPY data source '{source}': the stand-in reads only s3:// (Redshift also "
            "reads DynamoDB, EMR and SSH sources)",
            "0A000",
        )
    options = _parse_options(cur)
    return _validate(table, columns, source, options)


def _parse_column_list(cur: _Cursor) -> list[str] | None:
    if not cur.accept_op("("):
        return None
    columns: list[str] = []
    while True:
        token = cur.next()
        if token.kind not in ("word", "ident"):
            raise cur.error(token)
        columns.append(identifier_part(token))
        if cur.accept_op(")"):
            return columns
        if not cur.accept_op(","):
            raise cur.error()


def _parse_options(cur: _Cursor) -> dict[str, object]:
    """Options as {NAME: value}; a repeated option is an error, as on Redshift."""
    options: dict[str, object] = {}

    def put(name: str, value: object) -> None:
        if name in options:
            raise CopyError(f'conflicting or redundant options: "{name}" given twice', "42601")
        options[name] = value

    while True:
        token = cur.peek()
        if token is None:
            return options
        if token.kind == "op" and token.text == ";":
            cur.pos += 1
            if cur.peek() is not None:
                raise cur.error()
            return options
        if token.kind != "word":
            raise cur.error(token)
        cur.pos += 1
        word = token.text.upper()
        if word == "IAM_ROLE":
            if cur.accept_word("default"):
                put("IAM_ROLE", "default")
            else:
                put("IAM_ROLE", cur.expect_string(optional_as=False))
        elif word in ("ACCESS_KEY_ID", "SECRET_ACCESS_KEY", "SESSION_TOKEN"):
            put(word, cur.expect_string(optional_as=False))
        elif word == "CREDENTIALS":
            put("CREDENTIALS", cur.expect_string())
        elif word == "FORMAT":
            cur.accept_word("as")
            fmt_token = cur.next()
            if fmt_token.kind != "word":
                raise cur.error(fmt_token)
            put("FORMAT", _format_value(cur, fmt_token.text.upper()))
        elif word in ("CSV", "JSON", "AVRO"):  # PARQUET has no short form: FORMAT AS PARQUET
            put("FORMAT", _format_value(cur, word))
        elif word in ("MANIFEST", "EMPTYASNULL", "BLANKSASNULL", "GZIP", "BZIP2", "SERIALIZETOJSON"):
            put(word, True)
        elif word in ("REGION", "DELIMITER", "QUOTE", "TIMEFORMAT", "DATEFORMAT"):
            put(word, cur.expect_string())
        elif word == "NULL":
            put("NULL", cur.expect_string())
        elif word == "IGNOREHEADER":
            put("IGNOREHEADER", cur.expect_int())
        elif word == "ENCODING":
            cur.accept_word("as")
            put("ENCODING", cur.next().text.upper())
        elif word in ("COMPUPDATE", "STATUPDATE"):
            if cur.peek() is not None and cur.peek().is_word("on", "off", "true", "false", "preset"):  # type: ignore[union-attr]
                cur.pos += 1
            put(word, True)
        elif word in _NOT_IMPLEMENTED:
            raise CopyError(
                f"COPY option {word} is not implemented by the Redshift stand-in "
                "(it changes what is loaded, so it is refused rather than ignored)",
                "0A000",
            )
        else:
            raise cur.error(token)


def _format_value(cur: _Cursor, fmt: str) -> tuple[str, str | None]:
    if fmt in ("CSV", "PARQUET"):
        return fmt.lower(), None
    if fmt in ("JSON", "AVRO"):
        token = cur.peek()
        if token is not None and token.is_word("as"):
            cur.pos += 1
        arg = cur.expect_string(optional_as=False).strip()
        return fmt.lower(), arg
    if fmt in _NOT_IMPLEMENTED or fmt in ("FIXEDWIDTH", "SHAPEFILE", "ORC"):
        raise CopyError(f"FORMAT {fmt} is not implemented by the Redshift stand-in", "0A000")
    raise CopyError(f'syntax error at or near "{fmt}"', "42601")


def _validate(table: list[str], columns: list[str] | None, source: str, options: dict[str, object]) -> CopySpec:
    split_s3_uri(source)
    credentials = _credentials(options)
    if "FORMAT" not in options:
        raise CopyError(
            "COPY without FORMAT (Redshift's pipe-delimited text format) is not implemented by the "
            "Redshift stand-in: use FORMAT AS CSV, JSON 'auto', AVRO 'auto' or PARQUET",
            "0A000",
        )
    fmt_and_arg: tuple[str, str | None] = options["FORMAT"]  # type: ignore[assignment]
    fmt, arg = fmt_and_arg
    spec = CopySpec(table=table, columns=columns, source=source, fmt=fmt, credentials=credentials)
    if fmt in ("json", "avro"):
        if arg is None or arg.lower() not in ("auto", "auto ignorecase"):
            raise CopyError(
                f"{fmt.upper()} '{arg}' is not implemented by the Redshift stand-in: use 'auto' or 'auto ignorecase'",
                "0A000",
            )
        spec.ignorecase = arg.lower() == "auto ignorecase"
    if fmt == "parquet":
        refused = set(options) - _COLUMNAR_ALLOWED
        if refused:
            raise CopyError(_COLUMNAR_MESSAGE, "0A000", detail="Refused here: " + ", ".join(sorted(refused)))
    else:
        if "SERIALIZETOJSON" in options:
            raise CopyError("SERIALIZETOJSON is only valid with columnar formats", "42601")
        if fmt != "csv":
            misplaced = sorted(set(options) & _CSV_ONLY)
            if misplaced:
                raise CopyError(f"{misplaced[0]} argument is only valid with CSV format", "42601")
        if ("GZIP" in options or "BZIP2" in options) and fmt not in _COMPRESSED_OK:
            raise CopyError(f"GZIP/BZIP2 are not valid with {fmt.upper()} files", "42601")
    _apply_text_options(spec, options)
    return spec


def _credentials(options: dict[str, object]) -> Credentials:
    given = [name for name in ("IAM_ROLE", "ACCESS_KEY_ID", "CREDENTIALS") if name in options]
    if not given:
        if "SECRET_ACCESS_KEY" in options or "SESSION_TOKEN" in options:
            raise CopyError("ACCESS_KEY_ID is required with SECRET_ACCESS_KEY", "42601")
        raise CopyError(
            "Missing credentials: specify IAM_ROLE, ACCESS_KEY_ID and SECRET_ACCESS_KEY, or CREDENTIALS", "42601"
        )
    if len(given) > 1:
        raise CopyError("Conflicting credentials: use only one of " + ", ".join(given), "42601")
    if given == ["IAM_ROLE"]:
        return Credentials("iam_role", role=_check_roles(str(options["IAM_ROLE"])))
    if given == ["ACCESS_KEY_ID"]:
        if "SECRET_ACCESS_KEY" not in options:
            raise CopyError("SECRET_ACCESS_KEY is required with ACCESS_KEY_ID", "42601")
        return Credentials(
            "keys",
            access_key_id=str(options["ACCESS_KEY_ID"]),
            secret_access_key=str(options["SECRET_ACCESS_KEY"]),
            session_token=str(options["SESSION_TOKEN"]) if "SESSION_TOKEN" in options else None,
        )
    if "SECRET_ACCESS_KEY" in options or "SESSION_TOKEN" in options:
        raise CopyError("Conflicting credentials: CREDENTIALS with SECRET_ACCESS_KEY", "42601")
    return _credentials_string(str(options["CREDENTIALS"]))


def _check_roles(value: str) -> str:
    if value == "default":
        return value
    for arn in value.split(","):
        if not _ARN.match(arn.strip()):
            raise CopyError(f"Invalid IAM role ARN '{arn.strip()}'", "22023")
    return value


def _credentials_string(text: str) -> Credentials:
    pairs: dict[str, str] = {}
    for part in text.split(";"):
        if not part.strip():
            continue
        key, sep, value = part.partition("=")
        if not sep:
            raise CopyError(f"Invalid credentials string: '{part}' is not key=value", "22023")
        pairs[key.strip().lower()] = value.strip()
    if "aws_iam_role" in pairs:
        if set(pairs) != {"aws_iam_role"}:
            raise CopyError("Invalid credentials string: aws_iam_role cannot be combined with keys", "22023")
        return Credentials("iam_role", role=_check_roles(pairs["aws_iam_role"]))
    if not pairs.get("aws_access_key_id") or not pairs.get("aws_secret_access_key"):
        raise CopyError("Invalid credentials string: aws_access_key_id and aws_secret_access_key are required", "22023")
    unknown = set(pairs) - {"aws_access_key_id", "aws_secret_access_key", "token"}
    if unknown:
        raise CopyError(f"Invalid credentials string: unknown key {sorted(unknown)[0]}", "22023")
    return Credentials(
        "keys",
        access_key_id=pairs["aws_access_key_id"],
        secret_access_key=pairs["aws_secret_access_key"],
        session_token=pairs.get("token"),
    )


def _single_char(name: str, value: str) -> str:
    # Redshift spells a tab as '\t' inside the literal.
    value = value.replace("\\t", "\t")
    if len(value) != 1:
        raise CopyError(f"{name} must be a single character", "22023")
    return value


def _apply_text_options(spec: CopySpec, options: dict[str, object]) -> None:
    spec.region = options.get("REGION")  # type: ignore[assignment]
    spec.manifest = bool(options.get("MANIFEST"))
    spec.ignoreheader = int(options.get("IGNOREHEADER", 0))  # type: ignore[call-overload]
    if "DELIMITER" in options:
        spec.delimiter = _single_char("DELIMITER", str(options["DELIMITER"]))
    if "QUOTE" in options:
        spec.quote = _single_char("QUOTE", str(options["QUOTE"]))
    if spec.quote == spec.delimiter:
        raise CopyError("QUOTE and DELIMITER must differ", "22023")
    if "NULL" in options:
        spec.null_as = str(options["NULL"])
    spec.emptyasnull = bool(options.get("EMPTYASNULL"))
    spec.blanksasnull = bool(options.get("BLANKSASNULL"))
    for name in ("TIMEFORMAT", "DATEFORMAT"):
        if name in options and str(options[name]).lower() != "auto":
            raise CopyError(
                f"{name} '{options[name]}' is not implemented by the Redshift stand-in: use 'auto'", "0A000"
            )
    if "ENCODING" in options and options["ENCODING"] not in ("UTF8", "UTF-8"):
        raise CopyError(f"ENCODING {options['ENCODING']} is not implemented by the Redshift stand-in", "0A000")
    spec.compression = "gzip" if options.get("GZIP") else "bzip2" if options.get("BZIP2") else None
    if spec.compression and options.get("GZIP") and options.get("BZIP2"):
        raise CopyError("GZIP and BZIP2 cannot be combined", "42601")
    spec.serializetojson = bool(options.get("SERIALIZETOJSON"))
