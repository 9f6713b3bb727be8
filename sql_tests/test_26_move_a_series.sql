-- Moving a series: every visit to come by one wall-clock shift, all or none, announced once.
begin;
select plan(23);

do $$
declare
    clinician uuid := tests.create_clinician('clin@example.com', 'America/New_York');
    patient uuid := tests.create_user('patient@example.com');
begin
    perform tests.open_every_day(clinician);
    perform tests.connect(clinician, patient);
    perform tests.connect(clinician, tests.create_user('other@example.com'));
    perform tests.connect(clinician, tests.create_user('waiting@example.com'));
    perform tests.create_user('stranger@example.com');
    -- Tuesdays at 10:00 New York, across the DST change of 2027-03-14.
    perform tests.authenticate_as(clinician);
    create temp table series as
    select (public.book_appointment_series(
        clinician, patient, '2027-03-02 10:00 America/New_York', 30, 'therapy_session', 'in_person', 4
    )).series_id
    limit 1;
    perform tests.clear_authentication();
    grant select on series to authenticated;
    -- A visit of the series already over stays where it was.
    insert into public.appointments (
        clinician_id, patient_id, scheduled_start, scheduled_end, appointment_type, location_type, status, series_id
    )
    select clinician, patient, now() - interval '7 days', now() - interval '7 days' + interval '30 minutes',
        'therapy_session', 'in_person', 'completed', s.series_id
    from series as s;
end
$$;

create function pg_temp.move_as(email text, new_start timestamptz) returns void
language sql as $$
    select tests.call_as(
        email,
        format('select public.reschedule_appointment_series(%L, %L)', (select s.series_id from series as s), new_start)
    )
$$;

-- The series' visits to come, as local start times in New York.
create function pg_temp.local_starts() returns text[]
language sql as $$
    select array_agg(to_char(a.scheduled_start at time zone 'America/New_York', 'YYYY-MM-DD HH24:MI')
        order by a.scheduled_start)
    from public.appointments as a
    where a.series_id = (select s.series_id from series as s) and a.status <> 'completed'
$$;

select lives_ok(
    $$select pg_temp.move_as('patient@example.com', '2027-03-04 14:00 America/New_York')$$,
    'the patient moves the series from Tuesday mornings to Thursday afternoons'
);
select is(
    pg_temp.local_starts(),
    array['2027-03-04 14:00', '2027-03-11 14:00', '2027-03-18 14:00', '2027-03-25 14:00'],
    'every visit keeps its week and takes the new local time, across the DST change'
);
select is(
    (
        select array_agg(a.scheduled_start order by a.scheduled_start)
        from public.appointments as a
        where a.series_id = (select s.series_id from series as s) and a.scheduled_start in (
            '2027-03-11 19:00Z', '2027-03-18 18:00Z'
        )
    ),
    array['2027-03-11 19:00Z', '2027-03-18 18:00Z']::timestamptz[],
    'so the instants move by an hour less after the change'
);
select is(
    (
        select a.scheduled_start from public.appointments as a
        where a.series_id = (select s.series_id from series as s) and a.status = 'completed'
    ),
    (select now() - interval '7 days'),
    'a visit over stays where it was'
);
select is(
    (select count(*)::integer from public.notifications where kind = 'series_rescheduled'),
    2,
    'announced once to each person'
);
select is(
    (select count(*)::integer from public.notifications where kind = 'appointment_rescheduled'),
    0,
    'and not visit by visit'
);

select lives_ok(
    $$select pg_temp.move_as('clin@example.com', '2027-02-25 14:00 America/New_York')$$,
    'a week earlier: each visit takes its neighbour''s old time'
);
select is(
    pg_temp.local_starts(),
    array['2027-02-25 14:00', '2027-03-04 14:00', '2027-03-11 14:00', '2027-03-18 14:00'],
    'and the series is a week earlier'
);

