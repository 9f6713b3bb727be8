-- The extensions schema, Supabase's default privileges on public, and the search_path that
-- Supabase gives its roles.

create schema if not exists extensions;
grant usage on schema extensions to anon, authenticated, service_role;
create extension if not exists pgcrypto with schema extensions;
create extension if not exists "uuid-ossp" with schema extensions;

grant usage on schema public to anon, authenticated, service_role;

-- Supabase (for now) grants every new object that postgres creates in public to the API roles;
-- RLS and explicit revokes in the migrations are what keep data safe, not these defaults.
alter default privileges for role postgres in schema public
grant all on tables to anon, authenticated, service_role;
alter default privileges for role postgres in schema public
grant all on sequences to anon, authenticated, service_role;
alter default privileges for role postgres in schema public
grant all on functions to anon, authenticated, service_role;

alter role postgres set search_path to "$user", public, extensions; -- noqa: RF05
alter role authenticator set search_path to public, extensions;
alter role anon set search_path to public, extensions;
alter role authenticated set search_path to public, extensions;
alter role service_role set search_path to public, extensions;

-- Supabase Realtime's publication: the migrations add the tables the dashboard watches.
do $$
begin
    if not exists (select from pg_catalog.pg_publication where pubname = 'supabase_realtime') then
        create publication supabase_realtime;
    end if;
end
$$;
