-- Free-slot search: weekly hours in the clinician's zone (DST days included), overrides,
-- buffers, daily limits, notice, horizon, busy blocks, type and location filters.
-- The engine takes the current instant as an argument, so these tests pass fixed instants.
begin;
select plan(34);

create function pg_temp.slot_starts(
    clinician_email text, day_start timestamptz, day_end timestamptz,
    appointment_type text default null, location_type text default null,
    duration_minutes integer default null, at timestamptz default null
) returns text
language sql as $$
    select coalesce(string_agg(to_char(s.slot_start at time zone 'UTC', 'HH24:MI'), ' ' order by s.slot_start), '')
    from scheduling_private.slot_candidates(
        tests.get_user_id(clinician_email), day_start, day_end, appointment_type, location_type,
        duration_minutes, coalesce(at, day_start - interval '1 day')
    ) as s
$$;

do $$
declare
    new_york uuid := tests.create_clinician('ny@example.com', 'America/New_York');
    london uuid := tests.create_clinician('london@example.com', 'Europe/London');
    utc uuid := tests.create_clinician('utc@example.com', buffer_minutes => 15);
    limited uuid := tests.create_clinician('limited@example.com');
    typed uuid := tests.create_clinician('typed@example.com');
    patient uuid := tests.create_user('patient@example.com');
begin
    -- Sundays 09:00-17:00 local, hourly; New York also 00:00-04:00 across the spring change.
    insert into public.clinician_availability (clinician_id, day_of_week, start_time, end_time, slot_duration_minutes)
    values
    (new_york, 0, '09:00', '17:00', 60),
    (new_york, 0, '00:00', '04:00', 60),
    (london, 0, '09:00', '17:00', 60);

    perform tests.open_every_day(utc, '09:00', '12:00', 30);
    insert into public.clinician_date_overrides (clinician_id, override_date, is_available, reason)
    values (utc, '2030-01-08', false, 'Holiday');
    insert into public.clinician_date_overrides (clinician_id, override_date, is_available, start_time, end_time)
    values (utc, '2030-01-09', true, '13:00', '14:00');
    perform tests.add_appointment(utc, patient, '2030-01-10 10:00Z', 30);
    insert into public.calendar_busy_blocks (user_id, starts_at, ends_at)
    values (utc, '2030-01-11 09:00Z', '2030-01-11 10:00Z'), (utc, '2030-01-11 11:40Z', '2030-01-11 12:00Z');

    insert into public.clinician_availability (
        clinician_id, day_of_week, start_time, end_time, slot_duration_minutes, max_appointments_per_day
    )
    select limited, d, '09:00', '10:15', 30, 2 from generate_series(0, 6) as d;
    perform tests.add_appointment(limited, patient, '2030-01-14 09:00Z', 30);
    perform tests.add_appointment(limited, tests.create_user('other@example.com'), '2030-01-14 09:30Z', 30);
    perform tests.add_appointment(limited, patient, '2030-01-15 09:00Z', 30, 'cancelled');

    insert into public.clinician_availability (
        clinician_id, day_of_week, start_time, end_time, slot_duration_minutes, appointment_types, location_type
    )
    select typed, d, '09:00', '10:00', 30, '{therapy_session,assessment}', 'video' from generate_series(0, 6) as d;
end
$$;

