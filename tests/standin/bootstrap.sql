-- Objects of the Redshift stand-in, created by .ci/services/redshift_standin.sh in
-- database dev, as the superuser postgres, before any client connects.
--
--   pg_catalog.super                       Redshift's SUPER, as a domain over jsonb
--   pg_catalog.pg_last_copy_id()           Redshift's functions, in pg_catalog so that
--   pg_catalog.pg_last_copy_count()        they resolve whatever the search_path
--   redshift_standin.stl_load_errors       Redshift's system table and its columns, found
--                                          through the database's default search_path
--   redshift_standin.stv_slices            the cluster's slices (psql -v slices=N), found so too
--   redshift_standin.copy_log              one row per COPY that began loading
--   redshift_standin.serializable_violations  COMMITs to fail with error 1023, on demand
--   redshift_standin.raise_error()         lets the proxy raise an error inside the
--                                          client's session (aborting its transaction)
--   redshift_standin.alter_table_append()  ALTER TABLE ... APPEND FROM
--   event trigger standin_redshift_types   column types as Redshift has them
--   redshift_standin.enable_case_sensitive_identifier  the setting, off (a database default)
--
-- (PostgreSQL reserves the pg_ prefix for schemas, and refuses views in pg_catalog.)
-- The proxy writes copy_log and stl_load_errors through its own autocommit connection:
-- like Redshift's system tables they keep their rows when the client rolls back.

\set ON_ERROR_STOP on

