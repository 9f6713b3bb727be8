-- The booking RPCs as the frontend calls them: happy paths and every error with its SQLSTATE.
begin;
select plan(47);

do $$
declare
    clinician uuid := tests.create_clinician('clin@example.com');
    auto_clinician uuid := tests.create_clinician('auto@example.com', auto_confirm => true);
    patient uuid := tests.create_user('patient@example.com');
    second_patient uuid := tests.create_user('second@example.com');
begin
    perform tests.create_user('stranger@example.com');
    perform tests.open_every_day(clinician);
    perform tests.open_every_day(auto_clinician);
    perform tests.connect(clinician, patient);
    perform tests.connect(clinician, second_patient);
    perform tests.connect(auto_clinician, patient);
end
$$;

create function pg_temp.book_as(
    caller_email text, patient_email text, start_at timestamptz, clinician_email text default 'clin@example.com',
    minutes integer default 30
) returns public.appointments
language plpgsql as $$
declare
    booked public.appointments;
begin
    perform tests.authenticate_as(tests.get_user_id(caller_email));
    select * into booked from public.book_appointment(
        clinician_id => tests.get_user_id(clinician_email), patient_id => tests.get_user_id(patient_email),
        scheduled_start => start_at, duration_minutes => minutes,
        appointment_type => 'follow_up', location_type => 'in_person', title => 'Check-in'
    );
    perform tests.clear_authentication();
    return booked;
end
$$;

create function pg_temp.appointment_at(start_at timestamptz) returns uuid
language sql as $$
    select a.id from public.appointments as a
    where a.scheduled_start = start_at and a.status in ('requested', 'confirmed', 'in_progress')
$$;

-- ----------------------------------------------------------------------------- book_appointment
select is(
    (
        select (b.status, b.booked_by = tests.get_user_id('patient@example.com'), b.title)::text
        from pg_temp.book_as('patient@example.com', 'patient@example.com', tests.days_ahead(3, '10:00')) as b
    ),
    ('requested', true, 'Check-in')::text,
    'a patient books an offered slot for themselves: requested'
);
select is(
    (select b.status::text from pg_temp.book_as(
        'patient@example.com', 'patient@example.com', tests.days_ahead(4, '10:00'), 'auto@example.com'
    ) as b),
    'confirmed', 'with a clinician who auto-confirms, it is confirmed at once'
);
select throws_ok(
    $$select pg_temp.book_as('second@example.com', 'second@example.com', tests.days_ahead(3, '10:00'))$$,
    'PT409', 'that time is no longer free', 'a taken slot is a 409 that says the time is no longer free'
);
select throws_ok(
    $$select pg_temp.book_as('patient@example.com', 'patient@example.com', tests.days_ahead(3, '11:10'))$$,
    '22023', null, 'a time between slots is not bookable by a patient'
);
select throws_ok(
    $$select pg_temp.book_as('patient@example.com', 'patient@example.com', tests.days_ahead(3, '20:00'))$$,
    '22023', null, 'a time outside working hours is not bookable by a patient'
);
select throws_ok(
    $$select pg_temp.book_as('patient@example.com', 'second@example.com', tests.days_ahead(3, '11:00'))$$,
    '42501', null, 'a patient cannot book for another patient'
);
select throws_ok(
    $$select pg_temp.book_as('stranger@example.com', 'stranger@example.com', tests.days_ahead(3, '11:00'))$$,
    '42501', 'you are not connected to this clinician', 'a patient who is not connected cannot book'
);
select is(
    (
        select (b.status, b.scheduled_start)::text
        from pg_temp.book_as('clin@example.com', 'second@example.com', tests.days_ahead(3, '20:00')) as b
    ),
    ('confirmed', tests.days_ahead(3, '20:00'))::text,
    'the clinician books a connected patient outside working hours: confirmed'
);
select throws_ok(
    $$select pg_temp.book_as('clin@example.com', 'second@example.com', tests.days_ahead(3, '10:15'))$$,
    'PT409', 'that time is no longer free', 'the clinician can never book over another appointment'
);
select throws_ok(
    $$select pg_temp.book_as('auto@example.com', 'patient@example.com', tests.days_ahead(3, '10:00'), 'auto@example.com')$$,
    'PT409', 'the patient already has an appointment at that time', 'nor over the patient''s other appointment'
);
select throws_ok(
    $$select pg_temp.book_as('clin@example.com', 'stranger@example.com', tests.days_ahead(3, '12:00'))$$,
    '42501', null, 'the clinician cannot book someone who is not their patient'
);
select throws_ok(
    $$select pg_temp.book_as('clin@example.com', 'patient@example.com', now() - interval '1 hour')$$,
    '22023', null, 'a time in the past is refused'
);
select throws_ok(
    $$select pg_temp.book_as('clin@example.com', 'patient@example.com', tests.days_ahead(5), minutes => 0)$$,
    '22023', null, 'a zero-minute visit is refused'
);
select throws_ok(
    $$select tests.call_as('clin@example.com', $q$select public.book_appointment(auth.uid(), tests.get_user_id('patient@example.com'), tests.days_ahead(5), 30, 'massage', 'in_person')$q$)$$,
    '23514', null, 'an unknown appointment type is refused'
);
select throws_ok(
    $$select tests.call_as('patient@example.com', $q$select public.book_appointment(gen_random_uuid(), auth.uid(), tests.days_ahead(5), 30, 'follow_up', 'in_person')$q$)$$,
    'PT404', null, 'an unknown clinician is a 404'
);
select tests.authenticate_as_anon();
select throws_ok(
    $$select public.book_appointment(gen_random_uuid(), gen_random_uuid(), now(), 30, 'follow_up', 'in_person')$$,
    '42501', null, 'anon cannot book'
);
select tests.clear_authentication();

