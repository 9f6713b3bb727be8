-- Two-way calendar sync: what the worker needs to push appointments to a user's connected
-- calendars and pull their other events back as busy time.
--
-- Secrets (passwords, OAuth tokens) are encrypted by the worker before they reach the database
-- and live in scheduling_private, which no API role can read. Every change of an appointment
-- queues, in its own transaction, one push job per connected calendar of either person; pulls
-- are queued every 15 minutes per connection, and on demand.

-- ============================================================================================
-- Private state
-- ============================================================================================

create table scheduling_private.calendar_secrets (
    connection_id uuid primary key references public.calendar_sync_connections (id) on delete cascade,
    -- Which of the worker's keys sealed it, so keys can be rotated without a flag day.
    key_id text not null,
    -- AES-GCM: 12-byte nonce followed by ciphertext and tag; the connection id is the associated data.
    sealed bytea not null,
    -- Where and as whom to connect (server URL, username); the secret itself is only in `sealed`.
    account jsonb not null default '{}',
    updated_at timestamptz not null default now()
);
comment on table scheduling_private.calendar_secrets is
'Encrypted password or OAuth tokens of a calendar connection; readable by the worker only.';

create table scheduling_private.calendar_sync_state (
    connection_id uuid primary key references public.calendar_sync_connections (id) on delete cascade,
    -- The provider's incremental-sync cursor: CalDAV sync-token, Google syncToken, Graph deltaLink.
    sync_token text,
    last_pull_at timestamptz
);
comment on table scheduling_private.calendar_sync_state is 'Where the last pull of a connection stopped.';

create table scheduling_private.calendar_event_links (
    appointment_id uuid not null references public.appointments (id) on delete cascade,
    connection_id uuid not null references public.calendar_sync_connections (id) on delete cascade,
    external_event_id text not null,
    etag text,
    -- The appointment's ical_sequence that was last written out: a pull that finds our event
    -- changed compares against what we wrote, not against what we meant to write.
    pushed_sequence integer not null,
    synced_at timestamptz not null default now(),
    primary key (appointment_id, connection_id)
);
comment on table scheduling_private.calendar_event_links is
'Which external event shows which appointment in which connected calendar.';
create index calendar_event_links_connection_idx on scheduling_private.calendar_event_links (connection_id);

alter table public.calendar_busy_blocks
add column connection_id uuid references public.calendar_sync_connections (id) on delete cascade;
comment on column public.calendar_busy_blocks.connection_id is
'The connected calendar this block was imported from (null: entered by hand); disconnecting removes its blocks.';
alter table public.calendar_busy_blocks add column etag text;
comment on column public.calendar_busy_blocks.etag is
'The source event''s version when imported: an unchanged event is not rewritten.';
create index calendar_busy_blocks_connection_idx on public.calendar_busy_blocks (connection_id);

alter table scheduling_private.jobs drop constraint jobs_kind_check;
alter table scheduling_private.jobs add constraint jobs_kind_check check (
    kind in (
        'reminder_email', 'reminder_sms', 'reminder_push', 'notice_email', 'notice_sms', 'notice_push',
        'video_jitsi', 'video_google_meet', 'video_zoom', 'video_teams',
        'calendar_push_google', 'calendar_push_microsoft', 'calendar_push_caldav',
        'calendar_pull_google', 'calendar_pull_microsoft', 'calendar_pull_caldav'
    )
);

-- ============================================================================================
-- Pushing appointments out
-- ============================================================================================

create function scheduling_private.tg_appointments__calendar_push() returns trigger
language plpgsql security definer
set search_path = ''
as $$
begin
    insert into scheduling_private.jobs (kind, payload)
    select
        'calendar_push_' || c.provider,
        jsonb_build_object('appointment_id', new.id, 'connection_id', c.id)
    from public.calendar_sync_connections as c
    where c.user_id in (new.clinician_id, new.patient_id)
        and c.sync_enabled
        and c.sync_direction in ('two_way', 'to_external');
    return null;
end
$$;
comment on function scheduling_private.tg_appointments__calendar_push() is
'Queues a push of the appointment to every connected calendar of its two people; SECURITY DEFINER: it writes the private job table.';

