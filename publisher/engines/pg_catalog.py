"""pg_catalog queries valid on both PostgreSQL and Redshift (which keeps PostgreSQL 8.0's catalog):
a schema's tables, their columns, views bound to them, owners and grants, column facts and
constraints. Each engine adds its own (Redshift's svv_* and layout; PostgreSQL's indexes).
Tables are plain ('r') or, on PostgreSQL only, declaratively partitioned ('p')."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from publisher.model.target import KeyConstraint

# pg_catalog tables and format_type() exist on Redshift; sqlalchemy-redshift's reflection
# queries Redshift-only columns instead, and information_schema hides other users' tables.
COLUMNS_SQL = """
SELECT a.attname, format_type(a.atttypid, a.atttypmod)
FROM pg_catalog.pg_attribute a
JOIN pg_catalog.pg_class c ON a.attrelid = c.oid
JOIN pg_catalog.pg_namespace n ON c.relnamespace = n.oid
WHERE n.nspname = %s AND c.relname = %s AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum
"""

SCHEMA_COLUMNS_SQL = """
SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod)
FROM pg_catalog.pg_attribute a
JOIN pg_catalog.pg_class c ON a.attrelid = c.oid
JOIN pg_catalog.pg_namespace n ON c.relnamespace = n.oid
WHERE n.nspname = %s AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY c.relname, a.attnum
"""

# Views bound to each table of a schema: a view's rewrite rule depends on the tables it reads
# (pg_depend -> pg_rewrite). Late-binding views (WITH NO SCHEMA BINDING) record no such
# dependency: they survive a DROP and read whatever table has the name afterwards.
DEPENDENT_VIEWS_SQL = """
SELECT DISTINCT c.relname, vn.nspname, v.relname
FROM pg_catalog.pg_depend d
JOIN pg_catalog.pg_rewrite r ON d.objid = r.oid
JOIN pg_catalog.pg_class v ON r.ev_class = v.oid
JOIN pg_catalog.pg_namespace vn ON v.relnamespace = vn.oid
JOIN pg_catalog.pg_class c ON d.refobjid = c.oid
JOIN pg_catalog.pg_namespace n ON c.relnamespace = n.oid
WHERE n.nspname = %s AND c.relkind IN ('r', 'p') AND v.oid <> c.oid
ORDER BY 1, 2, 3
"""

# Each table's owner and grants (relacl as text: `alice=r/owner,group analysts=rw/owner`,
# which Redshift and PostgreSQL both write), and the names of groups (PostgreSQL writes a
# group's name without Redshift's `group ` prefix). Grants to Redshift roles (CREATE ROLE)
# are not in relacl: svv_relation_privileges has them, which the stand-in cannot serve.
OWNERS_GRANTS_SQL = """
SELECT c.relname, pg_get_userbyid(c.relowner), array_to_string(c.relacl, ',')
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON c.relnamespace = n.oid
WHERE n.nspname = %s AND c.relkind IN ('r', 'p')
"""

# What each column carries beyond its type: NOT NULL, the default's text (pg_get_expr, as
# pg_dump reads it; an identity column's is "identity"(table oid, column, 'seed,step')), the
# comment (pg_description by the column's number; 0 is the table's own).
COLUMN_FACTS_SQL = """
SELECT c.relname, a.attnum, a.attname, a.attnotnull, pg_catalog.pg_get_expr(d.adbin, d.adrelid), ds.description
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON c.relnamespace = n.oid
JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
LEFT JOIN pg_catalog.pg_description ds ON ds.objoid = c.oid AND ds.classoid = 'pg_catalog.pg_class'::regclass
  AND ds.objsubid = a.attnum
WHERE n.nspname = %s AND c.relkind IN ('r', 'p')
UNION ALL
SELECT c.relname, 0, NULL, false, NULL, ds.description
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON c.relnamespace = n.oid
JOIN pg_catalog.pg_description ds ON ds.objoid = c.oid AND ds.classoid = 'pg_catalog.pg_class'::regclass
  AND ds.objsubid = 0
