"""Amazon Redshift through redshift-connector; catalog queries valid on Redshift and PostgreSQL."""

from __future__ import annotations

import re
import time
from dataclasses import replace
from ssl import SSLCertVerificationError, SSLSocket
from typing import Any

from publisher.engines.redshift_grants import parse_grants, role_grants
from publisher.model import vocabulary
from publisher.model.errors import PublishFailed, TransactionConflict
from publisher.model.layout import DistStyle, Layout
from publisher.model.location import Location
from publisher.model.relation import Relation
from publisher.model.target import ColumnFacts, ColumnState, KeyConstraint, RedshiftTable, TableFacts, TableState

# pg_catalog tables and format_type() exist on Redshift; sqlalchemy-redshift's reflection
# queries Redshift-only columns instead, and information_schema hides other users' tables.
COLUMNS_SQL = """
SELECT a.attname, format_type(a.atttypid, a.atttypmod)
FROM pg_catalog.pg_attribute a
JOIN pg_catalog.pg_class c ON a.attrelid = c.oid
JOIN pg_catalog.pg_namespace n ON c.relnamespace = n.oid
WHERE n.nspname = %s AND c.relname = %s AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum
"""
SCHEMA_COLUMNS_SQL = """
SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod)
FROM pg_catalog.pg_attribute a
JOIN pg_catalog.pg_class c ON a.attrelid = c.oid
JOIN pg_catalog.pg_namespace n ON c.relnamespace = n.oid
WHERE n.nspname = %s AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped
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
WHERE n.nspname = %s AND c.relkind = 'r' AND v.oid <> c.oid
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
WHERE n.nspname = %s AND c.relkind = 'r'
"""
GROUPS_SQL = "SELECT groname FROM pg_catalog.pg_group"
# Grants to Redshift roles are not in relacl: svv_relation_privileges lists them (AWS,
# "SVV_RELATION_PRIVILEGES"; identity_type 'role'). A regular user sees there only the identities
# it has access to (its own roles); superusers, and users with SYSLOG ACCESS UNRESTRICTED, see all.
# svv_roles names every role (AWS, "SVV_ROLES": visible to all users).
ROLES_SQL = "SELECT role_name FROM svv_roles"
ROLE_GRANTS_SQL = """
SELECT relation_name, identity_name, privilege_type FROM svv_relation_privileges
WHERE namespace_name = %s AND identity_type = 'role'
"""
# Late-binding views (WITH NO SCHEMA BINDING) have no pg_depend rows: the views whose SQL names
# a table of the schema are found in their definitions, which keep the clause (the way Redshift
# users list them). Their queries name every table schema-qualified (AWS, "CREATE VIEW").
LATE_BINDING_VIEWS_SQL = """
SELECT schemaname, viewname, definition FROM pg_catalog.pg_views
WHERE definition ILIKE %s AND definition ILIKE %s
"""
SUPERUSER_SQL = "SELECT usesuper FROM pg_catalog.pg_user WHERE usename = current_user"
# Each table's distribution style and its distribution and compound sort key columns:
# pg_class_info.reldiststyle (0 EVEN, 1 KEY, 8 ALL; AUTO otherwise), pg_attribute_info's
# attisdistkey and attsortkeyord (negative: interleaved, which the publisher does not keep).
# Redshift's views in pg_catalog; the stand-in serves views of the same names.
LAYOUT_SQL = """
SELECT c.relname, c.reldiststyle, a.attname, a.attisdistkey, a.attsortkeyord
FROM pg_class_info c
JOIN pg_catalog.pg_namespace n ON c.relnamespace = n.oid
LEFT JOIN pg_attribute_info a ON a.attrelid = c.reloid AND a.attnum > 0 AND NOT a.attisdropped
  AND (a.attisdistkey OR a.attsortkeyord > 0)
WHERE n.nspname = %s AND c.relkind = 'r'
ORDER BY c.relname, a.attsortkeyord
"""
DIST_STYLES: dict[int, DistStyle] = {0: "EVEN", 1: "KEY", 8: "ALL"}
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
WHERE n.nspname = %s AND c.relkind = 'r'
UNION ALL
SELECT c.relname, 0, NULL, false, NULL, ds.description
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON c.relnamespace = n.oid
JOIN pg_catalog.pg_description ds ON ds.objoid = c.oid AND ds.classoid = 'pg_catalog.pg_class'::regclass
  AND ds.objsubid = 0
