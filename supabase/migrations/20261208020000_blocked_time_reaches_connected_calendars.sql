-- Time a clinician blocks by hand goes to their connected calendars.
--
-- A manual block (20261207010000) kept slots free here and showed in the clinician's ICS feed,
-- but their Google, Outlook or CalDAV calendar did not show it, so anyone booking them there saw
-- them free. Each insert, change or removal of a manual block now queues a push to every
-- enabled connection of its clinician that sends events out (two_way, to_external), as an
-- appointment's change does; a new connection gets the blocks still to come. The worker keeps
-- which external event shows which block in blocked_time_links, and takes an edit or a
-- deletion made there back into the block (workers/calendars/blocked_time.py).

create table scheduling_private.blocked_time_links (
    -- No foreign key to the block: a removed block's link is what its event is deleted by.
    block_id uuid not null,
    connection_id uuid not null references public.calendar_sync_connections (id) on delete cascade,
    external_event_id text not null,
    etag text,
    synced_at timestamptz not null default now(),
    primary key (block_id, connection_id)
);
comment on table scheduling_private.blocked_time_links is
'Which external event shows which manual busy block in which connected calendar.';
create index blocked_time_links_by_event on scheduling_private.blocked_time_links (
    connection_id, external_event_id
);

create function scheduling_private.tg_calendar_busy_blocks__calendar_push() returns trigger
language plpgsql security definer
set search_path = ''
as $$
declare
    block public.calendar_busy_blocks := case when tg_op = 'DELETE' then old else new end;
    connection record;
begin
    -- A loop, not INSERT ... SELECT: no connection, no insert (the job table's statement trigger).
    for connection in
        select c.id, c.provider
        from public.calendar_sync_connections as c
        where c.user_id = block.user_id
            and c.sync_enabled
            and c.sync_direction in ('two_way', 'to_external')
    loop
        insert into scheduling_private.jobs (kind, payload)
        values (
            'calendar_push_' || connection.provider,
            jsonb_build_object('blocked_time_id', block.id, 'connection_id', connection.id)
        );
    end loop;
    return null;
end
$$;
comment on function scheduling_private.tg_calendar_busy_blocks__calendar_push() is
'Queues a push of a manual block to its clinician''s connected calendars; SECURITY DEFINER: it writes the private job table.';

create trigger _760_calendar_push after insert or update of starts_at, ends_at, summary
on public.calendar_busy_blocks
for each row when (new.source = 'manual')
execute function scheduling_private.tg_calendar_busy_blocks__calendar_push();

create trigger _761_calendar_push_removal after delete on public.calendar_busy_blocks
for each row when (old.source = 'manual')
execute function scheduling_private.tg_calendar_busy_blocks__calendar_push();

-- A new (or re-enabled) connection gets the user's upcoming appointments and manual blocks, and
-- a first pull. As in 20261126020000, with the blocks added.
create or replace function scheduling_private.tg_calendar_sync_connections__start() returns trigger
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
        insert into scheduling_private.jobs (kind, payload)
        select
            'calendar_push_' || new.provider,
            jsonb_build_object('blocked_time_id', b.id, 'connection_id', new.id)
        from public.calendar_busy_blocks as b
        where b.user_id = new.user_id
            and b.source = 'manual'
            and b.ends_at > now();
    end if;
    perform scheduling_private.enqueue_calendar_pull(new.id, new.provider);
    return null;
end
$$;
