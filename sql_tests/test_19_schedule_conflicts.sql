-- Visits the clinician's schedule no longer has room for: closed dates, outside the day's hours,
-- busy time in their own calendar; read in their zone, DST days included.
begin;
select plan(10);

do $$
declare
    clinician uuid := tests.create_clinician('clin@example.com', 'America/New_York');
    other uuid := tests.create_clinician('other@example.com');
    patient uuid := tests.create_user('patient@example.com');
begin
    perform tests.connect(clinician, patient);
    -- Sunday and Tuesday 09:00-17:00, Monday with a lunch break, Wednesday 09:00-17:00
    -- (replaced by an override), Thursday closed.
    insert into public.clinician_availability (clinician_id, day_of_week, start_time, end_time)
    values (clinician, 0, '09:00', '17:00'), (clinician, 1, '09:00', '12:00'), (clinician, 1, '13:00', '17:00'),
        (clinician, 2, '09:00', '17:00'), (clinician, 3, '09:00', '17:00');
    insert into public.clinician_date_overrides (clinician_id, override_date, is_available, reason)
    values (clinician, '2027-03-16', false, 'Conference');
    insert into public.clinician_date_overrides (clinician_id, override_date, is_available, start_time, end_time)
    values (clinician, '2027-03-17', true, '13:00', '15:00');

    -- Sunday 2027-03-14, the day New York moves to summer time: 09:00 EDT is 13:00 UTC.
    perform tests.add_appointment(clinician, patient, '2027-03-14 13:00Z');
    perform tests.add_appointment(clinician, patient, '2027-03-14 12:30Z');
    -- Monday 12:30 local, in the lunch break.
    perform tests.add_appointment(clinician, patient, '2027-03-15 16:30Z');
    -- Tuesday, closed for a conference: one visit still booked, one already cancelled.
    perform tests.add_appointment(clinician, patient, '2027-03-16 14:00Z');
    perform tests.add_appointment(clinician, patient, '2027-03-16 15:00Z', 30, 'cancelled');
    -- Wednesday open 13:00-15:00 only: 14:00 local fits, 10:00 local no longer does.
    perform tests.add_appointment(clinician, patient, '2027-03-17 18:00Z');
    perform tests.add_appointment(clinician, patient, '2027-03-17 14:00Z');
    -- Thursday, no hours at all.
    perform tests.add_appointment(clinician, patient, '2027-03-18 14:00Z');
    -- Sunday 16:45 local for half an hour: starts in the hours, runs past their end.
    perform tests.add_appointment(clinician, patient, '2027-03-21 20:45Z');
    -- Monday 10:00 local, a request, with the clinician's dentist at 09:45-10:15 in their calendar.
    perform tests.add_appointment(clinician, patient, '2027-03-22 14:00Z', 30, 'requested');
    insert into public.calendar_busy_blocks (user_id, source, starts_at, ends_at, summary)
    values (clinician, 'google', '2027-03-22 13:45Z', '2027-03-22 14:15Z', 'Dentist'),
        -- ending as the Sunday visit starts, and someone else's busy time over it
        (clinician, 'google', '2027-03-14 12:00Z', '2027-03-14 13:00Z', 'Gym'),
        (patient, 'google', '2027-03-14 13:00Z', '2027-03-14 14:00Z', 'Work');
    -- Another clinician's visit with no hours anywhere.
    perform tests.add_appointment(other, tests.create_user('p2@example.com'), '2027-03-15 03:00Z');
end
$$;

select tests.authenticate_as(tests.get_user_id('clin@example.com'));
select results_eq(
    $$select scheduled_start, status, conflict, detail
    from public.schedule_conflicts('2027-03-01', '2027-04-01')$$,
    $$values
        ('2027-03-14 12:30Z'::timestamptz, 'confirmed', 'calendar_busy', 'Gym'),
        ('2027-03-14 12:30Z', 'confirmed', 'outside_hours', 'open 09:00-17:00 that day'),
        ('2027-03-15 16:30Z', 'confirmed', 'outside_hours', 'open 09:00-12:00, 13:00-17:00 that day'),
        ('2027-03-16 14:00Z', 'confirmed', 'day_closed', 'Conference'),
        ('2027-03-17 14:00Z', 'confirmed', 'outside_hours', 'open 13:00-15:00 that day'),
        ('2027-03-18 14:00Z', 'confirmed', 'outside_hours', 'no working hours that day'),
        ('2027-03-21 20:45Z', 'confirmed', 'outside_hours', 'open 09:00-17:00 that day'),
        ('2027-03-22 14:00Z', 'requested', 'calendar_busy', 'Dentist')$$,
    'closed dates, hours (in summer time on the DST day, an override''s instead of the week''s, a visit running past their end) and own busy time'
);
-- As the clinician's claims without leaving the session role, which may read the ids.
select tests.clear_authentication();
select tests.claims_of('clin@example.com');
select is(
    (
        select array_agg(c.patient_id = tests.get_user_id('patient@example.com') and c.appointment_id = a.id)
        from public.schedule_conflicts('2027-03-16', '2027-03-17') as c
        inner join public.appointments as a on c.scheduled_start = a.scheduled_start and a.status = 'confirmed'
    ),
    array[true],
    'each row names its visit and patient'
);
select tests.authenticate_as(tests.get_user_id('clin@example.com'));
select is(
    (select count(*)::integer from public.schedule_conflicts('2027-03-15', '2027-03-16')),
    1,
    'only visits starting in the range'
);

-- The defaults: from now for 90 days. 03:00 UTC is the evening before in New York, outside any hours.
select tests.clear_authentication();
do $$
begin
    perform tests.add_appointment(
        tests.get_user_id('clin@example.com'), tests.get_user_id('patient@example.com'), tests.days_ahead(3, '03:00')
    );
    perform tests.add_appointment(
        tests.get_user_id('clin@example.com'), tests.get_user_id('patient@example.com'), tests.days_ahead(100, '03:00')
    );
end
$$;
select tests.authenticate_as(tests.get_user_id('clin@example.com'));
select is(
    (select array_agg(scheduled_start) from public.schedule_conflicts()),
    array[tests.days_ahead(3, '03:00')],
    'by default the next 90 days'
);

select throws_ok(
    $$select * from public.schedule_conflicts('2027-04-01', '2027-03-01')$$,
    '22023', null, 'a range that ends before it starts'
);
select throws_ok(
    $$select * from public.schedule_conflicts('2027-01-01', '2028-06-01')$$,
    '22023', null, 'a range over 366 days'
);

select tests.clear_authentication();
select tests.authenticate_as(tests.get_user_id('patient@example.com'));
select throws_ok(
    $$select * from public.schedule_conflicts('2027-03-01', '2027-04-01')$$,
    '42501', 'only a clinician has a schedule to check', 'a patient has no schedule'
);
select tests.clear_authentication();
select tests.authenticate_as_anon();
select throws_ok(
    $$select * from public.schedule_conflicts('2027-03-01', '2027-04-01')$$,
    '42501', null, 'anon may not call it'
);

select tests.clear_authentication();
select tests.authenticate_as(tests.get_user_id('other@example.com'));
select is(
    (select array_agg(scheduled_start) from public.schedule_conflicts('2027-03-01', '2027-04-01')),
    array['2027-03-15 03:00Z'::timestamptz],
    'another clinician sees only their own visit'
);
select is(
    (select count(*)::integer from public.schedule_conflicts('2027-03-01', '2027-04-01') where conflict <> 'outside_hours'),
    0,
    'and nothing of the first clinician''s closed dates or calendar'
);

select * from finish();
rollback;