WHERE n.nspname = %s AND c.relkind = 'r'
ORDER BY 1, 2
"""
# Column encodings: attencodingtype is Redshift's (pg_attribute has it there, not in
# PostgreSQL); pg_attribute_info carries it on both, and format_encoding() names it ('none' is RAW).
ENCODINGS_SQL = """
SELECT c.relname, a.attname, pg_catalog.format_encoding(a.attencodingtype::integer)
FROM pg_attribute_info a
JOIN pg_catalog.pg_class c ON a.attrelid = c.oid
JOIN pg_catalog.pg_namespace n ON c.relnamespace = n.oid
WHERE n.nspname = %s AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped
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
WHERE n.nspname = %s AND c.relkind = 'r' AND t.contype IN ('p', 'u', 'f')
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
IDENTITY_DEFAULT = re.compile(r"""^"?identity"?\(.*'(\d+)\s*,\s*(\d+)'""", re.IGNORECASE | re.DOTALL)
TABLES_SQL = """
SELECT c.relname FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON c.relnamespace = n.oid
WHERE n.nspname = %s AND c.relkind IN ('r', 'v')
"""
SCHEMA_SQL = "SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = %s"
# The cluster's slices, for the plan's advice on the results' file count: STV_SLICES has a row
# per slice and is "visible to all users" (provisioned clusters only: Serverless has no STV
# tables). Its page adds "regular users can see only their own data", which AWS's "Visibility of
# data in system tables and views" explains as hiding rows generated by another user: a slice is
# no user's row. AWS documents no other SQL source of the count (the API's DescribeClusters gives
# nodes, not slices, and needs IAM rights of its own). So no rows, or a refusal, leave the count
# unknown rather than wrong.
SLICES_SQL = "SELECT COUNT(*) FROM stv_slices"
# Whether quoted names keep their case in this session: off (Redshift's default) folds them to lower
# case as unquoted ones; on (set for the session, the user, or the cluster's parameter group)
# keeps them (AWS, "enable_case_sensitive_identifier"). SHOW answers the session's value.
CASE_SQL = "SHOW enable_case_sensitive_identifier"
TRUE_WORDS = frozenset({"on", "true", "1", "yes", "t", "y"})
# What Redshift keeps of a failed COPY (stl_load_errors is not transactional: read after ROLLBACK).
LOAD_ERRORS_SQL = """
SELECT TRIM(filename), line_number, TRIM(colname), TRIM(raw_field_value), TRIM(err_reason)
FROM stl_load_errors WHERE query = pg_last_copy_id() ORDER BY line_number LIMIT 5
"""


CREATE_ATTEMPTS = 3
IF_NOT_EXISTS = re.compile(r"^\s*CREATE\s+(TABLE|SCHEMA)\s+IF\s+NOT\s+EXISTS\b", re.IGNORECASE)
# What a CREATE ... IF NOT EXISTS gets when a concurrent session creates the same object
# first: a unique violation in the catalog (23505), the object, or the table's row type,
# already existing (42P06, 42P07, 42710), or Redshift's serializable isolation violation
# (error 1023, class XX000).
RACE_CODES = frozenset({"23505", "42P06", "42P07", "42710"})

SSL_MODES = vocabulary.SSL_MODES
"""What redshift_connector acts on: verify the server's certificate chain (and its name)."""


