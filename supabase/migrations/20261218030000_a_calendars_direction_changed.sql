-- A calendar's sync direction, changed by its owner, takes effect at once and leaves nothing stale.
--
-- Owners may change `sync_direction` (two_way, to_external, from_external), and nothing followed:
-- - a calendar no longer pulled (now to_external) kept its imported busy blocks for ever: they
--   were never brought up to date again, so an event deleted there went on keeping patients off
--   that time;
-- - a calendar now pushed to (was from_external) got only the visits changed afterwards: the
--   ones already booked never reached it;
-- - a calendar now pulled (was to_external) waited for the periodic pull, up to 15 minutes.
-- Now a calendar that stops being pulled loses its imported busy blocks and its place in the
-- provider's changes (a later pull lists it whole again), one that starts being pushed to gets
-- the owner's upcoming visits and blocked time, and one that starts being pulled is pulled now.
-- A calendar that stops being pushed to keeps the events already written there, as a
-- disconnected one does; its pulls leave them alone (workers/calendars/pull.py). A paused
-- connection (sync_enabled false) starts what its direction needs when it is resumed
-- (tg_calendar_sync_connections__start, which now shares the pushes it queues with this).

-- The owner's visits still to come and the time they blocked by hand, pushed to one connection.
create function scheduling_private.push_upcoming_to(connection public.calendar_sync_connections)
returns void
language sql
set search_path = ''
as $$
    insert into scheduling_private.jobs (kind, payload)
    select
        'calendar_push_' || connection.provider,
        jsonb_build_object('appointment_id', a.id, 'connection_id', connection.id)
    from public.appointments as a
    where
        connection.user_id in (a.clinician_id, a.patient_id)
        and a.status in ('requested', 'confirmed', 'in_progress')
        and a.scheduled_end > now();
    insert into scheduling_private.jobs (kind, payload)
    select
        'calendar_push_' || connection.provider,
        jsonb_build_object('blocked_time_id', b.id, 'connection_id', connection.id)
    from public.calendar_busy_blocks as b
    where
        b.user_id = connection.user_id
        and b.source = 'manual'
        and b.ends_at > now();
$$;
comment on function scheduling_private.push_upcoming_to(public.calendar_sync_connections) is
'Queues a push of the connection owner''s upcoming visits and manual blocks to that connection.';

-- As in 20261208020000, with the pushes in push_upcoming_to.
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
        perform scheduling_private.push_upcoming_to(new);
    end if;
    perform scheduling_private.enqueue_calendar_pull(new.id, new.provider);
    return null;
end
$$;

create function scheduling_private.tg_calendar_sync_connections__direction_changed() returns trigger
language plpgsql security definer
set search_path = ''
as $$
declare
    pulled boolean := old.sync_direction in ('two_way', 'from_external');
    pulls boolean := new.sync_direction in ('two_way', 'from_external');
    pushed boolean := old.sync_direction in ('two_way', 'to_external');
    pushes boolean := new.sync_direction in ('two_way', 'to_external');
begin
    if pulled and not pulls then
        delete from public.calendar_busy_blocks as b
        where b.connection_id = new.id and b.source <> 'manual';
        update scheduling_private.calendar_sync_state as s
        set sync_token = null, imported_until = null
        where s.connection_id = new.id;
    end if;
    -- A connection paused before, or now, is started by tg_calendar_sync_connections__start
    -- when it is resumed.
    if not (old.sync_enabled and new.sync_enabled) then
        return null;
    end if;
    if pushes and not pushed then
        perform scheduling_private.push_upcoming_to(new);
    end if;
    if pulls and not pulled then
        perform scheduling_private.enqueue_calendar_pull(new.id, new.provider);
    end if;
    return null;
end
$$;
comment on function scheduling_private.tg_calendar_sync_connections__direction_changed() is
'Starts what a new sync direction needs and drops the busy blocks of a calendar no longer pulled. SECURITY DEFINER: the owner''s update runs it, and it writes private tables.';

create trigger _510_direction_changed after update of sync_direction on public.calendar_sync_connections
for each row when (old.sync_direction is distinct from new.sync_direction)
execute function scheduling_private.tg_calendar_sync_connections__direction_changed();

revoke execute on all functions in schema scheduling_private from public;
