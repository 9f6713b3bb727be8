-- What Graph tells of an Outlook subscription itself (calendar_subscription_event): checked as a
-- notice of a change is, a pull queued, a removed subscription forgotten, a renewal asked for
-- recorded; a paused calendar's removed subscription forgotten all the same.
begin;
select plan(11);

delete from scheduling_private.jobs;
insert into public.calendar_sync_connections (user_id, provider, calendar_id)
values (tests.create_clinician('clin@example.com'), 'microsoft', 'calendar');
delete from scheduling_private.jobs;  -- its first pull

create function pg_temp.open_channel() returns void
language sql
as $$
    insert into scheduling_private.calendar_watches
        (connection_id, channel_id, resource_id, token_digest, opened_at, expires_at)
    select id, 'a0000000-0000-4000-8000-000000000001', 'subscription',
        sha256(convert_to('the token', 'UTF8')), now(), now() + interval '6 days'
    from public.calendar_sync_connections
    on conflict (connection_id) do update
    set channel_id = excluded.channel_id, resource_id = excluded.resource_id,
        token_digest = excluded.token_digest, opened_at = excluded.opened_at, expires_at = excluded.expires_at,
        renewal_asked_at = null;
$$;
create function pg_temp.told(token text, lifecycle_event text) returns text
language sql
as $$
    select scheduling_private.calendar_subscription_event(
        'a0000000-0000-4000-8000-000000000001', token, lifecycle_event
    );
$$;
create function pg_temp.queued_pulls() returns int
language sql
as $$
    select count(*)::int from scheduling_private.jobs where kind = 'calendar_pull_microsoft' and status = 'queued';
$$;
do $$ begin perform pg_temp.open_channel(); end $$;

select is(
    scheduling_private.calendar_subscription_event(gen_random_uuid(), 'the token', 'missed'),
    'unknown channel', 'a channel we never opened is unknown'
);
select is(pg_temp.told('a guess', 'subscriptionRemoved'), 'wrong token', 'a wrong token is refused');
select is(
    (select channel_id from scheduling_private.calendar_watches),
    'a0000000-0000-4000-8000-000000000001'::uuid, 'and the channel is kept'
);
select is(pg_temp.told('the token', 'missed'), 'pull queued', 'missed notices queue a pull');
select is(
    pg_temp.told('the token', 'reauthorizationRequired'), 'renewal asked; pull already queued',
    'a renewal asked for is recorded, the queued pull kept'
);
select isnt((select renewal_asked_at from scheduling_private.calendar_watches), null, 'with its time');
select is(
    pg_temp.told('the token', 'somethingNew'), 'pull already queued', 'an event not known here is taken as a change'
);
select is(
    pg_temp.told('the token', 'subscriptionRemoved'), 'subscription forgotten; pull already queued',
    'a removed subscription is forgotten'
);
select is(
    (
        select row(channel_id, resource_id, token_digest, expires_at, renewal_asked_at)::text
        from scheduling_private.calendar_watches
    ),
    '(,,,,)', 'nothing of it is kept'
);

do $$ begin perform pg_temp.open_channel(); end $$;
update public.calendar_sync_connections set sync_enabled = false;
select is(
    pg_temp.told('the token', 'subscriptionRemoved'), 'subscription forgotten; not pulled',
    'a paused calendar''s removed subscription is forgotten, and no pull queued'
);
select is(pg_temp.queued_pulls(), 1, 'one pull was queued in all');

select * from finish();
rollback;