insert into public.appointment_waitlist (clinician_id, patient_id, appointment_type)
values (tests.get_user_id('clin@example.com'), tests.get_user_id('waiting@example.com'), 'therapy_session');
select lives_ok(
    $$select pg_temp.move_as('clin@example.com', '2027-03-04 14:00 America/New_York')$$,
    'a week later again'
);
select is(
    pg_temp.local_starts(),
    array['2027-03-04 14:00', '2027-03-11 14:00', '2027-03-18 14:00', '2027-03-25 14:00'],
    'the series is back'
);
select is(
    (
        select array_agg((s.time_options -> 0 ->> 'start')::timestamptz)
        from public.appointment_time_slots as s
        where s.offered_to = tests.get_user_id('waiting@example.com')
    ),
    array['2027-02-25 14:00 America/New_York']::timestamptz[],
    'the waitlist is offered only the time left free, not the ones the series took again'
);

-- Someone else's visit in the third week of the next move.
do $$
begin
    perform tests.add_appointment(
        tests.get_user_id('clin@example.com'), tests.get_user_id('other@example.com'),
        '2027-03-19 10:00 America/New_York'
    );
end
$$;
select throws_ok(
    $$select pg_temp.move_as('clin@example.com', '2027-03-05 10:00 America/New_York')$$,
    'PT409', null,
    'a move whose third week is taken fails'
);
select is(
    (tests.error_said($$select pg_temp.move_as('clin@example.com', '2027-03-05 10:00 America/New_York')$$)).detail,
    'Another appointment (or the clinician''s buffer after one) overlaps it.',
    'saying why, as a single move of that visit would'
);
select throws_like(
    $$select pg_temp.move_as('clin@example.com', '2027-03-05 10:00 America/New_York')$$,
    'visit 3 of 4 (2027-03-18 14:00 to 2027-03-19 10:00 America/New_York): that time is no longer free',
    'naming the visit, from and to'
);
select is(
    pg_temp.local_starts(),
    array['2027-03-04 14:00', '2027-03-11 14:00', '2027-03-18 14:00', '2027-03-25 14:00'],
    'and nothing of the series moved'
);
select throws_like(
    $$select pg_temp.move_as('patient@example.com', '2027-03-04 20:00 America/New_York')$$,
    'visit 4 of 4 (2027-03-25 14:00 to 2027-03-25 20:00 America/New_York): % is not an available 30-minute slot%',
    'the patient moves only to offered slots'
);
select throws_ok(
    $$select pg_temp.move_as('stranger@example.com', '2027-03-05 10:00 America/New_York')$$,
    'PT404', null,
    'someone else''s series is not found'
);
select throws_ok(
    $$select pg_temp.move_as('patient@example.com', null)$$,
    '22023', 'a new start is required',
    'a new start is required'
);
select lives_ok(
    $$select pg_temp.move_as('patient@example.com', '2027-03-04 14:00 America/New_York')$$,
    'moving to where it is changes nothing'
);
select is(
    (select count(*)::integer from public.notifications where kind = 'series_rescheduled'),
    6,
    'and announces nothing'
);
select is(
    (
        select count(*)::integer from public.appointments
        where series_id = (select s.series_id from series as s) and status in ('requested', 'confirmed')
    ),
    4,
    'the series still has its four visits to come'
);

-- The last visit left of a series, cancelled with it: one appointment, in the singular.
update public.appointments set status = 'cancelled', cancellation_reason = 'not needed'
where
    series_id = (select s.series_id from series as s)
    and status = 'confirmed'
    and scheduled_start > '2027-03-05';
select lives_ok(
    format(
        $$select tests.call_as('patient@example.com', %L)$$,
        format('select public.cancel_appointment_series(%L, %L)', (select s.series_id from series as s), 'done')
    ),
    'the patient cancels what is left of the series'
);
select is(
    (select array_agg(distinct title) from public.notifications where kind = 'series_cancelled'),
    array['1 appointment cancelled'],
    'and the notice counts one appointment in the singular'
);

select * from finish();
rollback;
