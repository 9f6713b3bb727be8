-- A series' later visits are checked as the first one is booked: its length and its place, on
-- whatever hours apply on their dates. Weekly hours that change from a date may give a later
-- week another slot length or another location than the first.
begin;
select plan(7);

do $$
declare
    clinician uuid := tests.create_clinician('clin@example.com');
begin
    perform tests.connect(clinician, tests.create_user('patient@example.com'));
    -- Mondays 09:00-12:00: 45-minute slots anywhere until 8 March, then 15-minute video slots
    -- until 11:45 until 15 March, then 15-minute slots in person.
    insert into public.clinician_availability (
        clinician_id, day_of_week, start_time, end_time, slot_duration_minutes, location_type,
        effective_from, effective_until
    ) values
    (clinician, 1, '09:00', '12:00', 45, null, null, '2027-03-08'),
    (clinician, 1, '09:00', '11:45', 15, 'video', '2027-03-09', '2027-03-15'),
    (clinician, 1, '09:00', '12:00', 15, 'in_person', '2027-03-16', null);
end
$$;

-- The series slots of Monday 1 March, as 'start-end location' in UTC.
create function pg_temp.series_slots(occurrences integer) returns text[]
language sql as $$
    select array_agg(
        format('%s-%s %s', to_char(s.slot_start, 'HH24:MI'), to_char(s.slot_end, 'HH24:MI'), coalesce(s.location_type, 'any'))
        order by s.slot_start
    )
    from public.get_available_series_slots(
        tests.get_user_id('clin@example.com'), '2027-03-01 00:00Z', '2027-03-02 00:00Z', occurrences
    ) as s
$$;

select tests.claims_of('patient@example.com');
select is(
    pg_temp.series_slots(2),
    array['09:00-09:45 any', '09:45-10:30 any', '10:30-11:15 any', '11:15-12:00 any'],
    'two weeks of the first hours: every slot, anywhere'
);
select is(
    pg_temp.series_slots(3),
    array['09:00-09:45 video', '09:45-10:30 video', '10:30-11:15 video'],
    'a third week on the 15-minute grid takes a 45-minute visit where one fits, by video only'
);
select is(
    pg_temp.series_slots(4), null,
    'a fourth week in person and a third by video: no one place for the whole series'
);
select is(
    (
        select array_agg(distinct s.slot_end - s.slot_start) from public.get_available_slots(
            tests.get_user_id('clin@example.com'), '2027-03-15 00:00Z', '2027-03-16 00:00Z'
        ) as s
    ),
    array[interval '15 minutes'],
    'while a search of 15 March alone offers 15-minute slots'
);
select tests.clear_authentication();

create function pg_temp.book_series(at_location text, occurrences integer) returns text
language sql as $$
    select tests.as_user('patient@example.com', format(
        'select count(*) from public.book_appointment_series(%L, %L, %L, 45, %L, %L, %s)',
        tests.get_user_id('clin@example.com'), tests.get_user_id('patient@example.com'),
        '2027-03-01 09:45Z', 'follow_up', at_location, occurrences
    ))
$$;
select throws_ok(
    pg_temp.book_series('in_person', 3), '22023', null,
    'the series found is not booked in person'
);
select lives_ok(pg_temp.book_series('video', 3), 'it is booked by video, as found');
select is(
    (
        select array_agg(a.scheduled_start order by a.scheduled_start) from public.appointments as a
        where a.patient_id = tests.get_user_id('patient@example.com')
    ),
    array['2027-03-01 09:45Z', '2027-03-08 09:45Z', '2027-03-15 09:45Z']::timestamptz[],
    'three weekly visits'
);

select * from finish();
rollback;
