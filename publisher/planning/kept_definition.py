"""What dropAndLoad keeps of the old table's definition beyond its layout and grants: the
table's and columns' comments, column encodings, NOT NULL, defaults and key constraints,
each kept or not said in the plan. Only where the target's inspection reads them (the
catalog facts of Redshift and PostgreSQL, ``CatalogTable``); elsewhere there is nothing to keep."""

from __future__ import annotations

from dataclasses import dataclass

from publisher.dialects.base import ColumnDef
from publisher.model.layout import Layout
from publisher.model.plan import Step, sql
from publisher.model.relation import Relation
from publisher.model.target import NO_FACTS, CatalogTable, ColumnFacts, KeyConstraint, TableFacts
from publisher.planning.context import Context

NOT_READ = (
    "the replacement is built from the results' schema: the old table's comment (the spec's description, "
    "where given, is the new one's), column comments, defaults, constraints, identity columns and encodings "
    "are not carried over"
)


@dataclass(frozen=True)
class Kept:
    facts: TableFacts = NO_FACTS  # what CREATE TABLE writes: encodings, NOT NULL, defaults, keys
    comments: tuple[Step, ...] = ()  # COMMENT ON, in the swap's transaction
    notes: tuple[str, ...] = ()


Shared = tuple[tuple[ColumnDef, bool], ...]
"""The results' columns the old table has too, each with whether its type stays the same."""
Notes = tuple[str, ...]


def kept_definition(ctx: Context, new: Relation, layout: Layout) -> Kept:
    """The old table's comments, encodings, NOT NULL, defaults and key constraints, as far as
    the results' columns still have them; identity columns and foreign keys are not kept."""
    table = ctx.view.table if ctx.view else None
    if table is None:
        return Kept()
    old = table.of(CatalogTable).facts
    if old is None:
        return Kept(notes=(NOT_READ,))
    dialect = ctx.dialect
    old_types = {dialect.fold(c.name): dialect.normalize_type(c.type) for c in table.columns}
    shared = tuple((col, old_types[col.name] == col.type) for col in ctx.columns if col.name in old_types)
    comments, comment_notes = _comments(ctx, new, old, shared)
    kept, column_notes = _columns(ctx, old, shared)
    encodings, encoding_notes = _encodings(ctx, old, layout, shared)
    keys, key_notes = _keys(ctx, old)
    columns = tuple((name, ColumnFacts(f.comment, encodings.get(name), f.not_null, f.default)) for name, f in kept)
    notes = comment_notes + column_notes + encoding_notes + key_notes
    return Kept(TableFacts(None, columns, keys), comments, notes)


def _comments(ctx: Context, new: Relation, old: TableFacts, shared: Shared) -> tuple[tuple[Step, ...], Notes]:
    """COMMENT ON statements that copy the old table's and columns' comments to the new one."""
    dialect = ctx.dialect
    notes: list[str] = []
    comments: list[Step] = []
    lost: list[str] = []
    if old.comment is not None and ctx.description() is not None:
        shown = old.comment if len(old.comment) <= 60 else old.comment[:57] + "..."
        notes.append(f"the table's comment: the spec's description replaces the old table's ({shown!r})")
    elif old.comment is not None:
        if "\\" in old.comment:
            lost.append("the table's")
        else:
            comments.append(sql(dialect.comment_on_table(new, old.comment), "keep the table's comment"))
    for col, _ in shared:
        comment = old.column(col.name).comment
        if comment is None:
            continue
        if "\\" in comment:
            lost.append(col.name)
        else:
            statement = dialect.comment_on_column(new, col.name, comment)
            comments.append(sql(statement, f"keep the comment on column {col.name}"))
    names = {col.name for col, _ in shared}
    gone = [c for c, f in old.columns if f.comment is not None and c not in names]
    if gone:
        notes.append(f"not kept: the comments on {', '.join(gone)}, columns the results do not have")
    if lost:
        notes.append(f"not kept: the comments on {', '.join(lost)} (a backslash, which Redshift reads as an escape)")
    return tuple(comments), tuple(notes)


