-- 'infinity' and '-infinity', which PostgreSQL reads as times and dates, are refused in words
-- (22023, naming the argument) by every RPC and table that takes a time or date from a person.
begin;
select plan(22);
set local timezone = 'UTC';

do $$
declare
    clinician uuid := tests.create_clinician('clin@example.com');
    patient uuid := tests.create_user('patient@example.com');
begin
    perform tests.connect(clinician, patient);
    perform tests.open_every_day(clinician);
    perform tests.add_appointment(clinician, patient, tests.days_ahead(3), 30, 'confirmed');
    update public.appointments set series_id = gen_random_uuid() where clinician_id = clinician;
end
$$;

create function pg_temp.book(by_email text, scheduled_start text) returns text
language sql as $$
    select tests.as_user(by_email, format(
        'select public.book_appointment(%L, %L, %L, 30, ''follow_up'', ''in_person'')',
        tests.get_user_id('clin@example.com'), tests.get_user_id('patient@example.com'), scheduled_start
    ))
$$;

create function pg_temp.visit() returns uuid
language sql as $$
    select a.id from public.appointments as a where a.clinician_id = tests.get_user_id('clin@example.com')
$$;

-- ---------------------------------------------------------------------------------------------
-- The RPCs
-- ---------------------------------------------------------------------------------------------

select throws_ok(
    pg_temp.book('patient@example.com', 'infinity'),
    '22023', 'scheduled_start must be a date and time, not infinity', 'a patient books at infinity'
);
select is(
    (tests.error_said(pg_temp.book('patient@example.com', 'infinity'))).hint,
    'Send a time with its UTC offset, such as 2027-03-01T09:00:00Z.', 'the hint shows a time to send'
);
select throws_ok(
    pg_temp.book('clin@example.com', '-infinity'),
    '22023', 'scheduled_start must be a date and time, not -infinity', 'a clinician books at -infinity'
);
select throws_ok(
    tests.as_user('patient@example.com', format(
        'select public.book_appointment_series(%L, %L, ''infinity'', 30, ''follow_up'', ''in_person'', 3)',
        tests.get_user_id('clin@example.com'), tests.get_user_id('patient@example.com')
    )),
    '22023', 'first_start must be a date and time, not infinity', 'a series from infinity'
);
select throws_ok(
    tests.as_user('patient@example.com', format(
        'select public.get_available_slots(%L, now(), ''infinity'')', tests.get_user_id('clin@example.com')
    )),
    '22023', 'range_end must be a date and time, not infinity', 'slots until infinity'
);
select throws_ok(
    tests.as_user('patient@example.com', format(
        'select public.get_available_series_slots(%L, ''-infinity'', now(), 2)', tests.get_user_id('clin@example.com')
    )),
    '22023', 'range_start must be a date and time, not -infinity', 'series slots from -infinity'
);
select throws_ok(
    tests.as_user('clin@example.com', 'select public.schedule_conflicts(now(), ''infinity'')'),
    '22023', 'range_end must be a date and time, not infinity', 'a conflict check until infinity'
);
select throws_ok(
    tests.as_user('clin@example.com', format(
        'select public.reschedule_appointment(%L, ''infinity'')', pg_temp.visit()
    )),
    '22023', 'new_start must be a date and time, not infinity', 'a visit moved to infinity'
);
select throws_ok(
    tests.as_user('clin@example.com', format(
        'select public.reschedule_appointment_series(%L, ''-infinity'')',
        (select a.series_id from public.appointments as a where a.id = pg_temp.visit())
    )),
    '22023', 'new_start must be a date and time, not -infinity', 'a series moved to -infinity'
);
select throws_ok(
    tests.as_user('clin@example.com', format(
        'select public.refresh_appointment_statistics(%L, current_date, ''infinity'')',
        tests.get_user_id('clin@example.com')
    )),
    '22023', 'to_date must be a date, not infinity', 'statistics refreshed until infinity'
);
select is(
    (tests.error_said(tests.as_user('clin@example.com', format(
        'select public.refresh_appointment_statistics(%L, ''-infinity'', current_date)',
        tests.get_user_id('clin@example.com')
    )))).hint,
    'Send a date such as 2027-03-01.', 'a date''s hint shows a date'
);
select throws_ok(
    tests.as_user('clin@example.com', 'select public.get_today_summary(''infinity'')'),
    '22023', 'at must be a date and time, not infinity', 'a clinician''s summary of the day at infinity'
);
select is(
    (select a.scheduled_start from public.appointments as a where a.clinician_id = tests.get_user_id('clin@example.com')),
    tests.days_ahead(3), 'the one visit is as it was, and no other was booked'
);

-- ---------------------------------------------------------------------------------------------
-- The tables
-- ---------------------------------------------------------------------------------------------

select throws_ok(
    format(
        'select tests.add_appointment(%L, %L, %L)', tests.get_user_id('clin@example.com'),
        tests.get_user_id('patient@example.com'), 'infinity'
    ),
    '22023', 'a visit starts and ends at a date and time, not infinity to infinity',
    'a visit written straight into the table, as a DBA could'
);
select throws_ok(
    format(
        'update public.appointments set scheduled_end = ''infinity'' where id = %L', pg_temp.visit()
    ),
    '22023', format(
        'a visit starts and ends at a date and time, not %s to infinity',
        (select a.scheduled_start from public.appointments as a where a.id = pg_temp.visit())
    ),
    'a visit''s end moved to infinity in the table'
);
select throws_ok(
    tests.as_user(
        'clin@example.com',
        'insert into public.calendar_busy_blocks (starts_at, ends_at) values (''2030-01-07 10:00Z'', ''infinity'')'
    ),
    '22023', 'blocked time starts and ends at a date and time, not 2030-01-07 10:00:00+00 to infinity',
    'time blocked until infinity'
);
select throws_ok(
    tests.as_user(
        'clin@example.com',
        'insert into public.clinician_date_overrides (clinician_id, override_date, is_available) values (auth.uid(), ''infinity'', false)'
    ),
    '22023', 'override_date must be a date, not infinity', 'a date override on infinity'
);
select lives_ok(
    tests.as_user(
        'clin@example.com',
        'insert into public.clinician_date_overrides (clinician_id, override_date, is_available) values (auth.uid(), current_date + 9, false)'
    ),
    'a date override on a date is taken'
);
select throws_ok(
    tests.as_user('patient@example.com', format(
        'insert into public.appointment_waitlist (clinician_id, patient_id, appointment_type, expires_at)
         values (%L, auth.uid(), ''follow_up'', ''infinity'')',
        tests.get_user_id('clin@example.com')
    )),
    '22023', 'expires_at must be a date and time, not infinity', 'a waitlist entry that expires at infinity'
);
select throws_ok(
    tests.as_user('patient@example.com', format(
        'insert into public.appointment_waitlist (clinician_id, patient_id, appointment_type, preferred_dates)
         values (%L, auth.uid(), ''follow_up'', array[current_date + 2, ''infinity''])',
        tests.get_user_id('clin@example.com')
    )),
    '22023', 'preferred_dates must all be dates, not infinity', 'a waitlist entry preferring infinity'
);
select lives_ok(
    tests.as_user('patient@example.com', format(
        'insert into public.appointment_waitlist (clinician_id, patient_id, appointment_type, preferred_dates)
         values (%L, auth.uid(), ''follow_up'', array[current_date + 2, current_date + 3])',
        tests.get_user_id('clin@example.com')
    )),
    'one preferring dates, without an expiry, is taken'
);
select is(
    (select count(*)::integer from public.appointment_waitlist), 1, 'and only that one was written'
);

select * from finish();
rollback;
