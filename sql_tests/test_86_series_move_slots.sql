-- get_series_move_slots: the new times of a series' first visit to come to which
-- reschedule_appointment_series moves the whole series. The series' own visits hide nothing
-- (their times, the buffer around them, their place under a daily limit); every other visit
-- is shifted by the same wall clock and must be offered; refusals as the move's own.
begin;
select plan(17);

do $$
declare
    clinician uuid := tests.create_clinician('clin@example.com', buffer_minutes => 15);
    other_clinician uuid := tests.create_clinician('other@example.com');
    patient uuid := tests.create_user('patient@example.com');
    second_patient uuid := tests.create_user('second@example.com');
begin
    perform tests.open_every_day(clinician, '09:00', '12:00');
    perform tests.connect(clinician, patient);
    perform tests.connect(clinician, second_patient);
    perform tests.connect(other_clinician, patient);
    perform tests.create_user('stranger@example.com');
    -- The series: days 3, 10 and 17 at 10:00 (UTC), 30 minutes.
    perform tests.authenticate_as(clinician);
    create temp table series as
    select (public.book_appointment_series(
        clinician, patient, tests.days_ahead(3, '10:00'), 30, 'follow_up', 'in_person', 3
    )).series_id
    limit 1;
    perform tests.clear_authentication();
    grant select on series to authenticated;
    -- Another patient's visit on day 10 at 11:30; the patient's visit elsewhere on day 17 at 09:00.
    perform tests.add_appointment(clinician, second_patient, tests.days_ahead(10, '11:30'), 30);
    perform tests.add_appointment(other_clinician, patient, tests.days_ahead(17, '09:00'), 30);
end
$$;

-- The starts (HH24:MI, UTC) of the first visit's new times on this day, as the user is given them.
create function pg_temp.move_times(searcher text, day integer) returns text[]
language plpgsql as $$
declare
    starts text[];
begin
    perform tests.authenticate_as(tests.get_user_id(searcher));
    select array_agg(to_char(s.slot_start at time zone 'UTC', 'HH24:MI') order by s.slot_start)
    into starts
    from public.get_series_move_slots(
        series_id => (select s.series_id from series as s),
        range_start => tests.days_ahead(day, '00:00'), range_end => tests.days_ahead(day + 1, '00:00')
    ) as s;
    perform tests.clear_authentication();
    return starts;
end
$$;

create function pg_temp.move_as(email text, new_start timestamptz) returns text
language sql as $$
    select tests.as_user(
        email,
        format('select public.reschedule_appointment_series(%L, %L)', (select s.series_id from series as s), new_start)
    )
$$;

-- The starts (HH24:MI, UTC) a search for a new series of three gives the patient on this day.
create function pg_temp.new_series_times(day integer) returns text[]
language plpgsql as $$
declare
    starts text[];
begin
    perform tests.authenticate_as(tests.get_user_id('patient@example.com'));
    select array_agg(to_char(s.slot_start at time zone 'UTC', 'HH24:MI') order by s.slot_start)
    into starts
    from public.get_available_series_slots(
        clinician_id => tests.get_user_id('clin@example.com'),
        range_start => tests.days_ahead(day, '00:00'), range_end => tests.days_ahead(day + 1, '00:00'),
        occurrences => 3, appointment_type => 'follow_up', location_type => 'in_person'
    ) as s;
    perform tests.clear_authentication();
    return starts;
end
$$;

select is(
    pg_temp.new_series_times(3),
    null,
    'a search for a new series finds no time on day 3: the series'' own visits and buffer hide them'
);
select is(
    pg_temp.move_times('patient@example.com', 3),
    array['09:30', '10:00', '10:30'],
    'moving it, day 3''s times around its visit are given, less 09:00 (day 17, the patient elsewhere) '
    'and 11:00 and 11:30 (day 10, another patient and the buffer)'
);
select is(
    pg_temp.move_times('clin@example.com', 3),
    array['09:30', '10:00', '10:30'],
    'the clinician is given the same'
);
select is(
    pg_temp.move_times('patient@example.com', 10),
    array['09:30', '10:00', '10:30'],
    'a week later is given too, 10:00 being the series'' own second visit''s time'
);
update public.clinician_availability set max_appointments_per_day = 2
where clinician_id = tests.get_user_id('clin@example.com');
select is(
    pg_temp.move_times('patient@example.com', 3),
    array['09:30', '10:00', '10:30'],
    'under a daily limit of 2, the series'' own visits do not fill day 10 (its visit and another patient''s)'
);

update public.clinicians set patient_change_cutoff_hours = 96
where clinician_id = tests.get_user_id('clin@example.com');
select throws_ok(
    tests.as_user('patient@example.com', format(
        'select * from public.get_series_move_slots(%L, %L, %L)',
        (select s.series_id from series as s), tests.days_ahead(3, '00:00'), tests.days_ahead(4, '00:00')
    )),
    '42501', null,
    'within the clinician''s cutoff the patient is refused, as the move would be'
);
select lives_ok(
    tests.as_user('clin@example.com', format(
        'select * from public.get_series_move_slots(%L, %L, %L)',
        (select s.series_id from series as s), tests.days_ahead(3, '00:00'), tests.days_ahead(4, '00:00')
    )),
    'and the clinician is not'
);
update public.clinicians set patient_change_cutoff_hours = null
where clinician_id = tests.get_user_id('clin@example.com');

