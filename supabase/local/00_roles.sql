-- What a Supabase platform database already has and a plain PostgreSQL lacks: the API roles.
-- Applied only to a local or CI cluster (never to Supabase), and re-runnable: roles belong to
-- the whole cluster, so a second database in the same cluster finds them already there.

do $$
begin
    -- anon and authenticated: the role of a request without / with a signed-in user.
    if not exists (select from pg_catalog.pg_roles where rolname = 'anon') then
        create role anon nologin noinherit;
    end if;
    if not exists (select from pg_catalog.pg_roles where rolname = 'authenticated') then
        create role authenticated nologin noinherit;
    end if;
    -- service_role: the server-side key; our workers. It bypasses row-level security.
    if not exists (select from pg_catalog.pg_roles where rolname = 'service_role') then
        create role service_role nologin noinherit bypassrls;
    end if;
    -- authenticator: PostgREST logs in as it and switches role per request.
    if not exists (select from pg_catalog.pg_roles where rolname = 'authenticator') then
        create role authenticator login noinherit;
    end if;
end
$$;

grant anon to authenticator;
grant authenticated to authenticator;
grant service_role to authenticator;