-- ----------------------------------------------------------------------------- confirm_appointment
select throws_ok(
    $$select tests.call_as('patient@example.com', format('select public.confirm_appointment(%L)', pg_temp.appointment_at(tests.days_ahead(3, '10:00'))))$$,
    '42501', 'only the clinician can confirm an appointment', 'a patient cannot confirm'
);
select throws_ok(
    $$select tests.call_as('stranger@example.com', format('select public.confirm_appointment(%L)', pg_temp.appointment_at(tests.days_ahead(3, '10:00'))))$$,
    'PT404', null, 'someone else''s appointment is not found'
);
select lives_ok(
    $$select tests.call_as('clin@example.com', format('select public.confirm_appointment(%L)', pg_temp.appointment_at(tests.days_ahead(3, '10:00'))))$$,
    'the clinician confirms'
);
select is(
    (select (status, confirmed_at is not null)::text from public.appointments where id = pg_temp.appointment_at(tests.days_ahead(3, '10:00'))),
    ('confirmed', true)::text, 'the appointment is confirmed, with the time it was'
);
select throws_ok(
    $$select tests.call_as('clin@example.com', format('select public.confirm_appointment(%L)', pg_temp.appointment_at(tests.days_ahead(3, '10:00'))))$$,
    '22023', 'an appointment cannot go from confirmed to confirmed', 'confirming twice is refused'
);

-- ----------------------------------------------------------------------------- reschedule_appointment
select lives_ok(
    $$select tests.call_as('patient@example.com', format('select public.reschedule_appointment(%L, %L)', pg_temp.appointment_at(tests.days_ahead(3, '10:00')), tests.days_ahead(3, '14:00')))$$,
    'the patient moves their appointment to another offered slot'
);
select is(
    (select (scheduled_end, duration_minutes, ical_sequence)::text from public.appointments where id = pg_temp.appointment_at(tests.days_ahead(3, '14:00'))),
    (tests.days_ahead(3, '14:30'), 30, 2)::text,
    'the end moves with the start and the iCalendar sequence grows'
);
select lives_ok(
    $$select tests.call_as('patient@example.com', format('select public.reschedule_appointment(%L, %L)', pg_temp.appointment_at(tests.days_ahead(3, '14:00')), tests.days_ahead(3, '14:30')))$$,
    'a patient can move into time their own appointment held (it does not block itself)'
);
do $$
begin
    perform tests.add_appointment(tests.get_user_id('clin@example.com'), tests.get_user_id('second@example.com'), tests.days_ahead(3, '16:00'));
