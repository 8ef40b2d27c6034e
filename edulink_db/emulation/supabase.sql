-- Emulation of a hosted Supabase database on a plain PostgreSQL 15/16 (notes/supabase.md §2).
--
-- Run as the cluster's bootstrap superuser, which must NOT be called `postgres`
-- (tests/support/cluster.py runs `initdb -U supabase_admin`).
--
-- The file has two sections, split by tests/support/cluster.py on the `-- section:` markers:
--   cluster   roles and role settings; run once per cluster.
--   database  schemas, auth helpers and database ownership; run in every database the tests use.
-- Each section is sent as one multi-statement query, so it applies completely or not at all.
--
-- Passwords are not in this file. cluster.py sets them afterwards (ADMIN_PASSWORD for `postgres`,
-- AUTHENTICATOR_PASSWORD for `authenticator`), so the secrets live in one place.
--
-- Left out on purpose: the LEGACY `alter default privileges ... in schema public grant all ...`
-- lines. Projects created since 2026-05-30 get no automatic grants on `public`, and this project
-- must grant explicitly.

-- section: cluster

-- `postgres` is the dashboard/tooling login: privileged, but not a superuser (hosted since 2022).
create role postgres login nosuperuser createdb createrole replication bypassrls;
alter role postgres set search_path = "$user", public, extensions;

-- The Data API roles. PostgREST logs in as `authenticator` and switches with SET ROLE.
create role anon          nologin inherit;
create role authenticated nologin inherit;
create role service_role  nologin inherit bypassrls;
create role authenticator login noinherit;
grant anon, authenticated, service_role to authenticator;

grant anon, authenticated, service_role to postgres;
grant pg_read_all_data, pg_signal_backend, pg_monitor to postgres;
-- Hosted PG16+ gives these memberships WITH ADMIN OPTION
-- (supabase/postgres 20250605172253_grant_with_admin_to_postgres_16_and_above.sql).
do $$
begin
  if current_setting('server_version_num')::int >= 160000 then
    grant anon, authenticated, service_role to postgres with admin option;
    grant pg_read_all_data, pg_signal_backend, pg_monitor to postgres with admin option;
  end if;
end
$$;

-- Internal roles that own Supabase-managed objects.
create role supabase_auth_admin login noinherit createrole;
alter role supabase_auth_admin set search_path = auth;
create role dashboard_user nologin createdb createrole replication;

-- Role defaults as on hosted.
alter role anon          set statement_timeout = '3s';
alter role authenticated set statement_timeout = '8s';
alter role authenticator set statement_timeout = '8s';
alter role authenticator set lock_timeout = '8s';

-- section: database

-- `postgres` owns every database, so it is pg_database_owner and owns `public` (hosted shape).
do $$
begin
  execute format('alter database %I owner to postgres', current_database());
end
$$;

create schema extensions;
grant usage on schema extensions to postgres, anon, authenticated, service_role;
grant usage on schema public     to postgres, anon, authenticated, service_role;

-- auth helpers, current shape (supabase/auth migrations 2024-06: `set search_path = ''`).
create schema auth authorization supabase_auth_admin;
grant usage on schema auth to anon, authenticated, service_role, postgres;

create function auth.uid() returns uuid language sql stable set search_path = '' as $$
  select coalesce(nullif(current_setting('request.jwt.claim.sub', true), ''),
                  (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub'))::uuid
$$;
create function auth.role() returns text language sql stable set search_path = '' as $$
  select coalesce(nullif(current_setting('request.jwt.claim.role', true), ''),
                  (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role'))::text
$$;
create function auth.jwt() returns jsonb language sql stable set search_path = '' as $$
  select coalesce(nullif(current_setting('request.jwt.claim', true), ''),
                  nullif(current_setting('request.jwt.claims', true), ''))::jsonb
$$;
alter function auth.uid()  owner to supabase_auth_admin;
alter function auth.role() owner to supabase_auth_admin;
alter function auth.jwt()  owner to supabase_auth_admin;
