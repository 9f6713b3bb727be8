-- Google and Outlook calendars tell the web service of their changes, and are pulled at once.
--
-- A connected calendar was pulled every 15 minutes, so an event its owner made there (a
-- dentist's appointment at 14:00) left that time bookable here for up to 15 minutes. Google
-- (notification channels, events.watch) and Microsoft Graph (change notifications, subscriptions)
-- post a notice of every change to a calendar they are asked to watch. After each pull of such a
-- calendar the worker keeps one channel (a Graph subscription) open for it, renewed before it
-- expires; the provider posts each change to `scheduling web` (`POST /webhooks/google/calendar`,
-- `POST /webhooks/microsoft/calendar`), which queues a pull of that calendar at once
-- (calendar_changed). The 15-minute pulls stay, for notices lost on the way. CalDAV has no
-- standard way to tell of changes: iCloud calendars are pulled every 15 minutes as before.
--
-- A channel carries a token of ours that the provider sends back with every notice (Google's
-- X-Goog-Channel-Token, Graph's clientState); only its SHA-256 is kept here, so the table holds
-- nothing that would let anyone post a notice. A notice only queues a pull, which reads the
-- calendar itself: a forged one could cost a pull, no more.

create table scheduling_private.calendar_watches (
    connection_id uuid primary key references public.calendar_sync_connections (id) on delete cascade,
    -- The open channel, our id for it (Google's X-Goog-Channel-ID, the first part of Graph's
    -- clientState); null while none was made.
    channel_id uuid unique,
    -- The provider's id of it, which stopping it needs: Google's resourceId, Graph's subscription id.
    resource_id text,
    token_digest bytea,
    opened_at timestamptz,
    expires_at timestamptz,
    -- The provider's last refusal to open a channel (an address it will not call, say): tried again an
    -- hour later, at a pull, and the pulls go on meanwhile.
    refused_at timestamptz,
    refusal text,
    constraint calendar_watches_channel_whole check (
        (channel_id is null) = (resource_id is null)
        and (channel_id is null) = (token_digest is null)
        and (channel_id is null) = (opened_at is null)
        and (channel_id is null) = (expires_at is null)
    )
);
comment on table scheduling_private.calendar_watches is
'The channel through which a connected calendar tells us of its changes (Google''s push notifications, Graph''s subscriptions).';

-- One notice of a change: the channel's calendar is pulled unless a pull is queued already. A
-- running pull may have read the calendar before this change, so only a queued one will see it.
-- Returns what was done, which the web service answers with: 'unknown channel' (none, or ended),
-- 'wrong token', 'not pulled' (paused, or a calendar we only write to), 'pull already queued',
-- 'pull queued'.
create function scheduling_private.calendar_changed(channel_id uuid, token text) returns text
language plpgsql
set search_path = ''
as $$
declare
    watch scheduling_private.calendar_watches;
    connection public.calendar_sync_connections;
begin
    select w.* into watch
    from scheduling_private.calendar_watches as w
    where w.channel_id = calendar_changed.channel_id and w.expires_at > now();
    if not found then
        return 'unknown channel';
    end if;
    if watch.token_digest <> pg_catalog.sha256(pg_catalog.convert_to(coalesce(token, ''), 'UTF8')) then
        return 'wrong token';
    end if;
    select c.* into connection from public.calendar_sync_connections as c where c.id = watch.connection_id;
    if not connection.sync_enabled or connection.sync_direction not in ('two_way', 'from_external') then
        return 'not pulled';
    end if;
    -- The kinds are spelled out as jobs_waiting_pulls_idx's condition has them, so it is used.
    if exists (
        select from scheduling_private.jobs as j
        where j.kind in ('calendar_pull_google', 'calendar_pull_microsoft', 'calendar_pull_caldav')
            and j.status = 'queued'
            and j.payload ->> 'connection_id' = connection.id::text
    ) then
        return 'pull already queued';
    end if;
    insert into scheduling_private.jobs (kind, payload)
    values ('calendar_pull_' || connection.provider, jsonb_build_object('connection_id', connection.id));
    return 'pull queued';
end
$$;

revoke execute on all functions in schema scheduling_private from public;
grant execute on function scheduling_private.calendar_changed(uuid, text) to service_role;
