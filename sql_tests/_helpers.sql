-- Test helpers loaded by the test harness after the migrations (never part of them).
-- They do per request exactly what PostgREST does: inside the current transaction,
-- `set local role` and `set_config('request.jwt.claims', ..., true)`.

create schema if not exists tests;
grant usage on schema tests to anon, authenticated, service_role;

-- A new auth.users row; returns its id.
create or replace function tests.create_user(email text) returns uuid
language sql
as $$
    insert into auth.users (email) values (create_user.email) returning id
$$;

-- Security definer so that a test acting as a user can still look up other users' ids.
create or replace function tests.get_user_id(email text) returns uuid
language sql stable security definer set search_path = ''
as $$
    select u.id from auth.users as u where u.email = get_user_id.email
$$;

-- Act as a signed-in user until the transaction ends (or clear_authentication()).
create or replace function tests.authenticate_as(user_id uuid) returns void
language plpgsql
as $$
declare
    user_email text := (select u.email from auth.users as u where u.id = user_id);
begin
    perform set_config('role', 'authenticated', true);
    perform set_config(
        'request.jwt.claims',
        json_build_object('sub', user_id, 'role', 'authenticated', 'email', user_email)::text,
        true
    );
end
$$;

create or replace function tests.authenticate_as_anon() returns void
language plpgsql
as $$
begin
    perform set_config('role', 'anon', true);
    perform set_config('request.jwt.claims', '{"role": "anon"}', true);
end
$$;

create or replace function tests.authenticate_as_service_role() returns void
language plpgsql
as $$
begin
    perform set_config('role', 'service_role', true);
    perform set_config('request.jwt.claims', '{"role": "service_role"}', true);
end
$$;

-- Back to the session user (the superuser the harness connects as), with no claims.
create or replace function tests.clear_authentication() returns void
language plpgsql
as $$
begin
    perform set_config('role', 'none', true);
    perform set_config('request.jwt.claims', '', true);
end
$$;

grant execute on all functions in schema tests to anon, authenticated, service_role;
