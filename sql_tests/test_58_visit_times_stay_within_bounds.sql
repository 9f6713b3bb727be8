-- A visit starts at most five years ahead and lasts 5 to 480 minutes, however it is written;
-- visits stored further ahead before the rule stay, and may still be changed and cancelled.
begin;
select plan(15);
set local timezone = 'UTC';

do $$
declare
    clinician uuid := tests.create_clinician('clin@example.com');
    patient uuid := tests.create_user('patient@example.com');
begin
    perform tests.connect(clinician, patient);
    perform tests.open_every_day(clinician);
    perform tests.add_appointment(clinician, patient, tests.days_ahead(3), 30, 'confirmed');
end
$$;

create function pg_temp.book(scheduled_start timestamptz) returns text
language sql as $$
    select tests.as_user('clin@example.com', format(
        'select public.book_appointment(%L, %L, %L, 30, ''follow_up'', ''in_person'')',
        tests.get_user_id('clin@example.com'), tests.get_user_id('patient@example.com'), scheduled_start
    ))
$$;

-- What a refusal says of a visit that would start on this date.
create function pg_temp.refusal(starts date) returns text
language sql as $$
    select format(
        'a visit starts at most five years ahead (by %s), not on %s', (now() + interval '5 years')::date, starts
    )
$$;

create function pg_temp.visit_on(day date) returns uuid
language sql as $$
    select a.id from public.appointments as a
    where a.clinician_id = tests.get_user_id('clin@example.com') and a.scheduled_start::date = day
$$;

select throws_ok(
    pg_temp.book('3027-03-01 09:00Z'), '22023', pg_temp.refusal('3027-03-01'),
    'a clinician booking a year typed 3027 is refused in words'
);
select is(
    (tests.error_said(pg_temp.book('3027-03-01 09:00Z'))).hint, 'Check the year of the date.',
    'the hint says what to check'
);
select throws_ok(
    pg_temp.book('294276-12-31 23:00Z'), '22023', pg_temp.refusal('294276-12-31'),
    'the last hours PostgreSQL can hold are refused as any far time'
);
select lives_ok(
    pg_temp.book(date_trunc('hour', now() + interval '5 years' - interval '1 day')),
    'a visit a day short of five years ahead is booked'
);
select throws_ok(
    tests.as_user('clin@example.com', format(
        'select public.reschedule_appointment(%L, ''3027-03-01 09:00Z'')', pg_temp.visit_on(current_date + 3)
    )),
    '22023', pg_temp.refusal('3027-03-01'), 'a visit moved to 3027'
);
select throws_like(
    tests.as_user('clin@example.com', format(
        'select public.book_appointment_series(%L, %L, %L, 30, ''follow_up'', ''in_person'', 52, 4)',
        tests.get_user_id('clin@example.com'), tests.get_user_id('patient@example.com'),
        tests.days_ahead(400)
    )),
    'visit % of 52 %a visit starts at most five years ahead%',
    'a series whose later visits pass five years names the first of them'
);
select throws_ok(
    tests.as_user('clin@example.com', format(
        'select public.offer_appointment_times(%L, %L, ''follow_up'', ''in_person'')',
        tests.get_user_id('patient@example.com'),
        jsonb_build_array(
            jsonb_build_object('start', tests.days_ahead(4), 'end', tests.days_ahead(4) + interval '30 minutes', 'duration', 30),
            jsonb_build_object('start', '3027-03-01T09:00:00Z', 'end', '3027-03-01T09:30:00Z', 'duration', 30)
        )
    )),
    '22023', format('option 2 starts on 3027-03-01, more than five years ahead (by %s)', (now() + interval '5 years')::date),
    'an offer with a time in 3027 names the option'
);
select throws_ok(
    format(
        'select tests.add_appointment(%L, %L, ''3027-03-01 09:00Z'')',
        tests.get_user_id('clin@example.com'), tests.get_user_id('patient@example.com')
    ),
    '22023', pg_temp.refusal('3027-03-01'), 'a visit written straight into the table, as a DBA could'
);
select throws_ok(
    format(
        'select tests.add_appointment(%L, %L, %L, 600)',
        tests.get_user_id('clin@example.com'), tests.get_user_id('patient@example.com'), tests.days_ahead(6)
    ),
    '22023', 'a visit lasts 5 to 480 minutes, not 600', 'a ten-hour visit written straight into the table'
);
select throws_ok(
    format(
        'update public.appointments set scheduled_end = scheduled_start + interval ''2 minutes'' where id = %L',
        pg_temp.visit_on(current_date + 3)
    ),
    '22023', 'a visit lasts 5 to 480 minutes, not 2', 'a visit cut to two minutes in the table'
);
select throws_ok(
    format(
        'update public.appointments set scheduled_end = scheduled_start - interval ''1 minute'' where id = %L',
        pg_temp.visit_on(current_date + 3)
    ),
    '23514', null, 'times out of order are left to the table''s check'
);
select is(
    (select count(*)::integer from public.appointments as a where a.clinician_id = tests.get_user_id('clin@example.com')),
    2, 'only the visit short of five years was added'
);

-- A visit stored in 3028 before the rule, written with its times' trigger off.
alter table public.appointments disable trigger _200_derive_times;
insert into public.appointments (
    clinician_id, patient_id, scheduled_start, scheduled_end, duration_minutes, blocked_until,
    appointment_type, location_type, status
) values (
    tests.get_user_id('clin@example.com'), tests.get_user_id('patient@example.com'),
    '3028-06-01 09:00Z', '3028-06-01 09:30Z', 30, '3028-06-01 09:30Z', 'follow_up', 'in_person', 'confirmed'
);
alter table public.appointments enable trigger _200_derive_times;

select lives_ok(
    format('update public.appointments set title = ''Typed in 3028'' where id = %L', pg_temp.visit_on('3028-06-01')),
    'a visit stored further ahead is renamed'
);
select lives_ok(
    tests.as_user('clin@example.com', format(
        'select public.cancel_appointment(%L, ''the year was a typo'')', pg_temp.visit_on('3028-06-01')
    )),
    'and cancelled by its clinician'
);
select is(
    (select a.status::text from public.appointments as a where a.id = pg_temp.visit_on('3028-06-01')),
    'cancelled', 'its cancellation is stored'
);

select * from finish();
rollback;