-- ----------------------------------------------------------------------------- DST
select is(
    pg_temp.slot_starts('ny@example.com', '2027-03-07 12:00Z', '2027-03-08 00:00Z'),
    '14:00 15:00 16:00 17:00 18:00 19:00 20:00 21:00',
    'New York, Sunday before the change: 09:00-17:00 EST is 14:00-22:00 UTC'
);
select is(
    pg_temp.slot_starts('ny@example.com', '2027-03-14 12:00Z', '2027-03-15 00:00Z'),
    '13:00 14:00 15:00 16:00 17:00 18:00 19:00 20:00',
    'New York, 2027-03-14 (clocks go forward): 09:00-17:00 EDT is 13:00-21:00 UTC'
);
select is(
    pg_temp.slot_starts('ny@example.com', '2027-03-14 04:00Z', '2027-03-14 12:00Z'),
    '05:00 06:00 07:00',
    'New York, 2027-03-14: the 00:00-04:00 window has only three real hours'
);
select is(
    pg_temp.slot_starts('ny@example.com', '2027-11-07 12:00Z', '2027-11-08 00:00Z'),
    '14:00 15:00 16:00 17:00 18:00 19:00 20:00 21:00',
    'New York, 2027-11-07 (clocks go back): 09:00-17:00 EST is 14:00-22:00 UTC'
);
select is(
    pg_temp.slot_starts('ny@example.com', '2027-11-07 03:00Z', '2027-11-07 12:00Z'),
    '04:00 05:00 06:00 07:00 08:00',
    'New York, 2027-11-07: the 00:00-04:00 window has five real hours'
);
select is(
    pg_temp.slot_starts('london@example.com', '2027-03-21 00:00Z', '2027-03-22 00:00Z'),
    '09:00 10:00 11:00 12:00 13:00 14:00 15:00 16:00',
    'London, Sunday before the change: 09:00-17:00 GMT is 09:00-17:00 UTC'
);
select is(
    pg_temp.slot_starts('london@example.com', '2027-03-28 00:00Z', '2027-03-29 00:00Z'),
    '08:00 09:00 10:00 11:00 12:00 13:00 14:00 15:00',
    'London, 2027-03-28 (clocks go forward): 09:00-17:00 BST is 08:00-16:00 UTC'
);
select is(
    (
        select count(*)::int from scheduling_private.slot_candidates(
            tests.get_user_id('ny@example.com'), '2027-03-14 13:00Z', '2027-03-14 14:00Z', at => '2027-01-01'
        )
    ),
    1,
    'the range bounds are respected: a slot must fit inside the range'
);

-- ----------------------------------------------------------------------------- overrides, fit, duration
select is(
    pg_temp.slot_starts('utc@example.com', '2030-01-07 00:00Z', '2030-01-08 00:00Z'),
    '09:00 09:30 10:00 10:30 11:00 11:30',
    'an ordinary day: 09:00-12:00 in 30-minute slots'
);
select is(
    pg_temp.slot_starts('utc@example.com', '2030-01-08 00:00Z', '2030-01-09 00:00Z'),
    '', 'a closed override removes the whole day'
);
select is(
    pg_temp.slot_starts('utc@example.com', '2030-01-09 00:00Z', '2030-01-10 00:00Z'),
    '13:00 13:30', 'an override with hours replaces the weekly hours'
);
select is(
    pg_temp.slot_starts('utc@example.com', '2030-01-07 00:00Z', '2030-01-08 00:00Z', duration_minutes => 60),
    '09:00 09:30 10:00 10:30 11:00',
    'longer visits step by the slot length and must end inside the window'
);
select is(
    pg_temp.slot_starts('limited@example.com', '2030-01-16 00:00Z', '2030-01-17 00:00Z'),
    '09:00 09:30', 'a slot that would end after the window is not offered'
);

-- ----------------------------------------------------------------------------- what blocks
select is(
    pg_temp.slot_starts('utc@example.com', '2030-01-10 00:00Z', '2030-01-11 00:00Z'),
    '09:00 11:00 11:30',
    'an appointment at 10:00 and the 15-minute buffers remove 09:30, 10:00 and 10:30'
);
select is(
    pg_temp.slot_starts('utc@example.com', '2030-01-11 00:00Z', '2030-01-12 00:00Z'),
    '10:00 10:30',
    'busy blocks from outside calendars remove the slots they overlap (11:00 because of its 15-minute buffer)'
);
select is(
    pg_temp.slot_starts('limited@example.com', '2030-01-14 00:00Z', '2030-01-15 00:00Z'),
    '', 'a day that already has its maximum of appointments offers nothing'
);
select is(
    pg_temp.slot_starts('limited@example.com', '2030-01-15 00:00Z', '2030-01-16 00:00Z'),
    '09:00 09:30', 'cancelled appointments neither block nor count towards the maximum'
);
select is(
    pg_temp.slot_starts('utc@example.com', '2030-01-07 00:00Z', '2030-01-08 00:00Z', at => '2030-01-07 08:50Z'),
    '09:00 09:30 10:00 10:30 11:00 11:30', 'with no minimum notice, a slot ten minutes away is offered'
);
update public.clinicians set min_notice_minutes = 60 where clinician_id = tests.get_user_id('utc@example.com');
select is(
    pg_temp.slot_starts('utc@example.com', '2030-01-07 00:00Z', '2030-01-08 00:00Z', at => '2030-01-07 08:50Z'),
    '10:00 10:30 11:00 11:30', 'slots sooner than the minimum notice are not offered'
);
update public.clinicians set booking_horizon_days = 3 where clinician_id = tests.get_user_id('utc@example.com');
select is(
    pg_temp.slot_starts('utc@example.com', '2030-01-07 00:00Z', '2030-01-12 00:00Z', at => '2030-01-04 09:00Z'),
    '09:00',
    'slots beyond the booking horizon are not offered (3 days from 01-04 09:00 ends on 01-07 09:00)'
);

