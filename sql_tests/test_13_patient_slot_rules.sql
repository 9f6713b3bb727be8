-- A patient books only what the slot search would offer. The booking checks its one slot with
-- its own queries (slot_refusal), so each rule is tested here through book_appointment:
-- overrides, busy time with the buffer, the daily limit, notice, horizon, type and location,
-- and wall-clock hours on the days clocks change.
begin;
select plan(31);

do $$
declare
    hours uuid := tests.create_clinician('hours@example.com');
    buffered uuid := tests.create_clinician('buffer@example.com', buffer_minutes => 15);
    limited uuid := tests.create_clinician('limit@example.com');
    notice uuid := tests.create_clinician('notice@example.com', min_notice_minutes => 3 * 24 * 60, booking_horizon_days => 10);
    typed uuid := tests.create_clinician('typed@example.com');
    one_day uuid := tests.create_clinician('oneday@example.com');
    new_york uuid := tests.create_clinician('newyork@example.com', timezone => 'America/New_York');
    london uuid := tests.create_clinician('london@example.com', timezone => 'Europe/London');
    patient uuid := tests.create_user('patient@example.com');
    second_patient uuid := tests.create_user('second@example.com');
    clinician uuid;
begin
    perform tests.open_every_day(hours, '09:00', '12:00');
    perform tests.open_every_day(buffered, '09:00', '12:00');
    perform tests.open_every_day(notice);
    perform tests.open_every_day(new_york);
    perform tests.open_every_day(london);
    insert into public.clinician_availability (clinician_id, day_of_week, start_time, end_time, max_appointments_per_day)
    select limited, d, '09:00', '12:00', 1 from generate_series(0, 6) as d;
    insert into public.clinician_availability (clinician_id, day_of_week, start_time, end_time, appointment_types, location_type)
    select typed, d, '09:00', '12:00', '{therapy_session}', 'video' from generate_series(0, 6) as d;
    insert into public.clinician_availability (clinician_id, day_of_week, start_time, end_time)
    values (one_day, extract(dow from current_date + 3), '09:00', '12:00');
    foreach clinician in array array[hours, buffered, limited, notice, typed, one_day, new_york, london] loop
        perform tests.connect(clinician, patient);
        perform tests.connect(clinician, second_patient);
    end loop;

    insert into public.clinician_date_overrides (clinician_id, override_date, is_available, reason)
    values (hours, current_date + 5, false, 'Holiday');
    insert into public.clinician_date_overrides (
        clinician_id, override_date, is_available, start_time, end_time, slot_duration_minutes
    ) values (hours, current_date + 6, true, '14:00', '16:00', 20);
    insert into public.calendar_busy_blocks (user_id, starts_at, ends_at)
    values (hours, tests.days_ahead(3, '10:00'), tests.days_ahead(3, '11:00')),
        (buffered, tests.days_ahead(3, '10:00'), tests.days_ahead(3, '10:30'));
end
$$;

-- The patient (or the second patient) books with this clinician; returns the new status.
create function pg_temp.book(
    clinician_email text, start_at timestamptz, patient_email text default 'patient@example.com',
    minutes integer default 30, kind text default 'follow_up', place text default 'in_person'
) returns text
language plpgsql as $$
declare
    booked public.appointments;
begin
    perform tests.authenticate_as(tests.get_user_id(patient_email));
    select * into booked from public.book_appointment(
        clinician_id => tests.get_user_id(clinician_email), patient_id => tests.get_user_id(patient_email),
        scheduled_start => start_at, duration_minutes => minutes,
        appointment_type => kind, location_type => place
    );
    perform tests.clear_authentication();
    return booked.status;
end
$$;

-- The patient moves their one appointment with this clinician; returns its new start.
create function pg_temp.move(clinician_email text, patient_email text, new_start timestamptz) returns timestamptz
language plpgsql as $$
declare
    moved public.appointments;
begin
    perform tests.authenticate_as(tests.get_user_id(patient_email));
    select * into moved from public.reschedule_appointment(
        appointment_id => (
            select a.id from public.appointments as a
            where a.clinician_id = tests.get_user_id(clinician_email)
                and a.patient_id = tests.get_user_id(patient_email)
        ),
        new_start => new_start
    );
    perform tests.clear_authentication();
    return moved.scheduled_start;
end
$$;

-- ------------------------------------------------------------------------------------ overrides
select throws_ok(
    $$select pg_temp.book('hours@example.com', tests.days_ahead(5, '10:00'))$$,
    '22023', null, 'a day closed by an override cannot be booked'
);
select is(
    pg_temp.book('hours@example.com', tests.days_ahead(6, '14:20'), minutes => 20), 'requested',
    'an override''s own hours and slot length can be booked'
);
select throws_ok(
    $$select pg_temp.book('hours@example.com', tests.days_ahead(6, '10:00'))$$,
    '22023', null, 'an override replaces the weekly hours of its day'
);
select throws_ok(
    $$select pg_temp.book('hours@example.com', tests.days_ahead(6, '15:10'), 'second@example.com', 20)$$,
    '22023', null, 'an override''s grid applies (15:10 is not on a 20-minute grid from 14:00)'
);
select is(
    pg_temp.book('hours@example.com', tests.days_ahead(6, '15:00'), 'second@example.com', 40), 'requested',
    'a longer visit can start on the override''s grid'
);