end
$$;
select throws_ok(
    $$select tests.call_as('patient@example.com', format('select public.reschedule_appointment(%L, %L)', pg_temp.appointment_at(tests.days_ahead(3, '14:30')), tests.days_ahead(3, '16:00')))$$,
    'PT409', 'that time is no longer free', 'the patient cannot move into taken time'
);
select throws_ok(
    $$select tests.call_as('patient@example.com', format('select public.reschedule_appointment(%L, %L)', pg_temp.appointment_at(tests.days_ahead(3, '14:30')), tests.days_ahead(3, '20:00')))$$,
    '22023', null, 'time outside the hours is never offered to a patient, whether or not the clinician booked it'
);
select throws_ok(
    $$select tests.call_as('patient@example.com', format('select public.reschedule_appointment(%L, %L)', pg_temp.appointment_at(tests.days_ahead(3, '14:30')), tests.days_ahead(3, '21:00')))$$,
    '22023', null, 'the patient cannot move outside working hours'
);
select throws_ok(
    $$select tests.call_as('clin@example.com', format('select public.reschedule_appointment(%L, %L)', pg_temp.appointment_at(tests.days_ahead(3, '20:00')), tests.days_ahead(3, '14:45')))$$,
    'PT409', 'that time is no longer free', 'the clinician cannot double-book by rescheduling'
);
select lives_ok(
    $$select tests.call_as('clin@example.com', format('select public.reschedule_appointment(%L, %L, 60)', pg_temp.appointment_at(tests.days_ahead(3, '20:00')), tests.days_ahead(3, '21:00')))$$,
    'the clinician moves an appointment outside working hours and lengthens it'
);
select is(
    (select duration_minutes from public.appointments where id = pg_temp.appointment_at(tests.days_ahead(3, '21:00'))),
    60, 'the new duration is kept'
);
select throws_ok(
    $$select tests.call_as('stranger@example.com', format('select public.reschedule_appointment(%L, %L)', pg_temp.appointment_at(tests.days_ahead(3, '21:00')), tests.days_ahead(6)))$$,
    'PT404', null, 'a stranger cannot find the appointment to move it'
);

-- ----------------------------------------------------------------------------- update_appointment_status
select throws_ok(
    $$select tests.call_as('patient@example.com', format('select public.update_appointment_status(%L, %L)', pg_temp.appointment_at(tests.days_ahead(3, '14:30')), 'in_progress'))$$,
    '42501', null, 'a patient cannot start the visit'
);
select throws_ok(
    $$select tests.call_as('clin@example.com', format('select public.update_appointment_status(%L, %L)', pg_temp.appointment_at(tests.days_ahead(3, '14:30')), 'cancelled'))$$,
    '22023', null, 'update_appointment_status does not cancel'
);
select throws_ok(
    $$select tests.call_as('clin@example.com', format('select public.update_appointment_status(%L, %L)', pg_temp.appointment_at(tests.days_ahead(3, '14:30')), 'completed'))$$,
    '22023', 'an appointment cannot go from confirmed to completed', 'a visit is started before it is completed'
);
select lives_ok(
    $$select tests.call_as('clin@example.com', format('select public.update_appointment_status(%L, %L)', pg_temp.appointment_at(tests.days_ahead(3, '14:30')), 'in_progress'))$$,
    'the clinician starts the visit'
);
select lives_ok(
    $$select tests.call_as('clin@example.com', format('select public.update_appointment_status(%L, %L)', pg_temp.appointment_at(tests.days_ahead(3, '14:30')), 'completed'))$$,
    'the clinician completes the visit'
);
select is(
    (select status::text from public.appointments where scheduled_start = tests.days_ahead(3, '14:30')),
    'completed', 'the visit is completed'
);

