"""Names as the target holds them: the publisher writes every name folded to lower case (its
target's name case), so the plan shows what the table will hold, refuses results whose names
collide once folded, and refuses loading into columns stored with capitals, which the folded
names do not reach. docs/redshift.md ("Names and their case") says why names are folded rather
than refused."""

from __future__ import annotations

from publisher.dialects import Dialect
from publisher.inputs.spec import Spec
from publisher.model.errors import InvalidInput
from publisher.model.target import RedshiftTable, TableState
from publisher.results import Results

SHOWN = 5
"""Renamed columns a note lists by name; the rest are counted."""


def renamed_note(dialect: Dialect, results: Results, keeps_case: bool | None) -> str | None:
    """The plan's note on result columns whose names the table holds in lower case."""
    renamed = [(c.name, dialect.fold(c.name)) for c in results.columns if c.name != dialect.fold(c.name)]
    if not renamed:
        return None
    shown = ", ".join(f"{name} as {folded}" for name, folded in renamed[:SHOWN])
    more = f" and {len(renamed) - SHOWN} more" if len(renamed) > SHOWN else ""
    why = "the publisher writes names in lower case"
    if dialect.case_setting and keeps_case is not None:
        why += f" (this connection has {dialect.case_setting} {'on' if keeps_case else 'off'})"
    return f"the table holds the columns {shown}{more}: {why}"


def refuse_cased_columns(dialect: Dialect, spec: Spec, table: TableState, keeps_case: bool | None) -> None:
    """An existing table whose columns are stored with capitals (made with the case setting on):
    the folded names the publisher writes would not find them at apply."""
    cased = table.of(RedshiftTable).cased_columns
    if not cased:
        return
    unreachable = ""
    if dialect.case_setting and keeps_case is False:
        unreachable = f", and with {dialect.case_setting} off no session can name them"
    raise InvalidInput(
        f"{spec.action}: table {spec.relation} has column(s) {', '.join(cased)} stored with capitals; the "
        f"publisher writes names in lower case{unreachable}: rename them in lower case (ALTER TABLE ... RENAME "
        "COLUMN), or dropAndLoad recreates the table from the results",
        spec.location,
    )


def refuse_cased_table(dialect: Dialect, spec: Spec, table: TableState, keeps_case: bool | None) -> None:
    """A table whose name is stored with capitals: the publisher's lower-case name of it would
    find no table at apply (or, with the case setting on, another one)."""
    stored = table.of(RedshiftTable).cased_name
    if stored is None:
        return
    unreachable = ""
    if dialect.case_setting and keeps_case is False:
        unreachable = f", and with {dialect.case_setting} off no session can name it"
    raise InvalidInput(
        f"{spec.action}: table {spec.relation} is stored with capitals, as {dialect.quote(stored)}; the publisher "
        f"writes names in lower case{unreachable}: rename it in lower case (ALTER TABLE ... RENAME TO), or "
        "publish into another table",
        spec.location,
    )
