-- A calendar that stops syncing until its owner connects it again is announced to them.
--
-- When a provider refuses our access (a revoked or expired grant, a changed CalDAV password),
-- the worker pauses the connection (`sync_enabled = false`, `last_sync_error` 'reconnect
-- needed: ...'), since retrying cannot help. Until now only the connections page showed it, and
-- a clinician who never looked kept a calendar without their new visits, whose busy times no
-- longer kept patients from booking over their other commitments. Now the pause tells them:
-- an in-app `calendar_reconnect_needed` row naming the calendar and the provider's answer, and
-- a notice on each other channel they have on (email, push, SMS), each linking to the
-- dashboard's calendar settings. Connecting again (or resuming) marks the in-app row read once
-- none of their calendars still waits for them.

-- The channels besides the app a person's notices go out on, by their preferences (as
-- notify() chooses them; notify() keeps its own copy, since it runs in bookings and a call per
-- person would cost them).
create function scheduling_private.notice_channels(person uuid) returns setof text
language sql stable
set search_path = ''
as $$
    select channel.name
    from auth.users as u
    left join public.notification_preferences as p on u.id = p.user_id
    cross join lateral (
        select 'email' as name where coalesce(p.email_enabled, true) and coalesce(p.email, u.email) is not null
        union all
        select 'push' where coalesce(p.push_enabled, true)
        union all
        select 'sms' where coalesce(p.sms_enabled, false) and p.phone is not null
    ) as channel
    where u.id = person
$$;

-- How the dashboard names a connection: 'Google Calendar "Work"'.
create function scheduling_private.calendar_label(connection public.calendar_sync_connections) returns text
language sql immutable
set search_path = ''
as $$
    select case connection.provider
        when 'google' then 'Google Calendar'
        when 'microsoft' then 'Outlook calendar'
        else 'CalDAV calendar'
    end || coalesce(' "' || coalesce(connection.calendar_name, connection.calendar_id) || '"', '')
$$;

-- What the provider answered when it refused our access, as the worker recorded it.
create function scheduling_private.calendar_refusal(connection public.calendar_sync_connections) returns text
language sql immutable
set search_path = ''
as $$
    select rtrim(regexp_replace(connection.last_sync_error, '^reconnect needed: ', ''), '.')
$$;

create function scheduling_private.tg_calendar_sync_connections__announce_reconnect() returns trigger
language plpgsql security definer
set search_path = ''
as $$
begin
    insert into public.notifications (user_id, kind, title, body)
    select new.user_id, 'calendar_reconnect_needed', 'Reconnect your calendar',
        format(
            '%s stopped syncing: %s. Connect it again so that your visits reach it and its busy times '
            'keep patients from booking over them.',
            scheduling_private.calendar_label(new),
            scheduling_private.calendar_refusal(new)
        )
    where coalesce(
        (select p.in_app_enabled from public.notification_preferences as p where p.user_id = new.user_id), true
    );
    insert into scheduling_private.jobs (kind, payload)
    select 'notice_' || channel,
        jsonb_build_object('kind', 'calendar_reconnect_needed', 'user_id', new.user_id, 'connection_id', new.id)
    from scheduling_private.notice_channels(new.user_id) as channel;
    return null;
end
$$;
comment on function scheduling_private.tg_calendar_sync_connections__announce_reconnect() is
'Tells a user that the worker paused one of their calendar connections until they connect it again.';

-- Paused by the worker: only it writes last_sync_at, and a user may pause a connection themselves.
create trigger _700_announce_reconnect after update of sync_enabled on public.calendar_sync_connections
for each row when (
    old.sync_enabled and not new.sync_enabled and new.last_sync_error like 'reconnect needed: %'
    and old.last_sync_at is distinct from new.last_sync_at
)
execute function scheduling_private.tg_calendar_sync_connections__announce_reconnect();

create function scheduling_private.tg_calendar_sync_connections__reconnected() returns trigger
language plpgsql security definer
set search_path = ''
as $$
begin
    update public.notifications as n set read_at = now()
    where n.user_id = new.user_id and n.kind = 'calendar_reconnect_needed' and n.read_at is null
        and not exists (
            select from public.calendar_sync_connections as c
            where c.user_id = new.user_id and not c.sync_enabled and c.last_sync_error like 'reconnect needed: %'
        );
    return null;
end
$$;
comment on function scheduling_private.tg_calendar_sync_connections__reconnected() is
'Marks a user''s reconnect notices read once none of their calendar connections waits to be connected again.';

create trigger _710_reconnected after update of sync_enabled on public.calendar_sync_connections
for each row when (not old.sync_enabled and new.sync_enabled)
execute function scheduling_private.tg_calendar_sync_connections__reconnected();

revoke execute on all functions in schema scheduling_private from public;
grant execute on function scheduling_private.calendar_label(public.calendar_sync_connections),
scheduling_private.calendar_refusal(public.calendar_sync_connections) to service_role;
