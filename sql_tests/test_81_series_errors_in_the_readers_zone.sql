-- A series that fails names the failing visit in the zone of whoever reads the error.
begin;
select plan(5);

do $$
declare
    clinician uuid := tests.create_clinician('clin@example.com', 'Europe/London');
    patient uuid := tests.create_user('patient@example.com');
    other uuid := tests.create_user('other@example.com');
begin
    perform tests.open_every_day(clinician);
    perform tests.connect(clinician, patient);
    perform tests.connect(clinician, other);
    -- The patient lives in New York: five hours behind London in June and July 2027.
    insert into public.notification_preferences (user_id, timezone) values (patient, 'America/New_York');
    -- Taken: the second Monday of a series starting 7 June, and 11:00 on the third of one
    -- starting 5 July.
    perform tests.add_appointment(clinician, other, '2027-06-14 10:00 Europe/London');
    perform tests.add_appointment(clinician, other, '2027-07-19 11:00 Europe/London');
    perform tests.authenticate_as(clinician);
    create temp table series as
    select (public.book_appointment_series(
        clinician, patient, '2027-07-05 10:00 Europe/London', 30, 'therapy_session', 'in_person', 3
    )).series_id
    limit 1;
    perform tests.clear_authentication();
    grant select on series to authenticated;
end
$$;

create function pg_temp.book_as(email text) returns void
language sql as $$
    select tests.call_as(
        email,
        format(
            'select public.book_appointment_series(%L, %L, %L, 30, %L, %L, 3)',
            tests.get_user_id('clin@example.com'), tests.get_user_id('patient@example.com'),
            '2027-06-07 10:00 Europe/London', 'therapy_session', 'in_person'
        )
    )
$$;

create function pg_temp.move_as(email text) returns void
language sql as $$
    select tests.call_as(
        email,
        format(
            'select public.reschedule_appointment_series(%L, %L)',
            (select s.series_id from series as s), '2027-07-05 11:00 Europe/London'
        )
    )
$$;

select throws_ok(
    $$select pg_temp.book_as('patient@example.com')$$,
    'PT409', 'visit 2 of 3 (2027-06-14 05:00 America/New_York): that time is no longer free',
    'the patient reads the visit in their own zone, named'
);
select throws_ok(
    $$select pg_temp.book_as('clin@example.com')$$,
    'PT409', 'visit 2 of 3 (2027-06-14 10:00 Europe/London): that time is no longer free',
    'the clinician reads it in the visit''s zone, named'
);
select throws_ok(
    $$select pg_temp.move_as('patient@example.com')$$,
    'PT409', 'visit 3 of 3 (2027-07-19 05:00 to 2027-07-19 06:00 America/New_York): that time is no longer free',
    'a move''s from and to in the patient''s zone'
);
select throws_ok(
    $$select pg_temp.move_as('clin@example.com')$$,
    'PT409', 'visit 3 of 3 (2027-07-19 10:00 to 2027-07-19 11:00 Europe/London): that time is no longer free',
    'and in the visit''s zone for the clinician'
);
select is(
    (
        select array_agg(to_char(a.scheduled_start at time zone 'Europe/London', 'MM-DD HH24:MI') order by a.scheduled_start)
        from public.appointments as a
        where a.patient_id = tests.get_user_id('patient@example.com')
    ),
    array['07-05 10:00', '07-12 10:00', '07-19 10:00'],
    'and nothing was booked or moved'
);

select * from finish();
rollback;
