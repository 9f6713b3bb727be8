-- A calendar resumed (or written to again) loses the visits cancelled and the time unblocked
-- while nothing was written to it.
--
-- While a connection is paused (by its owner, or because the provider refused its credentials
-- until they connect again) or not written to (`from_external`), the pushes queued for it end
-- `skipped`. When it is resumed or written to again, push_upcoming_to (20261218030000) queued
-- the owner's upcoming visits and blocked time, so changes to those reached the calendar; but a
-- visit cancelled meanwhile, or blocked time removed meanwhile, is neither, and its event stayed
-- in the calendar for good (a clinician whose Google sign-in lapsed for a week would have kept
-- that week's cancelled visits there after connecting again). Now the same queue also
-- holds a push of every cancelled visit and every removed block the calendar still shows (its
-- link is kept until the event is deleted there), which deletes the event.

-- As in 20261218030000, with the removals added.
create or replace function scheduling_private.push_upcoming_to(connection public.calendar_sync_connections)
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
        jsonb_build_object('appointment_id', a.id, 'connection_id', connection.id)
    from scheduling_private.calendar_event_links as l
    inner join public.appointments as a on l.appointment_id = a.id
    where
        l.connection_id = connection.id
        and a.status = 'cancelled';
    insert into scheduling_private.jobs (kind, payload)
    select
        'calendar_push_' || connection.provider,
        jsonb_build_object('blocked_time_id', b.id, 'connection_id', connection.id)
    from public.calendar_busy_blocks as b
    where
        b.user_id = connection.user_id
        and b.source = 'manual'
        and b.ends_at > now();
    insert into scheduling_private.jobs (kind, payload)
    select
        'calendar_push_' || connection.provider,
        jsonb_build_object('blocked_time_id', l.block_id, 'connection_id', connection.id)
    from scheduling_private.blocked_time_links as l
    where
        l.connection_id = connection.id
        and not exists (
            select from public.calendar_busy_blocks as b
            where b.id = l.block_id and b.source = 'manual'
        );
$$;
comment on function scheduling_private.push_upcoming_to(public.calendar_sync_connections) is
'Queues a push of the connection owner''s upcoming visits and manual blocks to that connection, and of the cancelled visits and removed blocks whose events it still shows (each push deletes one).';

revoke execute on all functions in schema scheduling_private from public;
