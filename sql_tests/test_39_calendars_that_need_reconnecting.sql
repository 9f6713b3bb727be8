-- A calendar connection the worker pauses until its owner connects it again is announced to
-- them, in the app and on their other channels; connecting again marks it read.
begin;
select plan(9);

do $$
declare
    ada uuid := tests.create_clinician('ada@example.com', 'Europe/London');
    ben uuid := tests.create_clinician('ben@example.com');
begin
    insert into public.calendar_sync_connections (user_id, provider, calendar_id, calendar_name)
    values (ada, 'google', 'work@group.calendar.google.com', 'Work'), (ada, 'microsoft', 'AAMkAD', null),
        (ben, 'caldav', 'home', 'Home');
    insert into public.notification_preferences (user_id, phone, sms_enabled, in_app_enabled)
    values (ben, '+447700900123', true, false);
end
$$;

-- As the worker pauses a connection whose provider refused our access (MARK_CONNECTION).
create function pg_temp.pause_for_reconnect(calendar text) returns void
language plpgsql as $$
begin
    update public.calendar_sync_connections
    set last_sync_at = clock_timestamp(), last_sync_status = 'failed',
        last_sync_error = 'reconnect needed: invalid_grant: Token has been expired or revoked.',
        sync_enabled = sync_enabled and false
    where calendar_id = calendar;
end
$$;

-- As connecting again does (SAVE_CONNECTION).
create function pg_temp.reconnect(calendar text) returns void
language plpgsql as $$
begin
    update public.calendar_sync_connections
    set sync_enabled = true, last_sync_status = null, last_sync_error = null
    where calendar_id = calendar;
end
$$;

create function pg_temp.notices(email text) returns table (body text, is_read boolean)
language sql as $$
    select n.body, n.read_at is not null from public.notifications as n
    where n.user_id = tests.get_user_id(email) and n.kind = 'calendar_reconnect_needed'
    order by n.created_at, n.body
$$;

create function pg_temp.jobs(email text) returns table (kind text, connection_calendar text)
language sql as $$
    select j.kind, c.calendar_id from scheduling_private.jobs as j
    join public.calendar_sync_connections as c on c.id = (j.payload ->> 'connection_id')::uuid
    where j.payload ->> 'kind' = 'calendar_reconnect_needed' and (j.payload ->> 'user_id')::uuid = tests.get_user_id(email)
    order by j.kind, c.calendar_id
$$;

select pg_temp.pause_for_reconnect('work@group.calendar.google.com');
select results_eq(
    $$select * from pg_temp.notices('ada@example.com')$$,
    $$values (
        'Google Calendar "Work" stopped syncing: invalid_grant: Token has been expired or revoked. Connect it '
        'again so that your visits reach it and its busy times keep patients from booking over them.', false
    )$$,
    'the owner is told in the app which calendar stopped and what the provider said'
);
select results_eq(
    $$select * from pg_temp.jobs('ada@example.com')$$,
    $$values ('notice_email', 'work@group.calendar.google.com'), ('notice_push', 'work@group.calendar.google.com')$$,
    'and by email and push, their channels by default, each naming the connection'
);

select pg_temp.pause_for_reconnect('home');
select is_empty($$select * from pg_temp.notices('ben@example.com')$$, 'nothing in the app with in-app notices off');
select results_eq(
    $$select kind from pg_temp.jobs('ben@example.com')$$,
    $$values ('notice_email'), ('notice_push'), ('notice_sms')$$,
    'a text as well for someone with texts on'
);

select pg_temp.pause_for_reconnect('AAMkAD');
select results_eq(
    $$select body from pg_temp.notices('ada@example.com') where body like 'Outlook%'$$,
    $$values (
        'Outlook calendar "AAMkAD" stopped syncing: invalid_grant: Token has been expired or revoked. Connect it '
        'again so that your visits reach it and its busy times keep patients from booking over them.'
    )$$,
    'a calendar without a name is named by its id'
);

select pg_temp.reconnect('work@group.calendar.google.com');
select is(
    (select bool_or(is_read) from pg_temp.notices('ada@example.com')), false,
    'connecting one of two paused calendars again leaves the notices unread: the other still waits'
);
select pg_temp.reconnect('AAMkAD');
select is(
    (select bool_and(is_read) from pg_temp.notices('ada@example.com')), true,
    'connecting the other marks them read'
);

-- Resumed by hand without connecting again, then paused by hand: the old error is still there,
-- but the worker paused nothing.
update public.calendar_sync_connections set sync_enabled = true where calendar_id = 'home';
select tests.call_as('ben@example.com', $$update public.calendar_sync_connections set sync_enabled = false where calendar_id = 'home'$$);
select is(
    (select count(*) from pg_temp.jobs('ben@example.com')), 3::bigint,
    'a user pausing a calendar themselves is not told'
);
select is(
    (select count(*) from public.calendar_sync_connections where calendar_id = 'home' and not sync_enabled), 1::bigint,
    'though the pause took'
);

select * from finish();
rollback;