-- A time given is one the move takes; one not given, the move refuses.
select throws_ok(
    pg_temp.move_as('patient@example.com', tests.days_ahead(3, '11:00')),
    'PT409', null,
    'the series cannot move to 11:00, a time not given'
);
select lives_ok(
    pg_temp.move_as('patient@example.com', tests.days_ahead(3, '10:30')),
    'the patient moves it to 10:30, a time given'
);
select lives_ok(
    pg_temp.move_as('clin@example.com', tests.days_ahead(10, '10:00')),
    'the clinician moves it a week later, onto its own second visit''s old time, a time given'
);
select is(
    (
        select array_agg(to_char(a.scheduled_start at time zone 'UTC', 'DD HH24:MI') order by a.scheduled_start)
        from public.appointments as a
        where a.series_id = (select s.series_id from series as s)
    ),
    array[
        to_char(tests.days_ahead(10, '10:00') at time zone 'UTC', 'DD HH24:MI'),
        to_char(tests.days_ahead(17, '10:00') at time zone 'UTC', 'DD HH24:MI'),
        to_char(tests.days_ahead(24, '10:00') at time zone 'UTC', 'DD HH24:MI')
    ],
    'and the series is on days 10, 17 and 24 at 10:00'
);

-- ------------------------------------------------------------------------- across a DST change
do $$
declare
    clinician uuid := tests.create_clinician('newyork@example.com', 'America/New_York');
    patient uuid := tests.get_user_id('patient@example.com');
begin
    perform tests.open_every_day(clinician);
    perform tests.connect(clinician, patient);
    -- Fridays at 10:00 New York, the last the Friday before clocks go forward on Sunday 2027-03-14.
    perform tests.authenticate_as(clinician);
    create temp table dst_series as
    select (public.book_appointment_series(
        clinician, patient, '2027-02-26 10:00 America/New_York', 30, 'follow_up', 'in_person', 3
    )).series_id
    limit 1;
    perform tests.clear_authentication();
end
$$;
select is(
    (
        select array_agg(to_char(s.slot_start at time zone 'America/New_York', 'HH24:MI') order by s.slot_start)
        from public.get_series_move_slots(
            (select d.series_id from dst_series as d),
            '2027-03-01 00:00 America/New_York', '2027-03-02 00:00 America/New_York'
        ) as s
    ),
    array(
        select to_char(t, 'HH24:MI') from generate_series(
            '2027-03-01 09:00'::timestamp, '2027-03-01 16:30'::timestamp, interval '30 minutes'
        ) as t
    ),
    'moving Fridays to Mondays, every time of the working day is given: the third visit, moved '
    'across the change of clocks, keeps the wall-clock time (16:30 would end at 18:00 shifted by the instant)'
);

-- The second visit made an hour long: each visit is searched with its own length.
select tests.call_as('newyork@example.com', format(
    'select public.reschedule_appointment(%L, %L, 60)',
    (select a.id from public.appointments as a where a.scheduled_start = '2027-03-05 10:00 America/New_York'),
    '2027-03-05 10:00 America/New_York'
));
select is(
    (
        select max(to_char(s.slot_start at time zone 'America/New_York', 'HH24:MI'))
        from public.get_series_move_slots(
            (select d.series_id from dst_series as d),
            '2027-03-01 00:00 America/New_York', '2027-03-02 00:00 America/New_York'
        ) as s
    ),
    '16:00',
    'with its second visit an hour long, the series can move to Monday 16:00 at the latest'
);

-- ------------------------------------------------------------------------------------ refusals
select throws_ok(
    tests.as_user('stranger@example.com', format(
        'select * from public.get_series_move_slots(%L, %L, %L)',
        (select s.series_id from series as s), tests.days_ahead(3, '00:00'), tests.days_ahead(4, '00:00')
    )),
    'PT404', format('no series %s that you can see', (select s.series_id from series as s)),
    'someone else''s series is not found'
);
select throws_ok(
    tests.as_user('patient@example.com', format(
        'select * from public.get_series_move_slots(%L, %L, %L)',
        (select s.series_id from series as s), tests.days_ahead(3, '00:00'), tests.days_ahead(70, '00:00')
    )),
    '22023', 'a slot search covers at most 62 days',
    'the range is the slot search''s'
);
update public.appointments set status = 'cancelled', cancellation_reason = 'test'
where series_id = (select s.series_id from series as s);
select throws_ok(
    tests.as_user('clin@example.com', format(
        'select * from public.get_series_move_slots(%L, %L, %L)',
        (select s.series_id from series as s), tests.days_ahead(3, '00:00'), tests.days_ahead(4, '00:00')
    )),
    '22023', 'no visit of this series is still to come',
    'a series with no visit to come has no times to move to'
);
select ok(
    not has_function_privilege('anon', 'public.get_series_move_slots(uuid, timestamptz, timestamptz)', 'execute'),
    'anon may not search'
);

select * from finish();
rollback;