-- ----------------------------------------------------------------------------- cancel_appointment
select throws_ok(
    $$select tests.call_as('second@example.com', format('select public.cancel_appointment(%L, %L)', pg_temp.appointment_at(tests.days_ahead(3, '21:00')), '  '))$$,
    '22023', 'a reason is required to cancel', 'cancelling needs a reason'
);
select lives_ok(
    $$select tests.call_as('second@example.com', format('select public.cancel_appointment(%L, %L)', pg_temp.appointment_at(tests.days_ahead(3, '21:00')), 'Feeling better'))$$,
    'the patient cancels with a reason'
);
select is(
    (
        select (status, cancellation_reason, cancelled_by = tests.get_user_id('second@example.com'), cancelled_at is not null)::text
        from public.appointments where scheduled_start = tests.days_ahead(3, '21:00')
    ),
    ('cancelled', 'Feeling better', true, true)::text,
    'the cancellation records the reason, who and when'
);
select throws_ok(
    $$select tests.call_as('clin@example.com', format('select public.cancel_appointment(id, %L) from public.appointments where scheduled_start = %L', 'again', tests.days_ahead(3, '21:00')))$$,
    '22023', 'an appointment cannot go from cancelled to cancelled', 'a cancelled appointment cannot be cancelled again'
);
select throws_ok(
    $$select tests.call_as('clin@example.com', format('select public.cancel_appointment(id, %L) from public.appointments where scheduled_start = %L', 'late', tests.days_ahead(3, '14:30')))$$,
    '22023', null, 'a completed visit cannot be cancelled'
);
select lives_ok(
    $$select pg_temp.book_as('clin@example.com', 'second@example.com', tests.days_ahead(3, '21:00'))$$,
    'cancelled time is free to book again'
);

-- ----------------------------------------------------------------------------- audit
select is(
    (
        select array_agg(l.changed_by_role || ':' || coalesce(l.new_values ->> 'status', '') order by l.id)
        from public.appointment_audit_log as l
        where l.appointment_id = (select a.id from public.appointments as a where a.scheduled_start = tests.days_ahead(3, '14:30'))
    ),
    '{authenticated:requested,authenticated:confirmed,authenticated:confirmed,authenticated:confirmed,authenticated:in_progress,authenticated:completed}'::text[],
    'every step of an appointment is in its audit log'
);
select is(
    (
        select array_agg(distinct l.changed_by)
        from public.appointment_audit_log as l
        where l.appointment_id = (select a.id from public.appointments as a where a.scheduled_start = tests.days_ahead(3, '14:30'))
    ),
    (select array_agg(u.id order by u.id) from auth.users as u where u.email in ('clin@example.com', 'patient@example.com')),
    'the log names who made each change'
);
create function pg_temp.this_files_appointments() returns setof public.appointments
language sql as $$
    select a.* from public.appointments as a
    where a.clinician_id in (tests.get_user_id('clin@example.com'), tests.get_user_id('auto@example.com'))
$$;
select is(
    (select count(*)::int from pg_temp.this_files_appointments()),
    (
        select count(distinct l.appointment_id)::int from public.appointment_audit_log as l
        where l.appointment_id in (select a.id from pg_temp.this_files_appointments() as a)
    ),
    'nothing was written without a log entry'
);
select is(
    (select count(*)::int from pg_temp.this_files_appointments() where status in ('requested', 'confirmed', 'in_progress')),
    3, 'no failed call left a row behind'
);

select * from finish();
rollback;
