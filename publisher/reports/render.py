"""Plans as text for people: the terminal and pull-request review."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable
from typing import Any, TypeVar

from publisher.dialects import dialect_for
from publisher.model.errors import display_path
from publisher.model.plan import (
    Begin,
    CheckColumns,
    CheckKeys,
    CheckLocation,
    CheckValues,
    Commit,
    CompactLedger,
    CopyRows,
    DeleteObject,
    Guard,
    LedgerRecord,
    Plan,
    Publication,
    PutObject,
    ReleaseLock,
    RetireTable,
    RowCheck,
    SetLocation,
    SqlStep,
    Statement,
    Step,
    SwitchPartitions,
    TakeLock,
)

BASE64_LITERAL = re.compile(r"'[A-Za-z0-9+/]{40,}={0,2}'")


def _rows(n: int | None) -> str:
    return "unknown rows" if n is None else f"{n:,} rows"


def _manifest_summary(body: str, shown: int = 5) -> str:
    """The files a COPY manifest lists, by name (the plan JSON keeps the whole body)."""
    try:
        urls = [e["url"] for e in json.loads(body)["entries"]]
    except (ValueError, KeyError, TypeError):
        return "\n" + body
    names = [u.rsplit("/", 1)[-1] for u in urls[:shown]] + (
        [f"... {len(urls) - shown} more"] if len(urls) > shown else []
    )
    return f"\n  listing {len(urls)} file(s): {', '.join(names)}"


S = TypeVar("S")
Renderer = Callable[[Any], str]

RENDERERS: dict[type[Any], Renderer] = {}
"""How people see each step kind (model/plan.py's STEP_TYPES): the functions marked ``@renders``."""


def renders(kind: type[S]) -> Callable[[Callable[[S], str]], Callable[[S], str]]:
    """Register the decorated function as the text of step kind ``kind``."""

    def register(function: Callable[[S], str]) -> Callable[[S], str]:
        assert kind not in RENDERERS, f"two renderers of {kind.__name__}"
        RENDERERS[kind] = function
        return function

    return register


def step_text(step: Step) -> str:
    """A step as people read it: the statement with parameters by name, or the object operation."""
    return RENDERERS[type(step)](step)


@renders(PutObject)
def _put_text(step: PutObject) -> str:
    return f"PUT {step.uri}" + _manifest_summary(step.body)


@renders(DeleteObject)
def _delete_text(step: DeleteObject) -> str:
    if step.sha256:
        return f"DELETE {step.uri}  -- only while its bytes are those seen (sha256 {step.sha256[:12]}...)"
    return f"DELETE {step.uri}  -- only if this apply wrote it"


@renders(CheckLocation)
def _check_location_text(step: CheckLocation) -> str:
    where = "still be stored where the plan read it, at" if step.stale_plan else "be stored at"
    return f"-- {step.database}.{step.table} must {where} {step.location}"


@renders(SetLocation)
def _set_location_text(step: SetLocation) -> str:
    def quoted(text: str) -> str:  # as the Hive dialect writes a literal
        return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"

    return (
        f"ALTER TABLE `{step.database}`.`{step.table}` SET LOCATION {quoted(str(step.location))}"
        f"  -- undo: back to {quoted(str(step.previous))}; after a failure the location is read back"
    )


@renders(CheckColumns)
def _check_columns_text(step: CheckColumns) -> str:
    where = ".".join(p for p in (step.database, step.schema, step.table) if p)
    return f"-- {where} must still have the columns the plan read: {', '.join(step.columns)}"


@renders(CheckKeys)
def _check_keys_text(step: CheckKeys) -> str:
    return f"{step.counts}  -- must return 0, 0 (else a few of the keys are named: {step.examples})"


@renders(CheckValues)
def _check_values_text(step: CheckValues) -> str:
    zeros = ", ".join("0" for _ in step.columns)
    return f"{step.counts}  -- must return {zeros} (else the column, the count and an example are named)"


@renders(CopyRows)
def _copy_rows_text(step: CopyRows) -> str:
    check = f"  -- must copy {step.rows:,} rows (COPY's own count)" if step.rows is not None else ""
    files = ", ".join(f.rsplit("/", 1)[-1] for f in step.files[:5]) + (
        f", ... {len(step.files) - 5} more" if len(step.files) > 5 else ""
    )
    return (
        f"COPY {step.table} ({', '.join(step.columns)}) FROM STDIN{check}\n"
        f"  -- rows streamed by the publisher from {step.location} ({step.input_format}, "
        f"{len(step.files)} file(s): {files}), in bounded batches"
    )


@renders(ReleaseLock)
def _release_lock_text(step: ReleaseLock) -> str:
    return f"-- DROP TABLE {step.database}.{step.lock}, if this apply holds it"


@renders(TakeLock)
def _take_lock_text(step: TakeLock) -> str:
    refresh = "".join(f"\nREFRESH TABLE {name}  -- where the engine caches file lists (Spark)" for name in step.refresh)
    return (
        f"-- CREATE TABLE {step.database}.{step.lock} (...): fails while another apply holds it; then wait, "
        f"up to {step.wait_seconds}s, taking it over if its holder is gone{refresh}"
    )


def _sql_text(step: SqlStep) -> str:
    # The ledger keeps the spec as base64: long, and of no use to a reviewer.
    return BASE64_LITERAL.sub("'<the spec, base64>'", step.text)


@renders(Statement)
def _statement_text(step: Statement) -> str:
    body = _sql_text(step)
    if step.changes is not None:
        body += f"  -- must {step.text.split(None, 1)[0].lower()} {step.changes:,} rows (the engine's row count)"
    if step.reports:
        body += "  -- its row count recorded in the ledger"
    return body


@renders(RowCheck)
def _row_check_text(step: RowCheck) -> str:
    body = _sql_text(step)
    if step.capture:
        body += f"  -- remember as {step.capture}"
    if step.checks:
        body += f"  -- must return {_expected(step)}"
    return body


# A guard, a transaction's boundary and a ledger row read as their statements.
renders(Guard)(_sql_text)
renders(Begin)(_sql_text)
renders(Commit)(_sql_text)
renders(LedgerRecord)(_sql_text)


@renders(CompactLedger)
def _compaction_text(step: CompactLedger) -> str:
    """What a compaction does; its partitions are found when it runs."""
    ledger = f"{step.database}.{step.table}"
    return "\n".join(
        (
            f"-- CREATE TABLE {step.database}.{step.lock} (...): skipped while another apply holds it; then, for the",
            f"-- partitions of {ledger} (SHOW PARTITIONS, when it runs), each a UTC day rows were written:",
            "--   ALTER TABLE ... DROP PARTITION (...) of what a compaction an hour old or more holds",
            "--   INSERT INTO TABLE ... PARTITION (written = 'compacted-<last day>-<now>') SELECT DISTINCT ...",
            "--     FROM the days before yesterday and the earlier compactions, as one file;",
            "--   it must hold as many rows as it read (else it is dropped again); then the lock is dropped",
        )
    )


@renders(SwitchPartitions)
def _switch_text(step: SwitchPartitions) -> str:
    """What the switch does, step by step; its partitions are found when it runs."""
    table, twin, trash = (f"{step.database}.{n}" for n in (step.table, step.twin, step.trash))
    others = (
        f"-- every other partition of {table} is dropped (DROP PARTITION)"
        if step.drop_others
        else f"-- every other partition of {table} is kept"
    )
    rows = "" if step.rows is None else f"; then {table} must hold {step.rows:,} rows in them"
    return "\n".join(
        (
            f"-- for each partition of {twin} (SHOW PARTITIONS, when it runs):",
            f"--   ALTER TABLE {table} PARTITION (...) SET LOCATION '{step.twin_location}/<partition>',",
            f"--   its old folder first handed to {trash}; or ADD PARTITION where {table} lacks it",
            others + rows,
            f"-- then {twin} is dropped (its folders now {table}'s), and {trash} with the old folders",
        )
    )


def _expected(step: RowCheck) -> str:
    """'1,000' for a row count, with each column's non-NULL values after it; 'before + ...'."""
    plus = f"{step.plus} + " if step.plus else ""
    if step.minus:
        plus = f"{plus[:-3]} - {step.minus} + "  # before - replaced + the results' rows
    rows = f"{plus}{step.expect[0]:,}"
    if len(step.checks) == 1:
        return rows
    values = ", ".join(f"{name} {plus}{n:,}" for name, n in zip(step.checks[1:], step.expect[1:], strict=True))
    return f"{rows} rows; non-NULL values: {values}"


def step_lines(step: Step, number: str) -> list[str]:
    """A step as numbered lines: its purpose as a comment, then the statement."""
    lines = [f"{number:>4} -- {step.purpose}"]
    # As textwrap.indent would (blank lines unindented), without its regular expression per line.
    lines.extend(f"        {line}" if line.strip() else line for line in step_text(step).splitlines())
    return lines


def publication_text(index: int, pub: Publication) -> str:
    # Names as the statements quote them: a name with a space or a comma reads as one name.
    quote = dialect_for(pub.target_type).quote
    table = f"{pub.database}.{pub.table}"
    lines = [
        f"[{index}] {pub.spec_file}:{pub.spec_line}  {pub.label}",
        f"    target:  {table} on {pub.connection} ({pub.target_type})",
        f"    action:  {pub.action} from {display_path(pub.source)} ({pub.input_format}, {_rows(pub.rows)})",
        f"    columns: {', '.join(f'{quote(n)} {t}' for n, t in pub.columns)}",
    ]
    if pub.description:
        # One line whatever it holds: a newline in it would read as the plan's own next line.
        lines.insert(1, f"    description: {_visible(pub.description)}")
    if pub.status != "pending":
        lines.append(f"    status:  {pub.status}{': ' + pub.status_detail if pub.status_detail else ''}")
    lines.extend(f"    note:    {n}" for n in pub.notes)
    lines.extend(f"    warning: {w}" for w in pub.warnings)
    if pub.status == "published":
        return "\n".join(lines)
    for i, step in enumerate(pub.steps, start=1):
        lines.extend(step_lines(step, f"{i}."))
    if pub.on_failure:
        lines.append("    on failure, after undoing:")
        for step in pub.on_failure:
            lines.extend(step_lines(step, "-"))
    return "\n".join(lines)


def plan_text(plan: Plan, lineage: str = "") -> str:
    """The whole plan, one block per publication; ``lineage``: where its events go, if said."""
    header = f"Plan: {summary(plan)}"
    if plan.offline:
        header += " (planned offline: targets not inspected)"
    if engines(plan):
        header += f"\nEngines: {engines(plan)}"
    if lineage:
        header += f"\nLineage: {lineage}"
    blocks = [header] + [publication_text(i, p) for i, p in enumerate(plan.publications, start=1)]
    return "\n\n".join(blocks) + "\n"


STATUS_WORDS = {
    "pending": "to publish",
    "published": "already published",
    "changed": "changed since published",
    "unfinished": "published, to finish",
    "retire": "tables to retire",
}


@renders(RetireTable)
def _retire_text(step: RetireTable) -> str:
    """A retirement as its statements, the skip and the failure said in comments."""
    lines = [step_text(s) for s in step.begin]
    lines.append(f"{step_text(step.retired)}  -- not 0: already retired, skipped")
    lines += [step_text(s) for s in (*step.retire, *step.end)]
    undone = "rolled back, " if step.begin else ""
    lines.append(f"-- a failure here is a warning: {undone}the publication stands, the next plan retires it")
    return "\n".join(lines)


def summary(plan: Plan, errors: int = 0) -> str:
    """'3 to publish, 12 already published, 0 errors' (changed ones counted apart)."""
    counts = {s: sum(1 for p in plan.publications if p.status == s) for s in STATUS_WORDS}
    parts = [f"{counts['pending']} to publish", f"{counts['published']} already published"]
    if counts["changed"]:
        parts.append(f"{counts['changed']} changed since published")
    if counts["unfinished"]:
        parts.append(f"{counts['unfinished']} published with steps to finish")
    if counts["retire"]:
        parts.append(f"{counts['retire']} with tables to retire")
    parts.append(f"{errors} errors")
    return ", ".join(parts)


def engines(plan: Plan) -> str:
    """Each connection's engine as the live plan read it: 'hive: Apache Hive 4.0.1'; '' offline."""
    found = dict.fromkeys((p.connection, p.engine) for p in plan.publications if p.engine)
    return ", ".join(f"{connection}: {engine}" for connection, engine in found)


def plan_markdown(plan: Plan, lineage: str = "") -> str:
    """The plan as a pull-request comment: a summary line, a table, statements folded."""
    lines = [f"### publisher plan: {summary(plan)}", ""]
    if plan.offline:
        lines += ["_Planned offline: the targets and their ledgers were not inspected._", ""]
    if engines(plan):
        lines += [f"Engines: {md_text(engines(plan))}", ""]
    if lineage:
        lines += [f"Lineage: {md_text(lineage)}", ""]
    if not plan.publications:
        return "\n".join(lines) + "\n"
    lines += ["| | spec | publication | target | action | rows | status |", "|---|---|---|---|---|---|---|"]
    for i, p in enumerate(plan.publications, start=1):
        rows = "?" if p.rows is None else f"{p.rows:,}"
        target = f"{md_code(f'{p.database}.{p.table}')} on {md_text(p.connection)}"
        status = STATUS_WORDS.get(p.status, p.status)
        lines.append(f"| {i} | {md_code(p.spec_file)} | {p.label} | {target} | {p.action} | {rows} | {status} |")
    for i, p in enumerate(plan.publications, start=1):
        if p.status in ("pending", "unfinished"):
            # Warnings stay outside the folded statements, where a reviewer sees them.
            if p.warnings:
                lines += ["", *(f"> **warning** ({i}): {md_text(w)}" for w in p.warnings)]
            body = "\n".join(line[4:] for line in publication_text(i, p).splitlines()[1:])
            summary_line = f"{i}. {p.action} into <code>{html.escape(f'{p.database}.{p.table}')}</code>"
            fence = "`" * max(3, _longest_run(body, "`") + 1)
            lines += ["", f"<details><summary>{summary_line}</summary>", ""]
            lines += [f"{fence}sql", body, fence, "", "</details>"]
        elif p.status_detail:
            lines += ["", f"{i}. {STATUS_WORDS.get(p.status, p.status)}: {md_text(p.status_detail)}"]
    return "\n".join(lines) + "\n"


def _longest_run(text: str, char: str) -> int:
    runs = re.findall(f"{re.escape(char)}+", text)
    return max((len(r) for r in runs), default=0)


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _visible(text: str) -> str:
    """Control characters as escapes (a newline would end a table row or a code span)."""
    return _CONTROL.sub(lambda m: repr(m.group())[1:-1], text)


def md_code(text: str) -> str:
    """``text`` as an inline code span that no backtick, pipe or newline in it can break."""
    text = _visible(text).replace("|", "\\|")
    ticks = "`" * (_longest_run(text, "`") + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"


_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~])")


def md_text(text: str) -> str:
    """``text`` as literal markdown text: no link, image, HTML, heading or table cell it makes."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", _visible(text))


def errors_markdown(errors: list[str]) -> str:
    """A failed plan as a pull-request comment."""
    body = "\n".join(f"- {md_code(e)}" for e in errors)
    return f"### publisher plan: {len(errors)} errors\n\nNothing will be published until these are fixed:\n\n{body}\n"
