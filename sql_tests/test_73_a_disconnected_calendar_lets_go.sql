-- A deleted calendar connection keeps what closing it at its provider needs, for a job queued in
-- the same transaction: a Google one always (its permission is revoked), an Outlook one only with
-- a subscription open, a CalDAV one never. The owner deletes it under RLS; deleting the owner
-- deletes it too; a disconnect job failing for good forgets the secret it carried.
begin;
select plan(15);

delete from scheduling_private.jobs;
create function pg_temp.connected(user_id uuid, provider text, calendar_id text, with_channel boolean) returns uuid
language plpgsql
as $$
declare
    connection_id uuid;
begin
    insert into public.calendar_sync_connections (user_id, provider, calendar_id)
    values (user_id, provider, calendar_id)
    returning id into connection_id;
    insert into scheduling_private.calendar_secrets (connection_id, key_id, sealed, account)
    values (connection_id, 'k1', '\x0102'::bytea, '{"google_account": "dr@example.com"}');
    if with_channel then
        insert into scheduling_private.calendar_watches
            (connection_id, channel_id, resource_id, token_digest, opened_at, expires_at)
        values (connection_id, gen_random_uuid(), 'resource-' || calendar_id, '\x00'::bytea, now(), now() + interval '6 days');
    end if;
    return connection_id;
end
$$;

create temporary table ids as
select
    tests.create_clinician('dr@example.com') as clinician,
    tests.create_clinician('other@example.com') as other;
create temporary table connections as
select
    pg_temp.connected(clinician, 'google', 'dr@example.com', true) as google,
    pg_temp.connected(clinician, 'microsoft', 'outlook-with', true) as outlook_with,
    pg_temp.connected(clinician, 'microsoft', 'outlook-without', false) as outlook_without,
    pg_temp.connected(clinician, 'caldav', 'https://dav.example/cal/', false) as caldav,
    pg_temp.connected(other, 'google', 'other@example.com', false) as others_google
from ids;
grant select on ids, connections to authenticated;
delete from scheduling_private.jobs;  -- the first pulls

select tests.authenticate_as((select clinician from ids));
delete from public.calendar_sync_connections;
reset role;

select is(
    (select count(*)::int from public.calendar_sync_connections), 1,
    'the owner deleted their four connections (the other clinician''s stays)'
);
select is(
    (select array_agg(provider || ':' || calendar_id order by provider) from scheduling_private.calendar_disconnections),
    array['google:dr@example.com', 'microsoft:outlook-with'],
    'what Google''s and the open subscription''s closing needs is kept'
);
select is(
    (select array_agg(kind order by kind) from scheduling_private.jobs where status = 'queued'),
    array['calendar_disconnect_google', 'calendar_disconnect_microsoft'],
    'a disconnect job is queued for each, none for Outlook without a subscription or CalDAV'
);
select is(
    (
        select (d.key_id, d.sealed, d.account, d.resource_id, d.user_id)
        from scheduling_private.calendar_disconnections as d, connections as c
        where d.connection_id = c.google
    ),
    ('k1'::text, '\x0102'::bytea, '{"google_account": "dr@example.com"}'::jsonb, 'resource-dr@example.com'::text, (select clinician from ids)),
    'with the sealed secret, the account and the channel as they were'
);
select is(
    (select count(*)::int from scheduling_private.calendar_secrets), 1,
    'the secrets themselves went with the connections'
);
select is(
    (
        select payload ->> 'connection_id' from scheduling_private.jobs
        where kind = 'calendar_disconnect_google'
    ),
    (select google::text from connections),
    'the job names the connection'
);
select is(
    has_table_privilege('authenticated', 'scheduling_private.calendar_disconnections', 'select'), false,
    'nobody signed in can read what is kept'
);

update scheduling_private.jobs set status = 'running' where kind = 'calendar_disconnect_microsoft';
update scheduling_private.jobs set status = 'failed', attempts = max_attempts
where kind = 'calendar_disconnect_microsoft';
select is(
    (select array_agg(provider) from scheduling_private.calendar_disconnections), array['google'],
    'a disconnect job failed for good forgets its secret'
);
select is(
    (select count(*)::int from public.notifications where kind = 'calendar_access_left_open'), 0,
    'nobody is told of an Outlook subscription left to its expiry'
);
update scheduling_private.jobs set status = 'queued' where kind = 'calendar_disconnect_google';
select is(
    (select count(*)::int from scheduling_private.calendar_disconnections), 1,
    'a job still to be tried keeps it'
);
update scheduling_private.jobs set status = 'failed', last_error = 'RuntimeError: Google refused: 403'
where kind = 'calendar_disconnect_google';
select is(
    (select array_agg(user_id || ' ' || body) from public.notifications where kind = 'calendar_access_left_open'),
    array[
        (select clinician from ids) || ' Your calendar "dr@example.com" was disconnected, but Google did not let'
        || ' us withdraw our access to it (Google refused: 403). Remove it in your Google account''s security'
        || ' settings, under third-party access.'
    ],
    'the owner of a Google calendar whose permission stayed is told to remove it, with Google''s answer'
);

select lives_ok(
    format('delete from auth.users where id = %L', (select other from ids)),
    'a user with a Google calendar connected can be deleted'
);
select is(
    (
        select count(*)::int from scheduling_private.calendar_disconnections as d
        where d.user_id = (select i.other from ids as i)
    ),
    1, 'and what their Google calendar left open is kept for its job, as a disconnect''s is'
);
select throws_ok(
    $$insert into scheduling_private.jobs (kind) values ('calendar_disconnect_caldav')$$,
    '23514', null, 'CalDAV has no disconnect job'
);

-- Someone who turned in-app notices off is not told in the app.
create temporary table quiet as select tests.create_clinician('quiet@example.com') as id;
insert into public.notification_preferences (user_id, in_app_enabled)
select
    q.id,
    false
from quiet as q;
create temporary table quiet_connection as
select pg_temp.connected(q.id, 'google', 'quiet@example.com', false) as id from quiet as q;
delete from public.calendar_sync_connections where user_id = (select q.id from quiet as q);
update scheduling_private.jobs set status = 'failed', last_error = 'RuntimeError: Google refused: 403'
where kind = 'calendar_disconnect_google' and status = 'queued';
select is(
    (select count(*)::int from public.notifications where user_id = (select q.id from quiet as q)), 0,
    'nobody whose in-app notices are off is told in the app'
);

select * from finish();
rollback;
