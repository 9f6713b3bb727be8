-- A visit or blocked time whose push to a calendar failed for good is sent again at the
-- calendar's next complete listing.
--
-- A push is retried with backoff and then fails for good (8 attempts, about two hours): a
-- calendar that could not be written for longer (the provider down, the server refusing) never
-- showed a visit booked or an hour blocked meanwhile, unless it changed again later. A complete
-- listing (about daily, workers/calendars/pull.py) puts back our events deleted there and
-- deletes those of cancelled visits; it now also calls this function, which queues a push of
-- each upcoming visit and manual block of the owner that the calendar has no event of and no
-- push waits for (a push is written by the visit's or block's own UID, so one that crossed a
-- push under way still makes one event).

create function scheduling_private.push_what_never_reached(connection_id uuid)
returns integer
language sql
set search_path = ''
as $$
    with connection as (
        select c.id, c.user_id, c.provider
        from public.calendar_sync_connections as c
        where c.id = push_what_never_reached.connection_id
    ),

    -- Pushes still to come (queued, retrying or under way) are left to arrive: at a new
    -- calendar's first listing, every upcoming visit's push is still waiting.
    waiting as (
        select j.payload
        from connection as c
        inner join scheduling_private.jobs as j on j.kind = 'calendar_push_' || c.provider
        where
            j.status in ('queued', 'running')
            and j.payload ->> 'connection_id' = c.id::text
    ),

    missing as (
        select jsonb_build_object('appointment_id', a.id, 'connection_id', c.id) as payload, c.provider
        from connection as c
        inner join public.appointments as a on c.user_id in (a.clinician_id, a.patient_id)
        where
            a.status in ('requested', 'confirmed', 'in_progress')
            and a.scheduled_end > now()
            and not exists (
                select from scheduling_private.calendar_event_links as l
                where l.appointment_id = a.id and l.connection_id = c.id
            )
            and not exists (select from waiting as w where w.payload ->> 'appointment_id' = a.id::text)
        union all
        select jsonb_build_object('blocked_time_id', b.id, 'connection_id', c.id), c.provider
        from connection as c
        inner join public.calendar_busy_blocks as b on b.user_id = c.user_id
        where
            b.source = 'manual'
            and b.ends_at > now()
            and not exists (
                select from scheduling_private.blocked_time_links as l
                where l.block_id = b.id and l.connection_id = c.id
            )
            and not exists (select from waiting as w where w.payload ->> 'blocked_time_id' = b.id::text)
    ),

    queued as (
        insert into scheduling_private.jobs (kind, payload)
        select 'calendar_push_' || m.provider, m.payload from missing as m
        returning 1
    )

    select count(*)::integer from queued;
$$;
comment on function scheduling_private.push_what_never_reached(uuid) is
'Queues a push of each upcoming visit and manual block of the connection''s owner that its calendar has no event of and no push waits for (its push failed for good); the pull calls it at a complete listing. Returns how many.';

revoke execute on all functions in schema scheduling_private from public;
grant execute on function scheduling_private.push_what_never_reached(uuid) to service_role;
