-- The waitlist: freed time goes to the best-matching entry; declining passes it on.
begin;
select plan(20);

do $$
declare
    clinician uuid := tests.create_clinician('clin@example.com');
    email text;
begin
    perform tests.open_every_day(clinician);
    foreach email in array array['x', 'a', 'b', 'c', 'd', 'e', 'f'] loop
        perform tests.connect(clinician, tests.create_user(email || '@example.com'));
    end loop;
    perform tests.create_user('stranger@example.com');
    perform tests.add_appointment(clinician, tests.get_user_id('x@example.com'), tests.days_ahead(4, '10:00'));
    perform tests.add_appointment(clinician, tests.get_user_id('x@example.com'), tests.days_ahead(5, '10:00'));

    insert into public.appointment_waitlist (
        clinician_id, patient_id, appointment_type, preferred_times, preferred_dates, priority, expires_at, created_at
    ) values
    -- fits, waiting longest, lowest priority
    (clinician, tests.get_user_id('a@example.com'), 'follow_up', '{morning}', null, 0, null, now() - interval '9 days'),
    -- highest priority, but wants afternoons
    (clinician, tests.get_user_id('b@example.com'), 'follow_up', '{afternoon}', null, 5, null, now() - interval '8 days'),
    -- fits any time: the best match
    (clinician, tests.get_user_id('c@example.com'), 'follow_up', null, null, 1, null, now() - interval '1 day'),
    -- another type
    (clinician, tests.get_user_id('d@example.com'), 'therapy_session', null, null, 9, null, now() - interval '7 days'),
    -- expired
    (clinician, tests.get_user_id('e@example.com'), 'follow_up', null, null, 10, now() - interval '1 hour', now() - interval '6 days'),
    -- other dates only
    (clinician, tests.get_user_id('f@example.com'), 'follow_up', null, array[current_date + 30], 8, null, now() - interval '5 days');
end
$$;

create function pg_temp.pending_offer_to(email text) returns public.appointment_time_slots
language sql as $$
    select s.* from public.appointment_time_slots as s
    where s.offered_to = tests.get_user_id(email) and s.status = 'pending'
$$;

-- ----------------------------------------------------------------------------- a cancellation
select lives_ok(
    format(
        'select tests.call_as(%L, %L)', 'x@example.com',
        format(
            'select public.cancel_appointment(%L, %L)',
            (select id from public.appointments where scheduled_start = tests.days_ahead(4, '10:00')), 'Travelling'
        )
    ),
    'the patient cancels their appointment'
);
select is(
    (select count(*)::int from public.appointment_time_slots where waitlist_entry_id is not null), 1,
    'the freed time is offered to exactly one waitlist entry'
);
select is(
    (
        select (o.slot_type, o.offered_by = tests.get_user_id('clin@example.com'), o.time_options -> 0 ->> 'duration')::text
        from pg_temp.pending_offer_to('c@example.com') as o
    ),
    ('offer', true, '30')::text,
    'the best match (fits, highest priority of those that fit) gets an ordinary offer from the clinician'
);
select is(
    (select (o.time_options -> 0 ->> 'start')::timestamptz from pg_temp.pending_offer_to('c@example.com') as o),
    tests.days_ahead(4, '10:00'), 'the offer is for the freed time'
);
select is(
    (select o.expires_at from pg_temp.pending_offer_to('c@example.com') as o),
    least(now() + interval '2 hours', tests.days_ahead(4, '10:00')),
    'it expires after the clinician''s waitlist offer time (default 2 hours), before the slot starts'
);
select is(
    (select status from public.appointment_waitlist where patient_id = tests.get_user_id('c@example.com')), 'offered',
    'the entry is marked offered'
);

-- ----------------------------------------------------------------------------- decline passes it on
select lives_ok(
    format(
        'select tests.call_as(%L, %L)', 'c@example.com',
        format('select public.respond_to_offer(%L, %L)', (select id from pg_temp.pending_offer_to('c@example.com')), 'decline')
    ),
    'the best match declines'
);
select is(
    (select (o.time_options -> 0 ->> 'start')::timestamptz from pg_temp.pending_offer_to('a@example.com') as o),
    tests.days_ahead(4, '10:00'), 'the same time goes to the next match'
);
select is(
    (select status from public.appointment_waitlist where patient_id = tests.get_user_id('c@example.com')), 'active',
    'the declining entry waits for other time again'
);
select is(
    (
        select count(*)::int
        from public.appointment_time_slots where
            waitlist_entry_id is not null
            and offered_to in (select u.id from auth.users as u where u.email in ('b@example.com', 'd@example.com', 'e@example.com', 'f@example.com', 'x@example.com'))
    ),
    0, 'wrong time of day, wrong type, expired, wrong dates and the cancelling patient are never offered it'
);

-- ----------------------------------------------------------------------------- accept fulfils
select lives_ok(
    format(
        'select tests.call_as(%L, %L)', 'a@example.com',
        format('select public.respond_to_offer(%L, %L, 0)', (select id from pg_temp.pending_offer_to('a@example.com')), 'accept')
    ),
    'the next match accepts'
);
select is(
    (select status::text from public.appointments where patient_id = tests.get_user_id('a@example.com')), 'confirmed',
    'and has the appointment'
);
select is(
    (select status from public.appointment_waitlist where patient_id = tests.get_user_id('a@example.com')), 'fulfilled',
    'their waitlist entry is fulfilled'
);

-- ----------------------------------------------------------------------------- rescheduled away
select lives_ok(
    format(
        'select tests.call_as(%L, %L)', 'clin@example.com',
        format(
            'select public.reschedule_appointment(%L, %L)',
            (select id from public.appointments where scheduled_start = tests.days_ahead(5, '10:00')),
            tests.days_ahead(5, '15:00')
        )
    ),
    'the clinician moves an appointment away'
);
select is(
    (select (o.time_options -> 0 ->> 'start')::timestamptz from pg_temp.pending_offer_to('c@example.com') as o),
    tests.days_ahead(5, '10:00'), 'the time it held is offered to the best match'
);

-- ----------------------------------------------------------------------------- completion frees nothing
select lives_ok(
    $$update public.appointments set status = 'in_progress' where scheduled_start = tests.days_ahead(5, '15:00');
      update public.appointments set status = 'completed' where scheduled_start = tests.days_ahead(5, '15:00')$$,
    'a visit completes'
);
select is(
    (
        select count(*)::int from public.appointment_time_slots
        where (time_options -> 0 ->> 'start')::timestamptz = tests.days_ahead(5, '15:00')
    ),
    0, 'completing a visit offers nothing to the waitlist'
);

-- ----------------------------------------------------------------------------- entries past their time
select is(scheduling_private.expire_waitlist_entries(), 1, 'the worker expires the one entry past its time');
select is(
    (
        select array_agg(split_part(u.email, '@', 1) || ' ' || w.status order by u.email)
        from public.appointment_waitlist as w inner join auth.users as u on w.patient_id = u.id
    ),
    array['a fulfilled', 'b active', 'c offered', 'd active', 'e expired', 'f active'],
    'the expired entry is marked so; the others keep their status'
);
select is(scheduling_private.expire_waitlist_entries(), 0, 'a second round finds nothing');

select * from finish();
rollback;
