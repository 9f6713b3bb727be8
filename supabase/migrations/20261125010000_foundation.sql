-- Foundation: the extensions the design needs and the two schemas.
--   public             what the dashboard reads and calls through PostgREST (tables under RLS, RPCs)
--   scheduling_private never exposed: SECURITY DEFINER helpers for policies, the job outbox, secrets

-- btree_gist lets an exclusion constraint mix equality (clinician) with range overlap (time).
create extension if not exists btree_gist with schema extensions;

create schema if not exists scheduling_private;
comment on schema scheduling_private is
'Internal helpers, job queues and secrets of the scheduling backend; no API role may use it.';

-- No API role may use the private schema, and functions created in it are not executable by
-- PUBLIC unless a migration grants them one by one.
revoke all on schema scheduling_private from public, anon, authenticated;
alter default privileges in schema scheduling_private revoke execute on functions from public;

-- public is shared with the rest of the clinic's dashboard, so its default privileges stay as
-- the project has them: each later migration revokes and grants explicitly on every object it
-- creates there.