-- ----------------------------------------------------------------------------- filters
select is(
    pg_temp.slot_starts('typed@example.com', '2030-01-07 00:00Z', '2030-01-08 00:00Z', 'follow_up'),
    '', 'a window limited to other types offers nothing for follow_up'
);
select is(
    pg_temp.slot_starts('typed@example.com', '2030-01-07 00:00Z', '2030-01-08 00:00Z', 'therapy_session'),
    '09:00 09:30', 'the window offers its own types'
);
select is(
    pg_temp.slot_starts('typed@example.com', '2030-01-07 00:00Z', '2030-01-08 00:00Z', location_type => 'in_person'),
    '', 'a video-only window offers nothing in person'
);
select is(
    (
        select array_agg(distinct s.offered_location_type) from scheduling_private.slot_candidates(
            tests.get_user_id('typed@example.com'), '2030-01-07 00:00Z', '2030-01-08 00:00Z', at => '2030-01-01'
        ) as s
    ),
    '{video}'::text[], 'slots carry the location of their window'
);

-- ----------------------------------------------------------------------------- the RPC
select tests.authenticate_as(tests.get_user_id('utc@example.com'));
select throws_ok(
    $$select * from public.get_available_slots(auth.uid(), now(), now() + interval '63 days')$$,
    '22023', 'a slot search covers at most 62 days', 'a range longer than 62 days is refused'
);
select throws_ok(
    $$select * from public.get_available_slots(auth.uid(), now(), now() - interval '1 day')$$,
    '22023', 'range_end must be after range_start', 'a range that ends before it starts is refused'
);
select throws_ok(
    $$select * from public.get_available_slots(auth.uid(), null, now() + interval '1 day')$$,
    '22023', 'range_start is required', 'a missing start is named'
);
select throws_ok(
    $$select * from public.get_available_slots(auth.uid(), now(), null)$$,
    '22023', 'range_end is required', 'and a missing end'
);
select throws_ok(
    $$select * from public.get_available_series_slots(auth.uid(), null, now() + interval '1 day', 4)$$,
    '22023', 'range_start is required', 'the series search says the same'
);
select throws_ok(
    $$select * from public.get_available_slots(auth.uid(), now(), now() + interval '1 day', 'massage')$$,
    '23514', null, 'an unknown appointment type is refused'
);
select throws_ok(
    $$select * from public.get_available_slots(gen_random_uuid(), now(), now() + interval '1 day')$$,
    'PT404', null, 'an unknown clinician is a 404'
);
select tests.clear_authentication();

select tests.authenticate_as(tests.get_user_id('patient@example.com'));
select throws_ok(
    $$select * from public.get_available_slots(tests.get_user_id('utc@example.com'), now(), now() + interval '7 days')$$,
    '42501', 'you are not connected to this clinician', 'a patient who is not connected gets 42501'
);
select tests.clear_authentication();
do $$ begin perform tests.connect(tests.get_user_id('utc@example.com'), tests.get_user_id('patient@example.com')); end $$;
update public.clinicians set booking_horizon_days = 730, min_notice_minutes = 0
where clinician_id = tests.get_user_id('utc@example.com');
select tests.authenticate_as(tests.get_user_id('patient@example.com'));
select is(
    (
        select count(*)::int from public.get_available_slots(
            tests.get_user_id('utc@example.com'), tests.days_ahead(3, '00:00'), tests.days_ahead(4, '00:00')
        )
    ),
    6, 'a connected patient sees the day''s six slots'
);
select is(
    (
        select count(*)::int from public.get_available_slots(
            tests.get_user_id('utc@example.com'), tests.days_ahead(3, '00:00'), tests.days_ahead(4, '00:00'),
            duration_minutes => 60
        )
    ),
    5, 'duration_minutes asks for longer visits'
);
select tests.clear_authentication();

select * from finish();
rollback;