class RedshiftTarget:
    """One session; autocommit on, so the plan's own BEGIN/COMMIT steps delimit transactions."""

    shared = True

    def __init__(
        self,
        *,
        host: str,
        port: int,
        database: str,
        user: str,
        password: str,
        ssl: bool = True,
        sslmode: str = "verify-full",
    ) -> None:
        import redshift_connector

        self.user = user
        where = f"Redshift at {host}:{port} (database {database}, user {user})"
        if ssl and sslmode not in SSL_MODES:
            # redshift_connector ignores a mode it does not know, and then talks in clear text.
            raise PublishFailed(f"{where}: sslmode {sslmode!r} is not one of {', '.join(SSL_MODES)}")
        try:
            self.connection = redshift_connector.connect(
                host=host, port=port, database=database, user=user, password=password, ssl=ssl, sslmode=sslmode
            )
        except Exception as exc:
            # One line, the server's message only (the driver's error is a dict of fields);
            # the password is never part of it.
            raise PublishFailed(f"cannot connect to {where}: {_message(exc)}{_tls_hint(exc)}") from None
        if ssl and not isinstance(getattr(self.connection, "_usock", None), SSLSocket):
            self.connection.close()
            raise PublishFailed(f"{where}: TLS was asked for (ssl: true) but the connection is not encrypted")
        self.connection.autocommit = True

    def _cursor(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
        for attempt in range(1, CREATE_ATTEMPTS + 1):
            cursor = self.connection.cursor()
            try:
                cursor.execute(sql, params or None)
                return cursor
            except Exception as exc:
                if attempt < CREATE_ATTEMPTS and _lost_create_race(sql, exc):
                    # CREATE ... IF NOT EXISTS racing a concurrent session that created the
                    # same object (two first applies): it exists now, which is what was asked.
                    time.sleep(0.05 * attempt)
                    continue
                if _serializable_violation(exc):
                    raise TransactionConflict(_message(exc)) from None
                if sql.lstrip().upper().startswith("COPY"):
                    raise RuntimeError(f"{_message(exc)}{self._load_errors()}") from None
                raise RuntimeError(_message(exc)) from None
        raise AssertionError("unreachable")

    def _load_errors(self) -> str:
        """The rows of stl_load_errors for the failed COPY, as one line."""
        try:
            self.connection.rollback()
            cursor = self.connection.cursor()
            cursor.execute("ROLLBACK")
            cursor.execute(LOAD_ERRORS_SQL)
            rows = cursor.fetchall()
        except Exception:
            return ""
        details = [
            f"{file} line {line}, column {col}, value {value!r}: {reason}" for file, line, col, value, reason in rows
        ]
        return (" | load errors: " + "; ".join(details)) if details else ""

    def execute(self, sql: str) -> int | None:
        count = self._cursor(sql).rowcount  # -1 where the statement changes no rows (DDL)
        return count if count >= 0 else None

    def fetch(self, sql: str) -> list[tuple[Any, ...]]:
        return [tuple(r) for r in self._cursor(sql).fetchall()]

    def namespace_exists(self, relation: Relation) -> bool:
        return bool(self._cursor(SCHEMA_SQL, (relation.schema or "public",)).fetchall())

    def table_state(self, relation: Relation, *, exists: bool = False) -> TableState | None:
        rows = self._cursor(COLUMNS_SQL, (relation.schema or "public", relation.name)).fetchall()
        if not rows:
            return None
        return TableState(tuple(ColumnState(str(name).lower(), str(kind).lower()) for name, kind in rows), "redshift")

    def table_states(self, relation: Relation) -> dict[str, TableState] | None:
        columns: dict[str, list[ColumnState]] = {}
        cased: dict[str, list[str]] = {}
        stored: dict[str, str] = {}  # a table stored with capitals (made with the case setting on), by lower name
        rows = self._cursor(SCHEMA_COLUMNS_SQL, (relation.schema or "public",)).fetchall()
        lower_named = {str(r[0]) for r in rows if str(r[0]) == str(r[0]).lower()}
        for table, name, kind in rows:
            key = str(table).lower()
            if str(table) != key:
                if key in lower_named:
                    continue  # its lower-case twin is the table the publisher's names reach
                stored[key] = str(table)
            columns.setdefault(key, []).append(ColumnState(str(name).lower(), str(kind).lower()))
            if str(name) != str(name).lower():
                cased.setdefault(key, []).append(str(name))
        views: dict[str, list[str]] = {}
        for table, schema, view in self._cursor(DEPENDENT_VIEWS_SQL, (relation.schema or "public",)).fetchall():
            views.setdefault(str(table).lower(), []).append(f"{schema}.{view}")
        states = {
            table: TableState(
                tuple(cols),
                "redshift",
                own=RedshiftTable(
                    dependent_views=tuple(views.get(table, ())),
                    cased_columns=tuple(cased.get(table, ())),
                    cased_name=stored.get(table),
                ),
            )
            for table, cols in columns.items()
        }
        groups = frozenset(str(r[0]) for r in self._cursor(GROUPS_SQL).fetchall())
        superuser = any(r[0] for r in self._cursor(SUPERUSER_SQL).fetchall())
        schema = relation.schema or "public"
        roles, by_role, unseen = self._role_grants(schema, superuser)
        for table, owner, acl in self._cursor(OWNERS_GRANTS_SQL, (schema,)).fetchall():
            name = str(table).lower()
            if name not in states:
                continue
            grants, ungranted = parse_grants(acl, str(owner), groups, roles)
            to_roles, not_to_roles = role_grants(by_role.get(name, []))
            # Redshift folds user names to lower case, as the name the publisher logs in with.
            other = str(owner) if str(owner).lower() != self.user.lower() else None
            only = other is not None and not superuser
            states[name] = states[name].with_own(
                RedshiftTable,
                owner=other,
                owner_only=only,
                grants=grants + to_roles,
                ungranted=ungranted + not_to_roles,
                unseen_grants=unseen,
            )
        for name, readers in self._late_binding_views(schema, set(states)).items():
            states[name] = states[name].with_own(RedshiftTable, late_binding_views=readers)
        for name, layout in self._layouts(relation).items():
            if name in states:
                states[name] = states[name].with_own(RedshiftTable, layout=layout)
        for name, facts in self._facts(relation).items():
            if name in states:
                states[name] = states[name].with_own(RedshiftTable, facts=facts)
        return states

    def _role_grants(
        self, schema: str, superuser: bool
    ) -> tuple[frozenset[str], dict[str, list[tuple[str, str]]], str | None]:
        """Role names, each table's (role, privilege) rows, and what the plan says of grants to
        roles the user cannot see (None: it sees them all)."""
        try:
            roles = frozenset(str(r[0]) for r in self._cursor(ROLES_SQL).fetchall())
            rows = self._cursor(ROLE_GRANTS_SQL, (schema,)).fetchall()
        except RuntimeError as exc:
            return frozenset(), {}, f"grants to roles were not read (svv_relation_privileges: {exc}), so not kept"
        by_table: dict[str, list[tuple[str, str]]] = {}
        for table, role, privilege in rows:
            by_table.setdefault(str(table).lower(), []).append((str(role), str(privilege)))
        if superuser:
            return roles, by_table, None
        return (
            roles,
            by_table,
            f"grants to roles: svv_relation_privileges shows user {self.user} only the roles granted to it "
            "(unless it has SYSLOG ACCESS UNRESTRICTED): grants to other roles are not seen, so not kept",
        )

    def _late_binding_views(self, schema: str, tables: set[str]) -> dict[str, tuple[str, ...]]:
        """Each table's late-binding views (schema.view), from the tables their SQL names."""
        found: dict[str, list[str]] = {}
        for view_schema, view, definition in self._cursor(
            LATE_BINDING_VIEWS_SQL, ("%with no schema binding%", f"%{schema}%")
        ).fetchall():
            for table in tables_named(str(definition), schema) & tables:
                found.setdefault(table, []).append(f"{view_schema}.{view}")
        return {table: tuple(sorted(views)) for table, views in found.items()}

    def _facts(self, relation: Relation) -> dict[str, TableFacts]:
        schema = relation.schema or "public"
        comments: dict[str, str | None] = {}
        columns: dict[str, dict[str, ColumnFacts]] = {}
        for table, _, column, not_null, default, comment in self._cursor(COLUMN_FACTS_SQL, (schema, schema)).fetchall():
            name = str(table).lower()
            cols = columns.setdefault(name, {})
            if column is None:
                comments[name] = None if comment is None else str(comment)
                continue
            text = None if default is None else str(default)
            identity = IDENTITY_DEFAULT.match(text) if text else None
            cols[str(column).lower()] = ColumnFacts(
                comment=None if comment is None else str(comment),
                not_null=bool(not_null),
                default=None if identity else text,
                identity=f"{identity.group(1)},{identity.group(2)}" if identity else None,
            )
        encodings: dict[str, dict[str, str]] = {}
        for table, column, encoding in self._cursor(ENCODINGS_SQL, (schema,)).fetchall():
            if encoding is not None:
                encodings.setdefault(str(table).lower(), {})[str(column).lower()] = str(encoding).lower()
        keys, own_fks = self._constraints(schema)
        referenced: dict[str, list[str]] = {}
        for table, other_schema, other, constraint in self._cursor(REFERENCED_BY_SQL, (schema,)).fetchall():
            referenced.setdefault(str(table).lower(), []).append(f"{other_schema}.{other} ({constraint})")
        facts: dict[str, TableFacts] = {}
        for name, cols in columns.items():
            found = encodings.get(name, {})
            facts[name] = TableFacts(
                comment=comments.get(name),
                columns=tuple((c, replace(f, encoding=found.get(c))) for c, f in cols.items()),
                keys=tuple(keys.get(name, ())),
                foreign_keys=tuple(own_fks.get(name, ())),
                referenced_by=tuple(referenced.get(name, ())),
                encodings_read=bool(found),
            )
        return facts

    def _constraints(self, schema: str) -> tuple[dict[str, list[KeyConstraint]], dict[str, list[str]]]:
        """PRIMARY KEY and UNIQUE constraints by table; FOREIGN KEYs described, by table."""
        found: dict[tuple[str, str], tuple[str, list[int], dict[int, str], str]] = {}
        for table, name, kind, conkey, attnum, column, ref_schema, ref_table in self._cursor(
            CONSTRAINTS_SQL, (schema,)
        ).fetchall():
            order = [int(n) for n in str(conkey).strip("{}").split(",") if n.strip()]
            target = f"{ref_schema}.{ref_table}" if ref_table is not None else ""
            entry = found.setdefault((str(table).lower(), str(name)), (str(kind), order, {}, target))
            entry[2][int(attnum)] = str(column).lower()
        keys: dict[str, list[KeyConstraint]] = {}
        fks: dict[str, list[str]] = {}
        for (table, name), (kind, order, names, target) in found.items():
            cols = tuple(names[n] for n in order if n in names)
            if kind == "f":
                fks.setdefault(table, []).append(f"{name} ({', '.join(cols)}) -> {target}")
            else:
                keys.setdefault(table, []).append(KeyConstraint("PRIMARY KEY" if kind == "p" else "UNIQUE", cols))
        return keys, fks

    def _layouts(self, relation: Relation) -> dict[str, Layout]:
        found: dict[str, tuple[int, list[str], list[str]]] = {}
        for table, style, column, is_dist, sort_order in self._cursor(
            LAYOUT_SQL, (relation.schema or "public",)
        ).fetchall():
            _, dist, sort = found.setdefault(str(table).lower(), (int(style), [], []))
            if column is not None and is_dist:
                dist.append(str(column).lower())
            if column is not None and sort_order and int(sort_order) > 0:
                sort.append(str(column).lower())
        return {
            table: Layout(DIST_STYLES.get(style), dist[0] if dist else None, tuple(sort))
            for table, (style, dist, sort) in found.items()
        }

    def slice_count(self) -> int | None:
        from redshift_connector.error import ProgrammingError

        cursor = self.connection.cursor()
        try:
            cursor.execute(SLICES_SQL)
        except ProgrammingError:
            # The server refused it: the plan's advice assumes the fewest slices instead; a plan
            # never fails for an advisory fact. A lost connection (InterfaceError) still raises.
            return None
        row = cursor.fetchone()
        return int(row[0]) if row and row[0] else None  # no row shown to this user: unknown, not 0

    def keeps_quoted_case(self) -> bool | None:
        from redshift_connector.error import ProgrammingError

        cursor = self.connection.cursor()
        try:
            cursor.execute(CASE_SQL)
        except ProgrammingError:
            return False  # a server without the setting (older than it) folds every name
        row = cursor.fetchone()
        return row is not None and str(row[0]).strip().lower() in TRUE_WORDS

    def table_location(self, relation: Relation) -> Location | None:
        return None

    def namespace_location(self, relation: Relation) -> Location | None:
        return None  # Redshift stores tables itself: no locations

    def table_names(self, relation: Relation) -> set[str]:
        return {str(r[0]).lower() for r in self._cursor(TABLES_SQL, (relation.schema or "public",)).fetchall()}

    def substitution(self) -> str | None:
        return None  # Redshift runs SQL text as sent

    def product(self) -> str | None:
        return None  # not read: Redshift's version() names PostgreSQL 8.0.2 whatever the release

    def close(self) -> None:
        self.connection.close()


def tables_named(sql: str, schema: str) -> set[str]:
    """The names (lower case, as Redshift folds them) of the tables of ``schema`` that ``sql``
    names schema-qualified: ``schema.t``, ``"schema"."t"``, ``db.schema.t``."""
    part = r'(?:"(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)'
    found = set()
    for match in re.finditer(rf'(?<![A-Za-z0-9_$"])({part})\s*\.\s*(?=({part}))', sql):
        first, second = (_unquoted(p) for p in match.groups())
        if first == schema.lower():
            found.add(second)
    return found


def _unquoted(part: str) -> str:
    return part[1:-1].replace('""', '"').lower() if part.startswith('"') else part.lower()


def _fields(exc: BaseException) -> dict[str, Any]:
    """The server's error fields (redshift_connector raises with a dict of them), or none."""
    return exc.args[0] if exc.args and isinstance(exc.args[0], dict) else {}


def _lost_create_race(sql: str, exc: BaseException) -> bool:
    if not IF_NOT_EXISTS.match(sql):
        return False
    return _fields(exc).get("C") in RACE_CODES or _serializable_violation(exc)


def _serializable_violation(exc: BaseException) -> bool:
    """Redshift's error 1023: SQLSTATE XX000, message "1023", detail "Serializable isolation
    violation on table - <id>, transactions forming the cycle are: ..."."""
    fields = _fields(exc)
    text = f"{fields.get('M', '')} {fields.get('D', '')}".lower()
    numbered = str(fields.get("M", "")).strip() == "1023"
    return fields.get("C") == "XX000" and (numbered or "serializable isolation" in text)


def _tls_hint(exc: BaseException) -> str:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, SSLCertVerificationError) or "CERTIFICATE_VERIFY_FAILED" in str(seen):
            return (
                " (the server's certificate is not signed by a CA this machine trusts: add the CA to "
                "the system's trust store, or point SSL_CERT_FILE at it)"
            )
        seen = seen.__cause__ or seen.__context__
    return ""


def _message(exc: BaseException) -> str:
    # redshift_connector raises with a dict of the server's fields; keep the message ('M').
    arg = exc.args[0] if exc.args else exc
    if isinstance(arg, dict) and "D" in arg and str(arg.get("M", "")).strip().isdigit():
        return f"{arg['M']}: {arg['D']}"  # Redshift's numbered errors say what happened in the detail
    if isinstance(arg, dict):
        return str(arg.get("M", arg))
    if isinstance(arg, str) and len(exc.args) > 1 and isinstance(exc.args[1], BaseException):
        return f"{arg}: {exc.args[1]}"  # InterfaceError('communication error', cause)
    return " ".join(str(arg).split())
