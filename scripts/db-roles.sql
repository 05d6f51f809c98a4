-- Least-privilege PostgreSQL roles for ProPart Hub (the seed: "a separate database user for the
-- application, with the minimum rights").
--
--   owner  (default propart_owner)  owns the database, the schema `public` and every object in it; the
--                                   only role that runs migrations (`npm run db:migrate`). The app never
--                                   connects as it.
--   app    (default propart_app)    what the app connects as (DATABASE_URL): SELECT, INSERT, UPDATE,
--                                   DELETE on the tables, USAGE on the sequences, and nothing else: no
--                                   CREATE, ALTER, DROP, TRUNCATE, no temporary tables; it only reads
--                                   the migration bookkeeping (kysely_migration*). Run the server and the
--                                   worker with DB_MIGRATE_ON_START=false.
--
-- Run it as a superuser, from any database (it creates the target database if missing, then connects
-- to it). All three names are optional:
--
--   sudo -u postgres psql -X -v ON_ERROR_STOP=1 -f scripts/db-roles.sql \
--        -v db=propart -v owner=propart_owner -v app=propart_app
--
-- then give the roles passwords without putting them on a command line:
--
--   sudo -u postgres psql -c '\password propart_owner'
--   sudo -u postgres psql -c '\password propart_app'
--
-- (or pass -v owner_password=… -v app_password=…, e.g. from a script; they end up in the shell history.)
--
-- Idempotent: run it again at any time, e.g. after the first `npm run db:migrate` (it then also narrows
-- the app to read-only on the bookkeeping tables the first migration created). An existing database —
-- for instance one set up by README's "Running on a PostgreSQL server", where the app's user owns
-- everything — is adopted: its objects in `public` are handed to the owner role. Then switch the app's
-- DATABASE_URL to the app role.
--
-- Migrations must run AS the owner role (not as postgres): the default privileges below grant the app
-- its rights on every table the owner creates later, and only on those. If a migration was run by
-- another role by mistake, run this script again: it hands the objects over and grants again.

\set ON_ERROR_STOP on
\if :{?db}
\else
  \set db propart
\endif
\if :{?owner}
\else
  \set owner propart_owner
\endif
\if :{?app}
\else
  \set app propart_app
\endif

SELECT :'owner' <> :'app' AS distinct_roles \gset
\if :distinct_roles
\else
  DO $$ BEGIN RAISE EXCEPTION 'db-roles.sql: owner and app must be two different roles'; END $$;
\endif

\echo 'db-roles.sql: database' :"db" 'owner' :"owner" 'app' :"app"

-- ---- roles ----------------------------------------------------------------------------------------
SELECT format('CREATE ROLE %I LOGIN', :'owner') WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'owner') \gexec
SELECT format('CREATE ROLE %I LOGIN', :'app') WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'app') \gexec
ALTER ROLE :"owner" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
-- NOINHERIT, and never a member of the owner: the app gets nothing but the grants below.
ALTER ROLE :"app" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS NOINHERIT;
SELECT format('REVOKE %I FROM %I', r.rolname, m.rolname)
  FROM pg_auth_members a JOIN pg_roles r ON r.oid = a.roleid JOIN pg_roles m ON m.oid = a.member
 WHERE m.rolname = :'app' \gexec
\if :{?owner_password}
  ALTER ROLE :"owner" PASSWORD :'owner_password';
\endif
\if :{?app_password}
  ALTER ROLE :"app" PASSWORD :'app_password';
\endif

-- ---- the database ---------------------------------------------------------------------------------
SELECT format('CREATE DATABASE %I OWNER %I ENCODING %L TEMPLATE template0', :'db', :'owner', 'UTF8')
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'db') \gexec
ALTER DATABASE :"db" OWNER TO :"owner";
-- Nobody else may connect or create schemas / temporary tables in it; the app may only connect.
REVOKE ALL ON DATABASE :"db" FROM PUBLIC;
REVOKE ALL ON DATABASE :"db" FROM :"app";
GRANT CONNECT ON DATABASE :"db" TO :"app";

\connect :"db"

-- ---- the schema: the owner's; the app may only look objects up in it -------------------------------
ALTER SCHEMA public OWNER TO :"owner";
REVOKE ALL ON SCHEMA public FROM PUBLIC;
REVOKE ALL ON SCHEMA public FROM :"app";
GRANT USAGE ON SCHEMA public TO :"app";

-- ---- adopting what already exists: every object in `public` belongs to the owner -------------------
-- Tables, views and free-standing sequences (a sequence owned by a column follows its table; indexes
-- follow their table).
SELECT format('ALTER %s %I.%I OWNER TO %I',
              CASE c.relkind WHEN 'S' THEN 'SEQUENCE' WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW'
                             WHEN 'f' THEN 'FOREIGN TABLE' ELSE 'TABLE' END,
              n.nspname, c.relname, :'owner')
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
   AND c.relowner <> (SELECT oid FROM pg_roles WHERE rolname = :'owner')
   AND NOT (c.relkind = 'S' AND EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype IN ('a', 'i')))
   AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
 ORDER BY c.relkind = 'S', c.relname \gexec
-- Functions (e.g. trigger functions) and types (enums, domains, composite and range types).
SELECT format('ALTER ROUTINE %s OWNER TO %I', p.oid::regprocedure, :'owner')
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
 WHERE n.nspname = 'public' AND p.proowner <> (SELECT oid FROM pg_roles WHERE rolname = :'owner')
   AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e') \gexec
SELECT format('ALTER %s %s OWNER TO %I', CASE t.typtype WHEN 'd' THEN 'DOMAIN' ELSE 'TYPE' END, t.oid::regtype, :'owner')
  FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
 WHERE n.nspname = 'public' AND t.typowner <> (SELECT oid FROM pg_roles WHERE rolname = :'owner')
   AND (t.typtype IN ('e', 'd', 'r') OR (t.typtype = 'c' AND (SELECT relkind FROM pg_class WHERE oid = t.typrelid) = 'c'))
   AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_type'::regclass AND d.objid = t.oid AND d.deptype = 'e') \gexec

-- ---- the app's rights on what exists now ----------------------------------------------------------
REVOKE ALL ON ALL TABLES IN SCHEMA public FROM :"app";
REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM :"app";
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO :"app";
GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO :"app";
-- The migration bookkeeping: readable (the app lists pending migrations for /readyz and at start), never
-- writable (a compromised app must not mark a migration as applied).
SELECT format('REVOKE INSERT, UPDATE, DELETE ON %I.%I FROM %I', n.nspname, c.relname, :'app')
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = 'public' AND c.relname IN ('kysely_migration', 'kysely_migration_lock') \gexec

-- The audit log is append-only for the app too (besides its trigger): it may add entries, never change them.
SELECT format('REVOKE UPDATE, DELETE, TRUNCATE ON %I.%I FROM %I', n.nspname, c.relname, :'app')
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = 'public' AND c.relname = 'audit_log' \gexec

-- ---- and on everything the owner creates later (the next migrations) ------------------------------
ALTER DEFAULT PRIVILEGES FOR ROLE :"owner" IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO :"app";
ALTER DEFAULT PRIVILEGES FOR ROLE :"owner" IN SCHEMA public GRANT USAGE ON SEQUENCES TO :"app";

\echo 'db-roles.sql: done. The app connects as' :"app" '(DB_MIGRATE_ON_START=false); migrations run as' :"owner"