create trigger _760_calendar_push after insert or update of
status, scheduled_start, scheduled_end, title, description, location, video_call_link
on public.appointments
for each row execute function scheduling_private.tg_appointments__calendar_push();

-- A new (or re-enabled) connection gets the user's upcoming appointments and a first pull.
create function scheduling_private.tg_calendar_sync_connections__start() returns trigger
language plpgsql security definer
set search_path = ''
as $$
begin
    if not new.sync_enabled or (tg_op = 'UPDATE' and old.sync_enabled) then
        return null;
    end if;
    insert into scheduling_private.calendar_sync_state (connection_id) values (new.id)
    on conflict do nothing;
    if new.sync_direction in ('two_way', 'to_external') then
        insert into scheduling_private.jobs (kind, payload)
        select 'calendar_push_' || new.provider, jsonb_build_object('appointment_id', a.id, 'connection_id', new.id)
        from public.appointments as a
        where new.user_id in (a.clinician_id, a.patient_id)
            and a.status in ('requested', 'confirmed', 'in_progress')
            and a.scheduled_end > now();
    end if;
    perform scheduling_private.enqueue_calendar_pull(new.id, new.provider);
    return null;
end
$$;

-- ============================================================================================
-- Pulling changes in
-- ============================================================================================

-- One pull per connection at a time: a queued or running pull makes another one pointless.
create function scheduling_private.enqueue_calendar_pull(connection_id uuid, provider text) returns boolean
language plpgsql
set search_path = ''
as $$
begin
    if exists (
        select from scheduling_private.jobs as j
        where j.kind = 'calendar_pull_' || provider
            and j.status in ('queued', 'running')
            and j.payload ->> 'connection_id' = connection_id::text
    ) then
        return false;
    end if;
    insert into scheduling_private.jobs (kind, payload)
    values ('calendar_pull_' || provider, jsonb_build_object('connection_id', connection_id));
    return true;
end
$$;

create trigger _500_start_sync after insert or update of sync_enabled on public.calendar_sync_connections
for each row execute function scheduling_private.tg_calendar_sync_connections__start();

-- Run by the worker every minute: connections not pulled for 15 minutes get a pull.
create function scheduling_private.enqueue_due_calendar_pulls() returns integer
language sql
set search_path = ''
as $$
    select count(*) filter (where scheduling_private.enqueue_calendar_pull(c.id, c.provider))::integer
    from public.calendar_sync_connections as c
    left join scheduling_private.calendar_sync_state as s on s.connection_id = c.id
    where c.sync_enabled
        and c.sync_direction in ('two_way', 'from_external')
        and (s.last_pull_at is null or s.last_pull_at < now() - interval '15 minutes')
$$;

create function scheduling_private.request_calendar_sync(connection_id uuid) returns boolean
language plpgsql security definer
set search_path = ''
as $$
declare
    connection public.calendar_sync_connections;
begin
    select c.* into connection from public.calendar_sync_connections as c
    where c.id = request_calendar_sync.connection_id and c.user_id = auth.uid();
    if not found then
        raise exception 'no calendar connection % of yours', connection_id
            using errcode = 'PT404', hint = 'List yours in calendar_sync_connections.';
    end if;
    if not connection.sync_enabled then
        perform scheduling_private.raise_bad_argument(
            'this calendar connection is paused', 'Set sync_enabled to true first.');
    end if;
    return scheduling_private.enqueue_calendar_pull(connection.id, connection.provider);
end
$$;
revoke execute on all functions in schema scheduling_private from public;
grant execute on function scheduling_private.request_calendar_sync(uuid) to authenticated;

create function public.request_calendar_sync(connection_id uuid) returns boolean
language sql
begin atomic
    select scheduling_private.request_calendar_sync(request_calendar_sync.connection_id);
end;
comment on function public.request_calendar_sync(uuid) is
'Pull changes from one of your connected calendars now (true: queued; false: a pull is already queued). Errors: PT404 not yours, 22023 paused.';
revoke execute on function public.request_calendar_sync(uuid) from public, anon;
grant execute on function public.request_calendar_sync(uuid) to authenticated;
