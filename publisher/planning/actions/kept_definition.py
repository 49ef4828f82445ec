"""What dropAndLoad keeps of the old table's definition beyond its layout and grants: the
table's and columns' comments, column encodings, NOT NULL, defaults and key constraints,
each kept or not said in the plan (Redshift, where inspection reads them)."""

from __future__ import annotations

from dataclasses import dataclass

from publisher.model.layout import Layout
from publisher.model.plan import Step, sql
from publisher.model.relation import Relation
from publisher.model.target import NO_FACTS, CatalogTable, ColumnFacts, TableFacts
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
    nulls = {dialect.fold(c.name): c.null_count for c in ctx.results.columns}
    kept: list[tuple[str, ColumnFacts]] = []
    notes: list[str] = []
    comments: list[Step] = []
    lost_comments: list[str] = []
    if old.comment is not None and ctx.description() is not None:
        shown = old.comment if len(old.comment) <= 60 else old.comment[:57] + "..."
        notes.append(f"the table's comment: the spec's description replaces the old table's ({shown!r})")
    elif old.comment is not None:
        if "\\" in old.comment:
            lost_comments.append("the table's")
        else:
            comments.append(sql(dialect.comment_on_table(new, old.comment), "keep the table's comment"))
    kept_not_null, not_null_lost, kept_defaults, defaults_lost, identities = [], [], [], [], []
    encodings: dict[str, str] = {}
    chosen = False  # some encoding differs from what Redshift gives a column without ENCODE
    for col in ctx.columns:
        if col.name not in old_types:
            continue
        facts = old.column(col.name)
        same_type = old_types[col.name] == col.type
        if facts.comment is not None:
            if "\\" in facts.comment:
                lost_comments.append(col.name)
            else:
                statement = dialect.comment_on_column(new, col.name, facts.comment)
                comments.append(sql(statement, f"keep the comment on column {col.name}"))
        if facts.encoding in dialect.encoding_keywords and same_type:
            encodings[col.name] = facts.encoding
            usual = dialect.default_encoding(col.type, sort_key=col.name in layout.sort_keys)
            chosen = chosen or (usual is not None and usual != facts.encoding)
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
    gone = [c for c, f in old.columns if f.comment is not None and c not in {k for k, _ in kept}]
    if gone:
        notes.append(f"not kept: the comments on {', '.join(gone)}, columns the results do not have")
    if lost_comments:
        notes.append(
            f"not kept: the comments on {', '.join(lost_comments)} (a backslash, which Redshift reads as an escape)"
        )
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
    if chosen:
        listed = ", ".join(f"{c} {dialect.encoding_keywords[e]}" for c, e in encodings.items())
        notes.append(
            f"kept from the old table: ENCODE {listed} (columns of the same type; with column encodings "
            "the new table is not ENCODE AUTO)"
        )
    elif old.encodings_read and encodings:
        notes.append(
            "encodings: the old table's are the ones Redshift gives by type (as ENCODE AUTO does): "
            "the new table is ENCODE AUTO"
        )
        encodings = {}
    elif not old.encodings_read:
        notes.append("encodings: not read (pg_attribute_info shows a user only the tables it owns): ENCODE AUTO")
    names = {c.name for c in ctx.columns}
    keys = []
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
    columns = tuple((name, ColumnFacts(f.comment, encodings.get(name), f.not_null, f.default)) for name, f in kept)
    return Kept(TableFacts(None, columns, tuple(keys)), tuple(comments), tuple(notes))


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
