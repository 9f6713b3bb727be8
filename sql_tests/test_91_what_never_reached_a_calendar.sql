-- What a calendar never received is queued for it at a complete listing (20261231320000): the
-- owner's upcoming visits and manual blocks that it has no event of; not those it shows, nor
-- past, cancelled or imported ones, nor anyone else's.
begin;
select plan(3);

do $$
declare
    clinician uuid := tests.create_clinician('clin@example.com');
    other uuid := tests.create_clinician('other@example.com');
    patient uuid := tests.create_user('pat@example.com');
    connection uuid;
    shown uuid;
begin
    perform tests.connect(clinician, patient);
    perform tests.connect(other, patient);
    insert into public.calendar_sync_connections (user_id, provider, calendar_id, sync_direction)
    values (clinician, 'google', 'primary', 'two_way')
    returning id into connection;
    shown := tests.add_appointment(clinician, patient, tests.days_ahead(3, '09:00'), 30, 'confirmed');
    perform tests.add_appointment(clinician, patient, tests.days_ahead(4, '09:00'), 30, 'requested');
    perform tests.add_appointment(clinician, patient, tests.days_ahead(5, '09:00'), 30, 'confirmed');
    update public.appointments set status = 'cancelled', cancellation_reason = 'Unwell'
    where scheduled_start = tests.days_ahead(5, '09:00');
    perform tests.add_appointment(clinician, patient, now() - interval '2 days', 30, 'confirmed');
    perform tests.add_appointment(other, patient, tests.days_ahead(6, '09:00'), 30, 'confirmed');
    insert into public.calendar_busy_blocks (user_id, source, external_event_id, starts_at, ends_at, summary)
    values
        (clinician, 'manual', null, tests.days_ahead(7, '12:00'), tests.days_ahead(7, '13:00'), 'Team meeting'),
        (clinician, 'manual', null, now() - interval '3 days', now() - interval '2 days', 'Away'),
        (clinician, 'google', 'evt-personal', tests.days_ahead(8, '12:00'), tests.days_ahead(8, '13:00'), 'Dentist');
    insert into scheduling_private.calendar_event_links (appointment_id, connection_id, external_event_id, pushed_sequence)
    values (shown, connection, 'evt-shown', 0);
    delete from scheduling_private.jobs;
    -- A visit booked just now, whose push waits in the queue.
    perform tests.add_appointment(clinician, patient, tests.days_ahead(9, '09:00'), 30, 'confirmed');
    delete from scheduling_private.jobs where kind <> 'calendar_push_google';
end
$$;

select is(
    scheduling_private.push_what_never_reached(
        (select id from public.calendar_sync_connections where provider = 'google')
    ),
    2,
    'two pushes are queued'
);
select is(
    (
        select array_agg(coalesce(a.status, 'block ' || b.summary) order by coalesce(a.status, 'block ' || b.summary))
        from scheduling_private.jobs as j
        left join public.appointments as a on a.id = (j.payload ->> 'appointment_id')::uuid
        left join public.calendar_busy_blocks as b on b.id = (j.payload ->> 'blocked_time_id')::uuid
        where j.kind = 'calendar_push_google'
    ),
    '{"block Team meeting",confirmed,requested}',
    'the request it has no event of and the hour blocked by hand, beside the push that waited: not the visit it shows or the one whose push waits, a cancelled or past one, another clinician''s, past blocked time or an imported event'
);
select is(
    (select count(*)::int from scheduling_private.jobs where kind <> 'calendar_push_google'), 0,
    'nothing else is queued'
);
select * from finish();
rollback;
