-- The part of Supabase Auth (GoTrue) that the migrations and the policies use: auth.users and
-- the claim helpers. The helpers read the settings exactly as PostgREST sets them per request:
-- `request.jwt.claim.<name>` (older PostgREST) first, then the `request.jwt.claims` JSON. A setting
-- made with set_config(..., true) reads back as '' after its transaction, hence nullif.

create schema if not exists auth;
grant usage on schema auth to anon, authenticated, service_role;

create table if not exists auth.users (
    id uuid primary key default gen_random_uuid(),
    aud varchar(255) default 'authenticated',
    role varchar(255) default 'authenticated', -- noqa: RF04
    email varchar(255),
    phone text unique,
    encrypted_password varchar(255),
    email_confirmed_at timestamptz,
    last_sign_in_at timestamptz,
    raw_app_meta_data jsonb default '{}'::jsonb,
    raw_user_meta_data jsonb default '{}'::jsonb,
    is_anonymous boolean not null default false,
    is_sso_user boolean not null default false,
    created_at timestamptz default now(),
    updated_at timestamptz default now(),
    deleted_at timestamptz
);
-- Supabase Auth keeps emails unique only among accounts that are not single sign-on ones: a
-- partial index, which PostgreSQL does not count as a key when it locks a row for an update. An
-- update of the phone (unique, a key) locks the row against foreign keys to it; an update of the
-- email alone does not.
create unique index if not exists users_email_partial_key on auth.users (email) where (is_sso_user = false);

create or replace function auth.uid() returns uuid
language sql stable
as $$
    select coalesce(
        nullif(current_setting('request.jwt.claim.sub', true), ''),
        nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub'
    )::uuid
$$;

create or replace function auth.role() returns text
language sql stable
as $$
    select coalesce(
        nullif(current_setting('request.jwt.claim.role', true), ''),
        nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role'
    )
$$;

create or replace function auth.email() returns text
language sql stable
as $$
    select coalesce(
        nullif(current_setting('request.jwt.claim.email', true), ''),
        nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'email'
    )
$$;

create or replace function auth.jwt() returns jsonb
language sql stable
as $$
    select coalesce(
        nullif(current_setting('request.jwt.claim', true), ''),
        nullif(current_setting('request.jwt.claims', true), '')
    )::jsonb
$$;

grant execute on function auth.uid(), auth.role(), auth.email(), auth.jwt()
to anon, authenticated, service_role;
