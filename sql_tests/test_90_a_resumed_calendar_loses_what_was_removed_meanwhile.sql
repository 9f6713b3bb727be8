-- A calendar resumed, or written to again, is sent the removal of what was cancelled or
-- unblocked while nothing was written to it (20261231310000): each visit cancelled and each
-- block removed whose event it still shows, beside the upcoming visits and blocks as before.
begin;
select plan(6);

do $$
declare
    clinician uuid := tests.create_clinician('clin@example.com');
    patient uuid := tests.create_user('pat@example.com');
    connection uuid;
    cancelled_shown uuid;
    cancelled_unshown uuid;
    upcoming uuid;
    block_shown uuid;
    block_kept uuid;
    elsewhere uuid;
begin
    perform tests.connect(clinician, patient);
    insert into public.calendar_sync_connections (user_id, provider, calendar_id, sync_direction)
    values (clinician, 'google', 'primary', 'two_way')
    returning id into connection;
    upcoming := tests.add_appointment(clinician, patient, tests.days_ahead(3, '09:00'), 30, 'confirmed');
    cancelled_shown := tests.add_appointment(clinician, patient, tests.days_ahead(4, '09:00'), 30, 'confirmed');
    cancelled_unshown := tests.add_appointment(clinician, patient, tests.days_ahead(5, '09:00'), 30, 'confirmed');
    insert into public.calendar_busy_blocks (user_id, starts_at, ends_at, summary)
    values (clinician, tests.days_ahead(6, '12:00'), tests.days_ahead(6, '13:00'), 'Team meeting')
    returning id into block_shown;
    insert into public.calendar_busy_blocks (user_id, starts_at, ends_at, summary)
    values (clinician, tests.days_ahead(7, '12:00'), tests.days_ahead(7, '13:00'), 'Staff meeting')
    returning id into block_kept;
    -- What the calendar shows: two visits and two blocks (pushed before the pause), and a block
    -- whose removal it never heard of.
    insert into scheduling_private.calendar_event_links (appointment_id, connection_id, external_event_id, pushed_sequence)
    values (upcoming, connection, 'evt-upcoming', 0), (cancelled_shown, connection, 'evt-cancelled', 0);
    insert into scheduling_private.blocked_time_links (block_id, connection_id, external_event_id)
    values (block_shown, connection, 'evt-block'), (block_kept, connection, 'evt-block-kept'),
        (gen_random_uuid(), connection, 'evt-block-removed-long-ago');
    -- Another calendar of theirs shows the third visit and a removed block: not this one's.
    insert into public.calendar_sync_connections (user_id, provider, calendar_id, sync_direction, sync_enabled)
    values (clinician, 'caldav', 'work', 'two_way', false)
    returning id into elsewhere;
    insert into scheduling_private.calendar_event_links (appointment_id, connection_id, external_event_id, pushed_sequence)
    values (cancelled_unshown, elsewhere, 'evt-elsewhere', 0);
    insert into scheduling_private.blocked_time_links (block_id, connection_id, external_event_id)
    values (gen_random_uuid(), elsewhere, 'evt-block-elsewhere');
    update public.calendar_sync_connections set sync_enabled = false where id = connection;
    -- While paused: a visit shown there and one it never showed are cancelled, a block removed.
    update public.appointments set status = 'cancelled', cancellation_reason = 'Unwell'
    where id in (cancelled_shown, cancelled_unshown);
    delete from public.calendar_busy_blocks where id = block_shown;
    delete from scheduling_private.jobs;
end
$$;

-- The pushes queued for the connection, by what they name, then cleared.
create function pg_temp.pushes() returns text[]
language plpgsql as $$
declare
    pushes text[];
begin
    select coalesce(array_agg(label order by label), '{}') into pushes
    from (
        select coalesce('visit ' || a.status, 'block ' || l.external_event_id) as label
        from scheduling_private.jobs as j
        left join public.appointments as a on a.id = (j.payload ->> 'appointment_id')::uuid
        left join scheduling_private.blocked_time_links as l on l.block_id = (j.payload ->> 'blocked_time_id')::uuid
        where j.kind = 'calendar_push_google'
    ) as queued;
    delete from scheduling_private.jobs;
    return pushes;
end
$$;

select is(pg_temp.pushes(), '{}', 'nothing is queued for the paused calendar');

select lives_ok(
    $$select tests.call_as('clin@example.com', 'update public.calendar_sync_connections set sync_enabled = true where provider = ''google''')$$,
    'the clinician resumes it'
);
select is(
    pg_temp.pushes(),
    '{"block evt-block","block evt-block-kept","block evt-block-removed-long-ago","visit cancelled","visit confirmed"}',
    'it is sent the upcoming visit and block once each, and the removal of the visit cancelled and the blocks removed that it still shows; not the visit it never showed'
);

-- The same when the calendar is written to again after a spell of only being read.
select tests.call_as('clin@example.com', 'update public.calendar_sync_connections set sync_direction = ''from_external'' where provider = ''google''');
select is(pg_temp.pushes(), '{}', 'a calendar no longer written to is sent nothing');
select tests.call_as('clin@example.com', 'update public.calendar_sync_connections set sync_direction = ''two_way'' where provider = ''google''');
select is(
    pg_temp.pushes(),
    '{"block evt-block","block evt-block-kept","block evt-block-removed-long-ago","visit cancelled","visit confirmed"}',
    'written to again, it is sent the same'
);

-- Once an event is deleted there, its link goes, and a later resume sends nothing for it.
do $$
begin
    delete from scheduling_private.calendar_event_links where external_event_id = 'evt-cancelled';
    delete from scheduling_private.blocked_time_links where external_event_id like 'evt-block-%ago' or external_event_id = 'evt-block';
    update public.calendar_sync_connections set sync_enabled = false where provider = 'google';
    update public.calendar_sync_connections set sync_enabled = true where provider = 'google';
end
$$;
select is(
    pg_temp.pushes(), '{"block evt-block-kept","visit confirmed"}',
    'with their events gone, only the upcoming visit and block are sent'
);
select * from finish();
rollback;
