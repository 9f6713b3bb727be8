-- A value outside an enumeration is refused with 23514 naming it, and a hint of what would do.
begin;
select plan(14);

do $$
declare
    clinician uuid := tests.create_clinician('clin@example.com');
    patient uuid := tests.create_user('patient@example.com');
begin
    perform tests.connect(clinician, patient);
    perform tests.open_every_day(clinician);
    insert into public.calendar_sync_connections (user_id, provider, calendar_id, calendar_name)
    values (clinician, 'google', 'work@group.calendar.google.com', 'Work');
    insert into public.appointment_waitlist (clinician_id, patient_id, appointment_type)
    values (clinician, patient, 'follow_up');
end
$$;

create function pg_temp.patient_books(appointment_type text, location_type text) returns text
language sql as $$
    select tests.as_user('patient@example.com', format(
        'select public.book_appointment(%L, auth.uid(), %L, 30, %L, %L)',
        tests.get_user_id('clin@example.com'), tests.days_ahead(3, '10:00'), appointment_type, location_type
    ))
$$;

select throws_ok(
    pg_temp.patient_books('checkup', 'in_person'),
    '23514', '"checkup" is not an appointment type',
    'a booking of an unknown type names the value (the message named only the domain''s check)'
);
select is(
    (tests.error_said(pg_temp.patient_books('checkup', 'in_person'))).hint,
    'Use one of: initial_consultation, follow_up, therapy_session, assessment, check_up, procedure, '
    || 'test_results, medication_review, urgent_care.',
    'and its hint lists the types'
);
select throws_ok(
    pg_temp.patient_books('follow_up', 'zoom'),
    '23514', '"zoom" is not a location type', 'an unknown location'
);
select is(
    (tests.error_said(pg_temp.patient_books('follow_up', 'zoom'))).hint,
    'Use one of: in_person, video, phone.', 'and its hint lists the locations'
);
select throws_ok(
    tests.as_user('patient@example.com', format(
        'select * from public.get_available_slots(%L, %L, %L, location_type => ''home'')',
        tests.get_user_id('clin@example.com'), tests.days_ahead(1), tests.days_ahead(3)
    )),
    '23514', '"home" is not a location type', 'the slot search says it too'
);
select throws_ok(
    tests.as_user(
        'clin@example.com',
        'insert into public.clinician_availability (clinician_id, day_of_week, start_time, end_time, appointment_types)
         values (auth.uid(), 1, ''18:00'', ''20:00'', ''{follow_up,therapy}'')'
    ),
    '23514', '"therapy" is not an appointment type', 'weekly hours name the one unknown type in their list'
);
select throws_ok(
    tests.as_user('clin@example.com', 'update public.clinicians set video_provider = ''skype'' where clinician_id = auth.uid()'),
    '23514', '"skype" is not a video provider', 'a clinician''s video provider'
);
select throws_ok(
    tests.as_user('clin@example.com', 'update public.calendar_sync_connections set sync_direction = ''both'' where user_id = auth.uid()'),
    '23514', '"both" is not a sync direction', 'a calendar''s sync direction'
);
select is(
    (tests.error_said(tests.as_user(
        'patient@example.com',
        'update public.appointment_waitlist set status = ''left'' where patient_id = auth.uid()'
    ))).hint,
    'Set status to cancelled to leave the waitlist, or to active to join it again.',
    'a waitlist status, with what a person may set'
);
select throws_ok(
    format(
        'insert into public.appointments (clinician_id, patient_id, appointment_type, location_type, status, scheduled_start, scheduled_end)
         values (%L, %L, ''follow_up'', ''in_person'', ''done'', %L, %L)',
        tests.get_user_id('clin@example.com'), tests.get_user_id('patient@example.com'),
        tests.days_ahead(6, '10:00'), tests.days_ahead(6, '10:30')
    ),
    '23514', '"done" is not an appointment status', 'an appointment''s status, written straight into the table'
);
select throws_ok(
    pg_temp.patient_books('follow_up', repeat('x', 5000)),
    '23514', format('"%s" is not a location type', repeat('x', 100)),
    'a long value is named by its first 100 characters'
);

select lives_ok(
    pg_temp.patient_books('follow_up', 'video'), 'known values are booked as before'
);
select lives_ok(
    tests.as_user(
        'clin@example.com',
        'insert into public.clinician_availability (clinician_id, day_of_week, start_time, end_time, location_type)
         values (auth.uid(), 1, ''18:00'', ''20:00'', null)'
    ),
    'a location left out (null) is no value to refuse'
);
set local role service_role;
select lives_ok(
    format(
        'update public.clinicians set video_provider = ''zoom'' where clinician_id = %L',
        tests.get_user_id('clin@example.com')
    ),
    'the service role writes known values (it may run the refusing function, as every API role)'
);
reset role;

select * from finish();
rollback;