def _columns(ctx: Context, old: TableFacts, shared: Shared) -> tuple[tuple[tuple[str, ColumnFacts], ...], Notes]:
    """NOT NULL where the results hold no NULLs, and plain defaults of columns whose type stays;
    identity columns are not kept (the results give every row's value)."""
    dialect = ctx.dialect
    nulls = {dialect.fold(c.name): c.null_count for c in ctx.results.columns}
    kept: list[tuple[str, ColumnFacts]] = []
    kept_not_null, not_null_lost, kept_defaults, defaults_lost, identities = [], [], [], [], []
    for col, same_type in shared:
        facts = old.column(col.name)
        not_null = False
        if facts.not_null:
            count = nulls.get(col.name)
            if count == 0:
                not_null = True
                kept_not_null.append(col.name)
            else:
                why = "the results' NULLs are not counted" if count is None else f"the results hold {count:,} NULLs"
                not_null_lost.append(f"{col.name} ({why})")
        default = None
        if facts.default is not None:
            if same_type and dialect.plain_default(facts.default):
                default = facts.default
                kept_defaults.append(f"{col.name} DEFAULT {facts.default}")
            else:
                why = "its type changes" if not same_type else "an expression the publisher does not copy"
                defaults_lost.append(f"{col.name} DEFAULT {facts.default} ({why})")
        if facts.identity is not None:
            seed, _, step = facts.identity.partition(",")
            identities.append(f"{col.name} IDENTITY({seed}, {step})")
        kept.append((col.name, ColumnFacts(not_null=not_null, default=default)))
    notes = []
    if kept_not_null:
        notes.append(f"kept from the old table: NOT NULL on {', '.join(kept_not_null)} (the results hold no NULLs)")
    if not_null_lost:
        notes.append(
            f"not kept: NOT NULL on {'; '.join(not_null_lost)}: the new column takes NULLs (a NOT NULL "
            "column would fail the load)"
        )
    if kept_defaults:
        notes.append(f"kept from the old table: {'; '.join(kept_defaults)}")
    if defaults_lost:
        notes.append(f"not kept: {'; '.join(defaults_lost)}")
    if identities:
        notes.append(
            f"not kept: {'; '.join(identities)}: the results give every row's value, which COPY loads into an "
            "identity column only with EXPLICIT_IDS; the new column is plain, and rows others insert later get "
            "no generated value"
        )
    return tuple(kept), tuple(notes)


def _encodings(ctx: Context, old: TableFacts, layout: Layout, shared: Shared) -> tuple[dict[str, str], Notes]:
    """The old columns' encodings, for columns whose type stays: kept only where one differs
    from what the target gives by type (else the new table is ENCODE AUTO)."""
    dialect = ctx.dialect
    encodings: dict[str, str] = {}
    chosen = False  # some encoding differs from what Redshift gives a column without ENCODE
    for col, same_type in shared:
        encoding = old.column(col.name).encoding
        if encoding in dialect.encoding_keywords and same_type:
            encodings[col.name] = encoding
            usual = dialect.default_encoding(col.type, sort_key=col.name in layout.sort_keys)
            chosen = chosen or (usual is not None and usual != encoding)
    if chosen:
        listed = ", ".join(f"{c} {dialect.encoding_keywords[e]}" for c, e in encodings.items())
        return encodings, (
            f"kept from the old table: ENCODE {listed} (columns of the same type; with column encodings "
            "the new table is not ENCODE AUTO)",
        )
    if old.encodings_read and encodings:
        return {}, (
            "encodings: the old table's are the ones Redshift gives by type (as ENCODE AUTO does): "
            "the new table is ENCODE AUTO",
        )
    if not old.encodings_read:
        return encodings, ("encodings: not read (pg_attribute_info shows a user only the tables it owns): ENCODE AUTO",)
    return encodings, ()


def _keys(ctx: Context, old: TableFacts) -> tuple[tuple[KeyConstraint, ...], Notes]:
    """The old table's primary and unique keys whose columns the results still have (a primary
    key's without NULLs); foreign keys are not kept."""
    dialect = ctx.dialect
    nulls = {dialect.fold(c.name): c.null_count for c in ctx.results.columns}
    names = {c.name for c in ctx.columns}
    keys = []
    notes = []
    for key in old.keys:
        missing = [c for c in key.columns if c not in names]
        nullable = [c for c in key.columns if key.kind == "PRIMARY KEY" and nulls.get(c) != 0]
        if missing:
            notes.append(f"not kept: {key.describe()}, columns the results do not have: {', '.join(missing)}")
        elif nullable:
            notes.append(f"not kept: {key.describe()}: the results may hold NULLs in {', '.join(nullable)}")
        else:
            keys.append(key)
            enforced = (
                "enforced: rows that break it fail the load, and nothing changes"
                if dialect.keys_enforced
                else f"informational: {dialect.title} does not enforce it, and the results are not checked "
                "for duplicates"
            )
            notes.append(f"kept from the old table: {key.describe()} ({enforced})")
    if old.foreign_keys:
        notes.append(f"not kept: the old table's FOREIGN KEYs {'; '.join(old.foreign_keys)}")
    return tuple(keys), tuple(notes)


def kept_state(ctx: Context, kept: Kept) -> TableFacts | None:
    """The replacement's facts, as later publications of the same plan find it."""
    old = ctx.view.table.of(CatalogTable).facts if ctx.view and ctx.view.table else None
    if old is None:
        return None
    columns = tuple(
        (name, ColumnFacts(old.column(name).comment, f.encoding, f.not_null, f.default))
        for name, f in kept.facts.columns
    )
    return TableFacts(ctx.description() or old.comment, columns, kept.facts.keys)
