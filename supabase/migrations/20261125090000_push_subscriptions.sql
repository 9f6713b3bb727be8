-- Web Push subscriptions: one row per browser or device a user allowed notifications on.

create table public.push_subscriptions (
    id uuid primary key default gen_random_uuid(),
    user_id uuid not null references auth.users (id) on delete cascade,
    endpoint text not null unique check (endpoint ~ '^https?://'),
    p256dh text not null,
    auth text not null,
    user_agent text,
    created_at timestamptz not null default now(),
    last_used_at timestamptz
);
comment on table public.push_subscriptions is
'A browser''s PushSubscription (endpoint and keys); the worker removes it when the push service says it is gone (404/410).';
create index push_subscriptions_user_idx on public.push_subscriptions (user_id);

revoke all on table public.push_subscriptions from anon, authenticated;
grant select, delete on table public.push_subscriptions to authenticated;
grant insert (user_id, endpoint, p256dh, auth, user_agent) on table public.push_subscriptions to authenticated;
grant all on table public.push_subscriptions to service_role;

alter table public.push_subscriptions enable row level security;

create policy "Users can view their own push subscriptions" on public.push_subscriptions
for select to authenticated using (user_id = (select auth.uid()));
create policy "Users can add their own push subscriptions" on public.push_subscriptions
for insert to authenticated with check (user_id = (select auth.uid()));
create policy "Users can remove their own push subscriptions" on public.push_subscriptions
for delete to authenticated using (user_id = (select auth.uid()));
