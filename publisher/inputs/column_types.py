"""The SQL types a spec's ``columnTypes`` may name, per target: a strict grammar, so that a
value can only ever be a type (never ``INT NOT NULL``, ``STRING PARTITIONED BY``, ...).

The schema refuses what no target accepts (quotes, ``;``, comments); these grammars add
each target's own type names. Complex types (Hive ARRAY/STRUCT/MAP) are not overridable.
"""

from __future__ import annotations

import re

from publisher.model.vocabulary import TargetType

_NUMERIC = r"(DECIMAL|NUMERIC)(\(\d+(,\d+)?\))?"

GRAMMARS: dict[TargetType, re.Pattern[str]] = {
    # Hive's primitive types (LanguageManual Types).
    "hive": re.compile(
        rf"TINYINT|SMALLINT|INT|INTEGER|BIGINT|FLOAT|DOUBLE|DOUBLE PRECISION|BOOLEAN|STRING|BINARY"
        rf"|DATE|TIMESTAMP|{_NUMERIC}|(VARCHAR|CHAR)\(\d+\)",
        re.IGNORECASE,
    ),
    # Redshift's data types and their aliases (Database Developer Guide, "Data types").
    "redshift": re.compile(
        rf"SMALLINT|INT2|INTEGER|INT|INT4|BIGINT|INT8|REAL|FLOAT4|FLOAT8|FLOAT|DOUBLE PRECISION"
        rf"|BOOLEAN|BOOL|TEXT|DATE|TIMESTAMP|TIMESTAMP WITHOUT TIME ZONE|TIMESTAMPTZ|TIMESTAMP WITH TIME ZONE"
        rf"|TIME|TIME WITHOUT TIME ZONE|TIMETZ|TIME WITH TIME ZONE|SUPER|GEOMETRY|GEOGRAPHY|HLLSKETCH"
        rf"|{_NUMERIC}|(CHAR|CHARACTER|NCHAR|BPCHAR)(\(\d+\))?"
        rf"|(VARCHAR|CHARACTER VARYING|NVARCHAR)(\((\d+|MAX)\))?|(VARBYTE|VARBINARY|BINARY VARYING)(\(\d+\))?",
        re.IGNORECASE,
    ),
}

EXAMPLES: dict[TargetType, str] = {
    "hive": "BIGINT, DOUBLE, STRING, DECIMAL(18,2), VARCHAR(256), TIMESTAMP, DATE",
    "redshift": "BIGINT, DOUBLE PRECISION, DECIMAL(18,2), VARCHAR(256), TIMESTAMPTZ, DATE, SUPER",
}


def is_type(target: TargetType, text: str) -> bool:
    """Whether ``text`` spells one of the target's column types (spaces in parentheses allowed)."""
    spelled = re.sub(r"\s*([(),])\s*", r"\1", " ".join(text.split()))
    return GRAMMARS[target].fullmatch(spelled) is not None