CREATE SCHEMA redshift_standin;
GRANT USAGE ON SCHEMA redshift_standin TO PUBLIC;
ALTER DATABASE dev SET search_path = "$user", public, redshift_standin;
-- enable_case_sensitive_identifier (Redshift's default false), as a placeholder setting PostgreSQL
-- accepts; the proxy maps the Redshift name to it (tests/standin/identifier_case.py).
ALTER DATABASE dev SET redshift_standin.enable_case_sensitive_identifier = 'off';
-- ALTER USER u SET of a placeholder needs this privilege in PostgreSQL 15 (on Redshift a superuser
-- or the user's own ALTER USER sets it): tests set it for the publisher's user.
GRANT SET ON PARAMETER redshift_standin.enable_case_sensitive_identifier TO PUBLIC;

-- SUPER ------------------------------------------------------------------------------------
CREATE DOMAIN pg_catalog.super AS jsonb;

-- Users and a group for tests of grants and owners. The publisher's user may not create
-- roles (no superuser, as a CI user on a cluster would not be). Roles are cluster-wide: the
-- same for every test, each granting on its own schema's tables. standin_owner counts
-- publisher among its members only so that a test can give it a table (ALTER TABLE OWNER TO
-- needs that in PostgreSQL); Redshift users have no such membership.
CREATE USER standin_alice;  -- LOGIN: a user (pg_group lists the roles that cannot log in)
CREATE GROUP standin_readers;
CREATE USER standin_owner;
GRANT standin_owner TO publisher;

-- Redshift roles (CREATE ROLE; GRANT ... TO ROLE r) ------------------------------------------
-- PostgreSQL roles stand in for Redshift's users, groups and roles alike: a Redshift user is a
-- role that can log in, a group one that cannot (pg_group lists those), and a Redshift role one
-- recorded here, by OID (pg_group lists it too: the publisher tells it apart through svv_roles).
-- The proxy rewrites GRANT/REVOKE ... TO/FROM ROLE r into PostgreSQL's GRANT/REVOKE ... TO/FROM r;
-- such a grant is then in relacl too (on Redshift it is not: only svv_relation_privileges shows
-- it). The publisher's user may not create roles (no CREATEROLE): tests use these two.
-- standin_analysts counts publisher among its members (GRANT ROLE standin_analysts TO publisher),
-- standin_auditors does not: svv_relation_privileges shows a regular user only the roles it has.
CREATE TABLE redshift_standin.roles (
    roleid oid PRIMARY KEY,
    owner  name NOT NULL DEFAULT current_user
);
GRANT SELECT ON redshift_standin.roles TO PUBLIC;
CREATE FUNCTION redshift_standin.create_role(role_name name) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('CREATE ROLE %I NOLOGIN', role_name);
    INSERT INTO redshift_standin.roles (roleid) SELECT oid FROM pg_catalog.pg_roles WHERE rolname = role_name;
END
$$;
REVOKE EXECUTE ON FUNCTION redshift_standin.create_role(name) FROM PUBLIC;
SELECT redshift_standin.create_role('standin_analysts');
SELECT redshift_standin.create_role('standin_auditors');
GRANT standin_analysts TO publisher;

-- AWS, "SVV_ROLES": role_id integer, role_name text, role_owner text, external_id text (an
-- identity provider's id: NULL here); visible to all users.
CREATE VIEW redshift_standin.svv_roles AS
SELECT r.oid::integer AS role_id, r.rolname::text AS role_name, s.owner::text AS role_owner, NULL::text AS external_id
FROM redshift_standin.roles s JOIN pg_catalog.pg_roles r ON r.oid = s.roleid;
GRANT SELECT ON redshift_standin.svv_roles TO PUBLIC;

-- AWS, "SVV_USER_GRANTS": user_id integer, user_name text, role_id integer, role_name text,
-- admin_option boolean; users explicitly granted roles. A regular user sees only the roles
-- granted to it (superusers see all; ACCESS SYSTEM TABLE is not emulated).
CREATE VIEW redshift_standin.svv_user_grants AS
SELECT u.oid::integer AS user_id, u.rolname::text AS user_name, r.oid::integer AS role_id,
       r.rolname::text AS role_name, m.admin_option
FROM pg_catalog.pg_auth_members m
JOIN redshift_standin.roles s ON s.roleid = m.roleid
JOIN pg_catalog.pg_roles r ON r.oid = m.roleid
JOIN pg_catalog.pg_roles u ON u.oid = m.member AND u.rolcanlogin
WHERE u.rolname = current_user OR (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user);
GRANT SELECT ON redshift_standin.svv_user_grants TO PUBLIC;

-- AWS, "SVV_RELATION_PRIVILEGES": namespace_name text, relation_name text, privilege_type text
-- (INSERT, SELECT, UPDATE, DELETE, REFERENCES or DROP), identity_id integer, identity_name text,
-- identity_type text (user, role, group or public), admin_option boolean (always false for roles
-- and groups); privileges explicitly granted on tables and views. A regular user sees only the
-- identities it has access to (itself, its groups and roles, PUBLIC); superusers see all
-- (SYSLOG ACCESS UNRESTRICTED is not emulated). From relacl: PostgreSQL's TRUNCATE and TRIGGER
-- are no Redshift privileges and are left out; Redshift's DROP privilege has no PostgreSQL
-- counterpart and never shows; the owner's own privileges are not grants and are left out.
CREATE VIEW redshift_standin.svv_relation_privileges AS
SELECT n.nspname::text AS namespace_name, c.relname::text AS relation_name, a.privilege_type::text AS privilege_type,
       a.grantee::integer AS identity_id,
       CASE WHEN a.grantee = 0 THEN 'public' ELSE g.rolname END::text AS identity_name,
       CASE WHEN a.grantee = 0 THEN 'public' WHEN s.roleid IS NOT NULL THEN 'role'
            WHEN g.rolcanlogin THEN 'user' ELSE 'group' END::text AS identity_type,
       (a.is_grantable AND a.grantee <> 0 AND s.roleid IS NULL AND g.rolcanlogin) AS admin_option
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
CROSS JOIN LATERAL pg_catalog.aclexplode(c.relacl) a
LEFT JOIN pg_catalog.pg_roles g ON g.oid = a.grantee
LEFT JOIN redshift_standin.roles s ON s.roleid = a.grantee
WHERE c.relkind IN ('r', 'v') AND a.grantee <> c.relowner
  AND a.privilege_type IN ('SELECT', 'INSERT', 'UPDATE', 'DELETE', 'REFERENCES')
  AND (a.grantee = 0 OR pg_catalog.pg_has_role(a.grantee, 'MEMBER')
       OR (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user));
GRANT SELECT ON redshift_standin.svv_relation_privileges TO PUBLIC;

-- Late-binding views (CREATE VIEW ... WITH NO SCHEMA BINDING) -----------------------------------
-- PostgreSQL binds a view to the tables it reads (pg_depend), so that DROP TABLE fails and
-- RENAME takes the view along. The proxy creates a late-binding view as a view over this
-- function instead, with the view's SQL as its argument: the view depends on the function only
-- (no pg_depend row on a table), the SQL is kept (pg_get_viewdef shows it, WITH NO SCHEMA
-- BINDING included), and each query of the view runs that SQL anew, reading whatever table has
-- the name then. VOLATILE: its query takes a snapshot of its own after waiting for the table's
-- lock, so a reader that waited for a swap's COMMIT reads the new table's committed rows. It runs
-- with the querying user's privileges (Redshift checks the view owner's).
CREATE FUNCTION redshift_standin.late_binding_view(definition text) RETURNS SETOF record
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    RETURN QUERY EXECUTE regexp_replace(definition, '\s*with\s+no\s+schema\s+binding\s*;?\s*$', '', 'i');
END
$$;

-- AWS, "PG_GET_LATE_BINDING_VIEW_COLS": one row per column of each late-binding view: schema
-- name, view name, column name, data type, column number; select it alone for a record per row,
-- or FROM pg_get_late_binding_view_cols() cols(view_schema name, view_name name, col_name name,
-- col_type varchar, col_num int). Here the columns are those the view was created with.
CREATE FUNCTION pg_catalog.pg_get_late_binding_view_cols() RETURNS SETOF record
LANGUAGE sql STABLE AS $$
    SELECT n.nspname, c.relname, a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod)::varchar,
           a.attnum::integer
    FROM pg_catalog.pg_class c
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
    WHERE c.relkind = 'v' AND c.oid IN (
        SELECT r.ev_class FROM pg_catalog.pg_rewrite r
        JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_rewrite'::regclass AND d.objid = r.oid
        WHERE d.refclassid = 'pg_catalog.pg_proc'::regclass
          AND d.refobjid = 'redshift_standin.late_binding_view(text)'::regprocedure)
    ORDER BY 1, 2, 5
$$;

-- Distribution and sort keys ------------------------------------------------------------------
-- PostgreSQL has no DISTSTYLE, DISTKEY or SORTKEY: the proxy cuts them off a CREATE TABLE and
-- records them here, by the table's OID (so they follow a rename, as on Redshift), in the
-- client's own transaction. pg_class_info and pg_attribute_info answer as Redshift's views of
-- those names do (found through the search_path, as Redshift finds them in pg_catalog):
-- reldiststyle 0 EVEN, 1 KEY, 8 ALL, 10 for AUTO; attisdistkey; attsortkeyord (1, 2, ... in
-- the compound sort key, 0 elsewhere). Column checks: record_table_keys names a missing one.
CREATE TABLE redshift_standin.table_keys (
    relid      oid PRIMARY KEY,
    diststyle  text NOT NULL CHECK (diststyle IN ('AUTO', 'EVEN', 'KEY', 'ALL')),
    distkey    name,
    sortkeys   name[] NOT NULL,
    encodings  jsonb NOT NULL DEFAULT '{}'  -- column name -> ENCODE given in CREATE TABLE
);
GRANT SELECT ON redshift_standin.table_keys TO PUBLIC;

-- Column encodings: ENCODE per column, cut off by the proxy and recorded above. Which types
-- take which encoding (Redshift's "Compression encodings" table; a mismatch is refused as
-- Redshift refuses it), and what a column without ENCODE gets (Redshift's documented
-- assignment: RAW for sort key columns, BOOLEAN, REAL and DOUBLE PRECISION; AZ64 for
-- SMALLINT, INTEGER, BIGINT, DECIMAL, DATE, TIMESTAMP, TIMESTAMPTZ; LZO for CHAR and
-- VARCHAR; the stand-in says RAW for the others). pg_attribute_info.attencodingtype holds a
-- number (the stand-in's own numbering) that pg_catalog.format_encoding() names, as on
-- Redshift; RAW is named 'none'.
CREATE TABLE redshift_standin.encodings (
    id        integer PRIMARY KEY,
    name      text NOT NULL UNIQUE,  -- as format_encoding() names it
    keyword   text NOT NULL UNIQUE,  -- as ENCODE takes it
    types     name[]                 -- the types it takes; NULL: every type
);
INSERT INTO redshift_standin.encodings VALUES
    (0, 'none', 'raw', NULL),
    (1, 'bytedict', 'bytedict', '{int2,int4,int8,numeric,float4,float8,bpchar,varchar,date,timestamp,timestamptz}'),
    (2, 'delta', 'delta', '{int2,int4,int8,numeric,date,timestamp}'),
    (3, 'delta32k', 'delta32k', '{int4,int8,numeric,date,timestamp}'),
    (4, 'lzo', 'lzo', '{int2,int4,int8,numeric,bpchar,varchar,date,timestamp,timestamptz,super}'),
    (5, 'mostly8', 'mostly8', '{int2,int4,int8,numeric}'),
    (6, 'mostly16', 'mostly16', '{int4,int8,numeric}'),
    (7, 'mostly32', 'mostly32', '{int8,numeric}'),
    (8, 'runlength', 'runlength', '{int2,int4,int8,numeric,float4,float8,bool,bpchar,varchar,date,timestamp,timestamptz}'),
    (9, 'text255', 'text255', '{varchar}'),
    (10, 'text32k', 'text32k', '{varchar}'),
    (11, 'zstd', 'zstd', '{int2,int4,int8,numeric,float4,float8,bool,bpchar,varchar,date,timestamp,timestamptz,super}'),
    (12, 'az64', 'az64', '{int2,int4,int8,numeric,date,timestamp,timestamptz}');
GRANT SELECT ON redshift_standin.encodings TO PUBLIC;

CREATE FUNCTION pg_catalog.format_encoding(integer) RETURNS text
LANGUAGE sql STABLE AS $$ SELECT name FROM redshift_standin.encodings WHERE id = $1 $$;

-- The type name an encoding is checked against (SUPER is a domain over jsonb here).
CREATE FUNCTION redshift_standin.encoding_type(typid oid) RETURNS name
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN typid = 'pg_catalog.super'::regtype THEN 'super'::name ELSE typname END
    FROM pg_catalog.pg_type WHERE oid = typid
$$;

CREATE FUNCTION redshift_standin.encoding_of(typid oid, given text, sortkey boolean) RETURNS integer
LANGUAGE sql STABLE AS $$
    SELECT CASE
        WHEN given IS NOT NULL THEN (SELECT id FROM redshift_standin.encodings WHERE keyword = given)
        WHEN sortkey THEN 0
        WHEN redshift_standin.encoding_type(typid) IN ('int2', 'int4', 'int8', 'numeric', 'date', 'timestamp',
                                                       'timestamptz') THEN 12
        WHEN redshift_standin.encoding_type(typid) IN ('bpchar', 'varchar') THEN 4
        ELSE 0
    END
$$;

CREATE FUNCTION redshift_standin.record_table_keys(rel regclass, style text, dist name, sorts name[],
                                                   encodings jsonb DEFAULT '{}')
RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
DECLARE
    col name;
    enc record;
BEGIN
    FOREACH col IN ARRAY array_remove(sorts || dist, NULL) LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = rel AND attname = col AND attnum > 0
                       AND NOT attisdropped) THEN
            RAISE EXCEPTION USING ERRCODE = '42703', MESSAGE = format('column "%s" does not exist', col);
        END IF;
    END LOOP;
    FOR enc IN
        SELECT e.key AS col, e.value AS keyword, redshift_standin.encoding_type(a.atttypid) AS typ, x.types
        FROM jsonb_each_text(encodings) e
        LEFT JOIN pg_attribute a ON a.attrelid = rel AND a.attname = e.key AND a.attnum > 0 AND NOT a.attisdropped
        LEFT JOIN redshift_standin.encodings x ON x.keyword = e.value
    LOOP
        IF enc.typ IS NULL THEN
            RAISE EXCEPTION USING ERRCODE = '42703', MESSAGE = format('column "%s" does not exist', enc.col);
        ELSIF enc.types IS NOT NULL AND NOT enc.typ = ANY(enc.types) THEN
            RAISE EXCEPTION USING ERRCODE = '0A000',
                MESSAGE = format('invalid encoding type specified for column "%s"', enc.col);
        END IF;
    END LOOP;
    INSERT INTO redshift_standin.table_keys VALUES (rel, style, dist, sorts, encodings)
    ON CONFLICT (relid) DO UPDATE SET diststyle = excluded.diststyle, distkey = excluded.distkey,
        sortkeys = excluded.sortkeys, encodings = excluded.encodings;
END
$$;

CREATE VIEW redshift_standin.pg_class_info AS
SELECT c.oid AS reloid, c.*,
       CASE k.diststyle WHEN 'EVEN' THEN 0 WHEN 'KEY' THEN 1 WHEN 'ALL' THEN 8 ELSE 10 END AS reldiststyle,
       CASE k.diststyle WHEN 'EVEN' THEN 0 WHEN 'KEY' THEN 1 WHEN 'ALL' THEN 8 ELSE 10 END AS releffectivediststyle
FROM pg_catalog.pg_class c LEFT JOIN redshift_standin.table_keys k ON k.relid = c.oid;
GRANT SELECT ON redshift_standin.pg_class_info TO PUBLIC;

CREATE VIEW redshift_standin.pg_attribute_info AS
-- Every pg_attribute column but attmissingval (a pseudo-type no view can hold).
SELECT a.attrelid, a.attname, a.atttypid, a.attstattarget, a.attlen, a.attnum, a.attndims, a.attcacheoff,
       a.atttypmod, a.attbyval, a.attalign, a.attstorage, a.attcompression, a.attnotnull, a.atthasdef,
       a.atthasmissing, a.attidentity, a.attgenerated, a.attisdropped, a.attislocal, a.attinhcount,
       a.attcollation, a.attacl, a.attoptions, a.attfdwoptions,
       coalesce(k.distkey = a.attname, false) AS attisdistkey,
       coalesce(array_position(k.sortkeys, a.attname), 0) AS attsortkeyord,
       redshift_standin.encoding_of(a.atttypid, k.encodings ->> a.attname::text,
                                    coalesce(array_position(k.sortkeys, a.attname), 0) > 0) AS attencodingtype
FROM pg_catalog.pg_attribute a LEFT JOIN redshift_standin.table_keys k ON k.relid = a.attrelid;
GRANT SELECT ON redshift_standin.pg_attribute_info TO PUBLIC;

-- Identity columns: the proxy writes a column's IDENTITY (seed, step) as
-- DEFAULT "identity"(0, 0, 'seed,step'::text), the expression Redshift's pg_attrdef shows for
-- one (Redshift's first two arguments are the table's OID and the column's index). The values
-- come from one sequence for all such columns: unique and increasing, not seed + n * step.
CREATE SEQUENCE redshift_standin.identity_seq;
CREATE FUNCTION pg_catalog."identity"(oid, integer, text) RETURNS bigint
LANGUAGE sql VOLATILE SECURITY DEFINER AS $$ SELECT nextval('redshift_standin.identity_seq') $$;

-- Serializable isolation violations on demand ------------------------------------------------
-- Redshift aborts one of two conflicting transactions with error 1023 (SQLSTATE XX000, message
-- "1023", detail "Serializable isolation violation on table - <id>, ..."); PostgreSQL's READ
-- COMMITTED never does. A test inserts a row here: each of the next `remaining` COMMITs of a
-- transaction that wrote or locked table_schema.table_name fails so, rolled back. The proxy
-- counts down through its own connection, so the count survives the client's ROLLBACK.
CREATE TABLE redshift_standin.serializable_violations (
    table_schema text NOT NULL,
    table_name   text NOT NULL,
    remaining    integer NOT NULL CHECK (remaining >= 0)
);
GRANT SELECT, INSERT, UPDATE, DELETE ON redshift_standin.serializable_violations TO PUBLIC;

-- COPY bookkeeping ---------------------------------------------------------------------------
-- Redshift query ids are integers; the proxy draws one per COPY.
CREATE SEQUENCE redshift_standin.query_id_seq AS integer START 1000;

CREATE TABLE redshift_standin.copy_log (
    query         integer PRIMARY KEY,
    session       integer NOT NULL,      -- the client session's upstream backend PID
    session_start timestamptz NOT NULL,  -- with the PID, tells reused PIDs apart
    tbl           text NOT NULL,
    source        text NOT NULL,
    rows_loaded   bigint NOT NULL,
    succeeded     boolean NOT NULL,
    starttime     timestamp NOT NULL,
    endtime       timestamp NOT NULL
);
GRANT SELECT ON redshift_standin.copy_log TO PUBLIC;

-- Redshift's STL_LOAD_ERRORS columns and types (CHAR(n) values come back blank-padded,
-- as on Redshift: trim them).
CREATE TABLE redshift_standin.stl_load_errors (
    userid          integer,
    slice           integer,
    tbl             integer,
    starttime       timestamp,
    session         integer,
    query           integer,
    filename        character(256),
    line_number     bigint,
    colname         character(127),
    type            character(10),
    col_length      character(10),
    position        integer,
    raw_line        character(1024),
    raw_field_value character(1024),
    err_code        integer,
    err_reason      character(100),
    is_partial      integer,
    start_offset    bigint
);
GRANT SELECT ON redshift_standin.stl_load_errors TO PUBLIC;

-- STV_SLICES: one row per slice (AWS, "STV_SLICES": node, slice, localslice, type), visible to
-- every user. The start script gives the count (psql -v slices=N, from PUBLISHER_REDSHIFT_SLICES);
-- two slices a node, as on the smallest node types. localslice and type are "for internal use
-- only" on Redshift: 'D' here, and the publisher reads neither. A view: read-only, as on Redshift.
\if :{?slices}
\else
\set slices 4
\endif
CREATE VIEW redshift_standin.stv_slices AS
SELECT (s / 2)::integer AS node, s::integer AS slice, (s % 2)::integer AS localslice, 'D'::character(1) AS type
FROM pg_catalog.generate_series(0, :slices - 1) AS s;
GRANT SELECT ON redshift_standin.stv_slices TO PUBLIC;

-- The current session, as the proxy recorded it: backend PID and start time.
CREATE FUNCTION redshift_standin.session_copies()
RETURNS SETOF redshift_standin.copy_log
LANGUAGE sql STABLE AS $$
    SELECT l.*
    FROM redshift_standin.copy_log AS l
    WHERE l.session = pg_catalog.pg_backend_pid()
      AND l.session_start = (SELECT a.backend_start FROM pg_catalog.pg_stat_activity AS a
                             WHERE a.pid = pg_catalog.pg_backend_pid())
$$;

-- Redshift: the query id of the session's most recent COPY (also a failed one), -1 if none.
CREATE FUNCTION pg_catalog.pg_last_copy_id() RETURNS integer
LANGUAGE sql STABLE AS $$
    SELECT coalesce(max(query), -1) FROM redshift_standin.session_copies()
$$;

-- Redshift: rows loaded by the session's most recent COPY; 0 if it failed or if none ran.
CREATE FUNCTION pg_catalog.pg_last_copy_count() RETURNS bigint
LANGUAGE sql STABLE AS $$
    SELECT coalesce((SELECT CASE WHEN succeeded THEN rows_loaded ELSE 0 END
                     FROM redshift_standin.session_copies()
                     ORDER BY query DESC LIMIT 1), 0)
$$;

-- Errors raised inside the client's session ------------------------------------------------
CREATE FUNCTION redshift_standin.raise_error(code text, message text, detail text DEFAULT NULL)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF detail IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = code, MESSAGE = message;
    END IF;
    RAISE EXCEPTION USING ERRCODE = code, MESSAGE = message, DETAIL = detail;
END
$$;

-- ALTER TABLE target APPEND FROM source [IGNOREEXTRA | FILLTARGET] ------------------------------
-- The proxy calls this only outside a transaction block (Redshift refuses it inside one).
-- Columns are matched by name; without an option both tables must have the same columns,
-- IGNOREEXTRA drops source columns the target lacks, FILLTARGET fills target columns the
-- source lacks with their DEFAULT (or NULL). Matching columns must have identical types.
-- It runs with the caller's privileges.
CREATE FUNCTION redshift_standin.alter_table_append(target text, source text, mode text)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    t regclass := target::regclass;
    s regclass := source::regclass;
    col record;
    names text := '';
    moved bigint;
BEGIN
    IF t = s THEN
        RAISE EXCEPTION USING ERRCODE = '42809', MESSAGE = 'The source table and the target table must differ.';
    END IF;
    FOR col IN
        SELECT coalesce(ta.attname, sa.attname) AS name,
               format_type(ta.atttypid, ta.atttypmod) AS target_type,
               format_type(sa.atttypid, sa.atttypmod) AS source_type
        FROM (SELECT attname, atttypid, atttypmod FROM pg_attribute
              WHERE attrelid = t AND attnum > 0 AND NOT attisdropped) AS ta
        FULL JOIN (SELECT attname, atttypid, atttypmod FROM pg_attribute
                   WHERE attrelid = s AND attnum > 0 AND NOT attisdropped) AS sa
          ON ta.attname = sa.attname
    LOOP
        IF col.source_type IS NULL AND mode <> 'FILLTARGET' THEN
            RAISE EXCEPTION USING ERRCODE = '42804',
                MESSAGE = 'Target table and source table attributes don''t match.',
                DETAIL = format('Column "%s" exists only in the target table (FILLTARGET fills it).', col.name);
        ELSIF col.target_type IS NULL AND mode <> 'IGNOREEXTRA' THEN
            RAISE EXCEPTION USING ERRCODE = '42804',
                MESSAGE = 'Target table and source table attributes don''t match.',
                DETAIL = format('Column "%s" exists only in the source table (IGNOREEXTRA skips it).', col.name);
        ELSIF col.source_type IS NOT NULL AND col.target_type IS NOT NULL THEN
            IF col.source_type <> col.target_type THEN
                RAISE EXCEPTION USING ERRCODE = '42804',
                    MESSAGE = 'Target table and source table attributes don''t match.',
                    DETAIL = format('Column "%s" is %s in the target table and %s in the source table.',
                                    col.name, col.target_type, col.source_type);
            END IF;
            names := names || CASE WHEN names = '' THEN '' ELSE ', ' END || quote_ident(col.name);
        END IF;
    END LOOP;
    EXECUTE format('INSERT INTO %s (%s) SELECT %s FROM %s', t, names, names, s);
    GET DIAGNOSTICS moved = ROW_COUNT;
    EXECUTE format('TRUNCATE %s', s);
    RETURN moved;
END
$$;

-- Column types as Redshift has them ---------------------------------------------------------
-- Refused: types Redshift lacks (jsonb, arrays, uuid, bytea, ...), VARCHAR over 65535,
-- CHAR over 4096, NUMERIC precision over 38. Rewritten as Redshift does: TEXT and VARCHAR
-- without a length become VARCHAR(256), NUMERIC without precision becomes NUMERIC(18,0).
-- Only CREATE TABLE and ALTER TABLE are checked (CREATE TABLE AS derives its types).
CREATE FUNCTION redshift_standin.check_column_types() RETURNS event_trigger
LANGUAGE plpgsql AS $$
DECLARE
    cmd record;
    col record;
    rewrite text;
BEGIN
    FOR cmd IN
        SELECT * FROM pg_event_trigger_ddl_commands()
        WHERE command_tag IN ('CREATE TABLE', 'ALTER TABLE') AND object_type = 'table'
    LOOP
        FOR col IN
            SELECT a.attname, a.atttypmod, t.typname, t.oid AS typid,
                   c.relname, format_type(a.atttypid, a.atttypmod) AS shown
            FROM pg_attribute a
            JOIN pg_type t ON t.oid = a.atttypid
            JOIN pg_class c ON c.oid = a.attrelid
            WHERE a.attrelid = cmd.objid AND a.attnum > 0 AND NOT a.attisdropped
        LOOP
            rewrite := NULL;
            IF col.typid = 'pg_catalog.super'::regtype THEN
                CONTINUE;
            ELSIF col.typname NOT IN ('int2', 'int4', 'int8', 'numeric', 'float4', 'float8', 'bool',
                                      'varchar', 'bpchar', 'text', 'date', 'timestamp', 'timestamptz',
                                      'time', 'timetz') THEN
                RAISE EXCEPTION USING ERRCODE = '0A000',
                    MESSAGE = format('Column "%s.%s" has unsupported type "%s".', col.relname, col.attname, col.shown);
            ELSIF col.typname = 'varchar' AND col.atttypmod - 4 > 65535 THEN
                RAISE EXCEPTION USING ERRCODE = '22023',
                    MESSAGE = 'length for type varchar cannot exceed 65535';
            ELSIF col.typname = 'bpchar' AND col.atttypmod - 4 > 4096 THEN
                RAISE EXCEPTION USING ERRCODE = '22023',
                    MESSAGE = 'length for type character cannot exceed 4096';
            ELSIF col.typname = 'numeric' AND col.atttypmod > 0 AND ((col.atttypmod - 4) >> 16) > 38 THEN
                RAISE EXCEPTION USING ERRCODE = '22023',
                    MESSAGE = format('NUMERIC precision %s must be between 1 and 38', (col.atttypmod - 4) >> 16);
            ELSIF col.typname = 'text' OR (col.typname = 'varchar' AND col.atttypmod < 0) THEN
                rewrite := 'character varying(256)';
            ELSIF col.typname = 'numeric' AND col.atttypmod < 0 THEN
                rewrite := 'numeric(18,0)';
            END IF;
            IF rewrite IS NOT NULL THEN
                -- Fires this trigger again, which then finds nothing to rewrite.
                EXECUTE format('ALTER TABLE %s ALTER COLUMN %I TYPE %s', cmd.objid::regclass, col.attname, rewrite);
            END IF;
        END LOOP;
    END LOOP;
END
$$;

CREATE EVENT TRIGGER standin_redshift_types ON ddl_command_end
    WHEN TAG IN ('CREATE TABLE', 'ALTER TABLE')
    EXECUTE FUNCTION redshift_standin.check_column_types();