WHERE n.nspname = %s AND c.relkind IN ('r', 'p')
ORDER BY 1, 2
"""

# PRIMARY KEY, UNIQUE and FOREIGN KEY constraints of each table, one row per column
# (conkey's order kept as text: Redshift has no array_position).
CONSTRAINTS_SQL = """
SELECT c.relname, t.conname, t.contype, array_to_string(t.conkey, ','), a.attnum, a.attname,
       rn.nspname, r.relname
FROM pg_catalog.pg_constraint t
JOIN pg_catalog.pg_class c ON t.conrelid = c.oid
JOIN pg_catalog.pg_namespace n ON c.relnamespace = n.oid
JOIN pg_catalog.pg_attribute a ON a.attrelid = t.conrelid AND a.attnum = ANY (t.conkey)
LEFT JOIN pg_catalog.pg_class r ON t.confrelid = r.oid
LEFT JOIN pg_catalog.pg_namespace rn ON r.relnamespace = rn.oid
WHERE n.nspname = %s AND c.relkind IN ('r', 'p') AND t.contype IN ('p', 'u', 'f')
ORDER BY 1, 2, 5
"""

# FOREIGN KEYs of other tables (any schema) that refer to each table of the schema: they
# block its DROP, as bound views do.
REFERENCED_BY_SQL = """
SELECT c.relname, fn.nspname, f.relname, t.conname
FROM pg_catalog.pg_constraint t
JOIN pg_catalog.pg_class c ON t.confrelid = c.oid
JOIN pg_catalog.pg_namespace n ON c.relnamespace = n.oid
JOIN pg_catalog.pg_class f ON t.conrelid = f.oid
JOIN pg_catalog.pg_namespace fn ON f.relnamespace = fn.oid
WHERE n.nspname = %s AND t.contype = 'f' AND t.conrelid <> t.confrelid
ORDER BY 1, 2, 3, 4
"""

SCHEMA_SQL = "SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = %s"


def keys_and_foreign_keys(
    rows: Iterable[tuple[Any, ...]], name: Callable[[str], str]
) -> tuple[dict[str, list[KeyConstraint]], dict[str, list[str]]]:
    """From CONSTRAINTS_SQL's rows: PRIMARY KEY and UNIQUE constraints by table, and FOREIGN KEYs
    described ("fk (a) -> schema.table"), by table; ``name``: a catalog name as the engine's
    target compares it (Redshift lower-cases, PostgreSQL keeps it)."""
    found: dict[tuple[str, str], tuple[str, list[int], dict[int, str], str]] = {}
    for table, constraint, kind, conkey, attnum, column, ref_schema, ref_table in rows:
        order = [int(n) for n in str(conkey).strip("{}").split(",") if n.strip()]
        target = f"{ref_schema}.{ref_table}" if ref_table is not None else ""
        entry = found.setdefault((name(str(table)), str(constraint)), (str(kind), order, {}, target))
        entry[2][int(attnum)] = name(str(column))
    keys: dict[str, list[KeyConstraint]] = {}
    fks: dict[str, list[str]] = {}
    for (table, constraint), (kind, order, names, target) in found.items():
        cols = tuple(names[n] for n in order if n in names)
        if kind == "f":
            fks.setdefault(table, []).append(f"{constraint} ({', '.join(cols)}) -> {target}")
        else:
            keys.setdefault(table, []).append(
                KeyConstraint("PRIMARY KEY" if kind == "p" else "UNIQUE", cols, constraint)
            )
    return keys, fks


def referenced_by(rows: Iterable[tuple[Any, ...]], name: Callable[[str], str]) -> dict[str, list[str]]:
    """From REFERENCED_BY_SQL's rows: by table, the FOREIGN KEYs of other tables that refer to it
    ("schema.table (constraint)")."""
    found: dict[str, list[str]] = {}
    for table, other_schema, other, constraint in rows:
        found.setdefault(name(str(table)), []).append(f"{other_schema}.{other} ({constraint})")
    return found
