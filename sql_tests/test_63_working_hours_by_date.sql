-- get_working_hours: a clinician's hours on each date of a range as the search reads them
-- (an override's, a closed date, else the weekly windows whose dates hold it), as local times
-- and as instants on DST days; who may read them, and the range's refusals.
begin;
select plan(19);

-- Weekdays one and two weeks ahead (UTC clinician): the mornings end between them.
create function pg_temp.week(n integer) returns date
language sql as $$ select current_date + 7 * n $$;

do $$
declare
    clinician uuid := tests.create_clinician('clin@example.com');
    new_york uuid := tests.create_clinician('ny@example.com', 'America/New_York');
    weekday integer := extract(dow from pg_temp.week(1));
begin
    perform tests.connect(clinician, tests.create_user('patient@example.com'));
    perform tests.connect(clinician, tests.create_user('former@example.com'));
    update public.care_relationships set status = 'ended', ended_at = now()
    where patient_id = tests.get_user_id('former@example.com');
    perform tests.create_user('stranger@example.com');
    insert into public.clinician_availability (
        clinician_id, day_of_week, start_time, end_time, effective_until, appointment_types, location_type
    )
    values (clinician, weekday, '09:00', '12:00', pg_temp.week(1) + 3, '{follow_up}', 'video');
    insert into public.clinician_availability (clinician_id, day_of_week, start_time, end_time, effective_from)
    values (clinician, weekday, '13:00', '17:00', pg_temp.week(1) + 4);
    insert into public.clinician_availability (clinician_id, day_of_week, start_time, end_time, is_active)
    values (clinician, (weekday + 1) % 7, '08:00', '10:00', false);
    insert into public.clinician_date_overrides (
        clinician_id, override_date, is_available, start_time, end_time, slot_duration_minutes
    )
    values (clinician, pg_temp.week(3), true, '10:00', '11:30', 45);
    insert into public.clinician_date_overrides (clinician_id, override_date, is_available, reason)
    values (clinician, pg_temp.week(4), false, 'Training day');
    -- Weekdays all year in New York, for the days its clocks change.
    insert into public.clinician_availability (clinician_id, day_of_week, start_time, end_time)
    select new_york, d, '09:00', '17:00' from generate_series(0, 6) as d;
end
$$;

-- The rows a user reads for these dates, as the dashboard would.
create function pg_temp.hours_read_by(user_email text, clinician_email text, from_date date, to_date date)
returns setof record
language plpgsql as $$
begin
    perform tests.authenticate_as(tests.get_user_id(user_email));
    return query
    select h.work_date, h.source, h.starts_at, h.ends_at, h.start_time, h.end_time, h.slot_duration_minutes
    from public.get_working_hours(tests.get_user_id(clinician_email), from_date, to_date) as h;
    perform tests.clear_authentication();
end
$$;

create function pg_temp.calls_for(from_date date, to_date date) returns text
language sql as $$
    select format(
        'select count(*) from public.get_working_hours(%L, %L, %L)',
        tests.get_user_id('clin@example.com'), from_date, to_date
    )
$$;

-- ------------------------------------------------------------------ what each date has
select results_eq(
    $$select * from pg_temp.hours_read_by('patient@example.com', 'clin@example.com', pg_temp.week(1), pg_temp.week(4))
        as (d date, s text, a timestamptz, b timestamptz, st time, et time, m integer)$$,
    $$values
        (pg_temp.week(1), 'weekly', (pg_temp.week(1) + time '09:00') at time zone 'UTC',
            (pg_temp.week(1) + time '12:00') at time zone 'UTC', '09:00'::time, '12:00'::time, 30),
        (pg_temp.week(2), 'weekly', (pg_temp.week(2) + time '13:00') at time zone 'UTC',
            (pg_temp.week(2) + time '17:00') at time zone 'UTC', '13:00'::time, '17:00'::time, 30),
        (pg_temp.week(3), 'override', (pg_temp.week(3) + time '10:00') at time zone 'UTC',
            (pg_temp.week(3) + time '11:30') at time zone 'UTC', '10:00'::time, '11:30'::time, 45),
        (pg_temp.week(4), 'closed', null, null, null, null, null)$$,
    'a connected patient reads the mornings before the change, the afternoons after, an open date''s own hours and a closed date; no other date, and not the window switched off'
);
select tests.authenticate_as(tests.get_user_id('clin@example.com'));
select results_eq(
    format(
        'select availability_id, appointment_types::text[], location_type::text from public.get_working_hours(auth.uid(), %L, %L)',
        pg_temp.week(1), pg_temp.week(1)
    ),
    $$select id, '{follow_up}'::text[], 'video'::text from public.clinician_availability
        where start_time = '09:00' and clinician_id = auth.uid()$$,
    'a weekly row names its window, with the types and place it offers'
);
select results_eq(
    format(
        'select override_id, reason from public.get_working_hours(auth.uid(), %L, %L) where source = %L',
        pg_temp.week(1), pg_temp.week(6), 'closed'
    ),
    $$select id, reason from public.clinician_date_overrides
        where override_date = pg_temp.week(4) and clinician_id = auth.uid()$$,
    'a closed date names its override and its reason'
);
select is(
    (
        select array_agg(h.source order by h.work_date)
        from public.get_working_hours(auth.uid(), pg_temp.week(1), pg_temp.week(4)) as h
    ),
    array['weekly', 'weekly', 'override', 'closed'],
    'the clinician reads the same dates of their own hours'
);
select tests.clear_authentication();
select is(
    (
        select count(*)::integer
        from public.get_working_hours(tests.get_user_id('clin@example.com'), current_date, current_date + 365)
    ),
    (
        select count(*)::integer
        from generate_series(current_date, current_date + 365, interval '1 day') as d
        where extract(dow from d) = extract(dow from pg_temp.week(1))
    ),
    'a year of 366 dates is read: a row for each date of that weekday (the overrides'' in place of its hours)'
);

-- ------------------------------------------------------------------ days the clocks change
select results_eq(
    $$select * from pg_temp.hours_read_by('ny@example.com', 'ny@example.com', '2027-03-13', '2027-03-14')
        as (d date, s text, a timestamptz, b timestamptz, st time, et time, m integer)$$,
    $$values
        ('2027-03-13'::date, 'weekly', '2027-03-13 14:00Z'::timestamptz, '2027-03-13 22:00Z'::timestamptz,
            '09:00'::time, '17:00'::time, 30),
        ('2027-03-14'::date, 'weekly', '2027-03-14 13:00Z'::timestamptz, '2027-03-14 21:00Z'::timestamptz,
            '09:00'::time, '17:00'::time, 30)$$,
    'New York''s 09:00-17:00 is 14:00-22:00 UTC the day before clocks go forward and 13:00-21:00 UTC on it'
);
select results_eq(
    $$select a, b from pg_temp.hours_read_by('ny@example.com', 'ny@example.com', '2027-11-07', '2027-11-07')
        as (d date, s text, a timestamptz, b timestamptz, st time, et time, m integer)$$,
    $$values ('2027-11-07 14:00Z'::timestamptz, '2027-11-07 22:00Z'::timestamptz)$$,
    'and 14:00-22:00 UTC on the day they go back'
);
select results_eq(
    format(
        $$select (select min(s.slot_start) from public.get_available_slots(%1$L, %2$L, %3$L) as s),
            (select max(s.slot_end) from public.get_available_slots(%1$L, %2$L, %3$L) as s)$$,
        tests.get_user_id('ny@example.com'), '2027-03-14 00:00-05', '2027-03-15 00:00-04'
    ),
    $$select starts_at, ends_at from pg_temp.hours_read_by('ny@example.com', 'ny@example.com', '2027-03-14', '2027-03-14')
        as (d date, s text, starts_at timestamptz, ends_at timestamptz, st time, et time, m integer)$$,
    'the search''s first and last slot that day lie at those instants'
);

-- ------------------------------------------------------------------ who may read them
select throws_ok(
    tests.as_user('stranger@example.com', pg_temp.calls_for(current_date, current_date + 6)),
    '42501', 'you are not connected to this clinician',
    'a patient of someone else may not'
);
select throws_ok(
    tests.as_user('former@example.com', pg_temp.calls_for(current_date, current_date + 6)),
    '42501', 'you are not connected to this clinician',
    'nor a patient whose care has ended'
);
select throws_ok(
    tests.as_user('ny@example.com', pg_temp.calls_for(current_date, current_date + 6)),
    '42501', 'you are not connected to this clinician',
    'nor another clinician'
);
select tests.authenticate_as_anon();
select throws_ok(
    'select count(*) from public.get_working_hours(''10000000-0000-4000-8000-00000000dead'', current_date, current_date)',
    '42501', 'permission denied for function get_working_hours',
    'anon may not call it'
);
select tests.clear_authentication();
select throws_ok(
    tests.as_user('patient@example.com', format(
        'select count(*) from public.get_working_hours(%L, current_date, current_date)',
        '10000000-0000-4000-8000-00000000dead'
    )),
    'PT404', 'no clinician 10000000-0000-4000-8000-00000000dead',
    'a clinician who is not there: PT404'
);

-- ------------------------------------------------------------------ the range
select throws_ok(
    tests.as_user('patient@example.com', pg_temp.calls_for(current_date, current_date - 1)),
    '22023', format('to_date (%s) is before from_date (%s)', current_date - 1, current_date),
    'a range that ends before it starts is refused, both dates named'
);
select throws_ok(
    tests.as_user('patient@example.com', pg_temp.calls_for(current_date, current_date + 366)),
    '22023', 'working hours are read at most 366 days at a time, not 367',
    'a range of more than 366 dates is refused'
);
select throws_ok(
    tests.as_user('patient@example.com', pg_temp.calls_for(null, current_date)),
    '22023', 'from_date is required',
    'a missing first date is named'
);
select throws_ok(
    tests.as_user('patient@example.com', pg_temp.calls_for(current_date, null)),
    '22023', 'to_date is required',
    'and a missing last date'
);
select throws_ok(
    tests.as_user('patient@example.com', pg_temp.calls_for(current_date, 'infinity')),
    '22023', 'to_date must be a date, not infinity',
    'infinity is refused in words'
);
select lives_ok(
    format(
        'select count(*) from public.get_working_hours(%L, current_date, current_date + 6)',
        tests.get_user_id('clin@example.com')
    ),
    'a worker (no signed-in user) may read anyone''s hours'
);

select * from finish();
rollback;