-- ------------------------------------------------------------------------------- busy and buffer
select throws_ok(
    $$select pg_temp.book('hours@example.com', tests.days_ahead(3, '10:30'))$$,
    'PT409', 'that time is no longer free', 'busy time from a connected calendar blocks a slot'
);
select is(
    pg_temp.book('hours@example.com', tests.days_ahead(3, '11:00')), 'requested',
    'the slot where the busy time ends can be booked'
);
select throws_ok(
    $$select pg_temp.book('buffer@example.com', tests.days_ahead(3, '09:30'))$$,
    'PT409', 'that time is no longer free', 'a slot whose buffer runs into busy time is taken'
);
select is(
    pg_temp.book('buffer@example.com', tests.days_ahead(3, '10:30')), 'requested',
    'the slot right after the busy time can be booked'
);
select throws_ok(
    $$select pg_temp.book('buffer@example.com', tests.days_ahead(3, '11:00'), 'second@example.com')$$,
    'PT409', 'that time is no longer free', 'the buffer after a booked visit blocks the next slot'
);

-- ---------------------------------------------------------------------------------- daily limit
select is(
    pg_temp.book('limit@example.com', tests.days_ahead(3, '09:00')), 'requested',
    'the first visit of a day with a limit of one'
);
select throws_ok(
    $$select pg_temp.book('limit@example.com', tests.days_ahead(3, '11:00'), 'second@example.com')$$,
    'PT409', 'that day is fully booked', 'a second visit that day is taken: the day is full'
);
select is(
    pg_temp.book('limit@example.com', tests.days_ahead(4, '11:00'), 'second@example.com'), 'requested',
    'the next day is open again'
);
select throws_ok(
    $$select pg_temp.move('limit@example.com', 'second@example.com', tests.days_ahead(3, '11:00'))$$,
    'PT409', 'that day is fully booked', 'moving into the full day is refused the same way'
);
select is(
    pg_temp.move('limit@example.com', 'patient@example.com', tests.days_ahead(3, '09:30')),
    tests.days_ahead(3, '09:30'), 'the day''s one visit can move within its own day'
);

-- ---------------------------------------------------------------------------- notice and horizon
select throws_ok(
    $$select pg_temp.book('notice@example.com', tests.days_ahead(2, '10:00'))$$,
    '22023', null, 'a slot inside the minimum notice is refused'
);
select is(
    pg_temp.book('notice@example.com', tests.days_ahead(4, '10:00')), 'requested',
    'a slot after the notice can be booked'
);
select throws_ok(
    $$select pg_temp.book('notice@example.com', tests.days_ahead(11, '10:00'))$$,
    '22023', null, 'a slot beyond the booking horizon is refused'
);
select is(
    pg_temp.book('notice@example.com', tests.days_ahead(9, '10:00')), 'requested',
    'a slot inside the horizon can be booked'
);

-- --------------------------------------------------------------------------- type and location
select throws_ok(
    $$select pg_temp.book('typed@example.com', tests.days_ahead(3, '10:00'), place => 'video')$$,
    '22023', null, 'a type the window does not offer is refused'
);
select throws_ok(
    $$select pg_temp.book('typed@example.com', tests.days_ahead(3, '10:00'), kind => 'therapy_session')$$,
    '22023', null, 'a location the window does not offer is refused'
);
select is(
    pg_temp.book('typed@example.com', tests.days_ahead(3, '10:00'), kind => 'therapy_session', place => 'video'),
    'requested', 'the offered type at the offered location can be booked'
);

-- ------------------------------------------------------------------------------------ weekdays
select is(
    pg_temp.book('oneday@example.com', tests.days_ahead(3, '11:30'), 'second@example.com'), 'requested',
    'a clinician open one weekday can be booked that day'
);
select throws_ok(
    $$select pg_temp.book('oneday@example.com', tests.days_ahead(4, '11:30'), 'second@example.com')$$,
    '22023', null, 'and not on another'
);

-- ------------------------------------------------------------- wall-clock hours on DST days
-- America/New_York springs forward on 2027-03-14 (09:00 EDT = 13:00Z) and falls back on
-- 2027-11-07 (09:00 EST = 14:00Z); Europe/London springs forward on 2027-03-28 (09:00 BST = 08:00Z).
select is(
    pg_temp.book('newyork@example.com', '2027-03-14 13:00Z'), 'requested',
    'New York, spring forward: 09:00 local (13:00Z) is the first slot'
);
select throws_ok(
    $$select pg_temp.book('newyork@example.com', '2027-03-14 12:30Z', 'second@example.com')$$,
    '22023', null, 'New York, spring forward: 12:30Z is 08:30 local, before the hours'
);
select is(
    pg_temp.book('newyork@example.com', '2027-11-07 14:00Z'), 'requested',
    'New York, fall back: 09:00 local (14:00Z) is the first slot'
);
select throws_ok(
    $$select pg_temp.book('newyork@example.com', '2027-11-07 13:30Z', 'second@example.com')$$,
    '22023', null, 'New York, fall back: 13:30Z is 08:30 local, before the hours'
);
select is(
    pg_temp.book('london@example.com', '2027-03-28 08:00Z'), 'requested',
    'London, spring forward: 09:00 local (08:00Z) is the first slot'
);
select is(
    pg_temp.book('london@example.com', '2027-03-28 15:30Z', 'second@example.com'), 'requested',
    'London, spring forward: 16:30 local (15:30Z) is the last slot'
);
select throws_ok(
    $$select pg_temp.book('london@example.com', '2027-03-28 16:00Z', 'second@example.com')$$,
    '22023', '2027-03-28 16:00:00+00 is not an available 30-minute slot',
    'London, spring forward: 16:00Z is 17:00 local, after the hours (the refusal names the slot)'
);

select * from finish();
rollback;
