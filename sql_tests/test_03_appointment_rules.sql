-- Rules the appointments table enforces itself: the state machine, no double booking (with
-- the buffer), enumerations, derived columns and the audit log.
begin;
select plan(28);

do $$
declare
    clinician uuid := tests.create_clinician('clin@example.com', buffer_minutes => 15);
    patient uuid := tests.create_user('patient@example.com');
    second_patient uuid := tests.create_user('second@example.com');
begin
    perform tests.connect(clinician, patient);
    perform tests.connect(clinician, second_patient);
end
$$;

create temporary table t_ids as
select
    tests.get_user_id('clin@example.com') as clinician,
    tests.get_user_id('patient@example.com') as patient,
    tests.get_user_id('second@example.com') as second_patient;

-- Every allowed transition, each from a fresh appointment.
create function pg_temp.transition(path text[]) returns text
language plpgsql as $$
declare
    ids record;
    appointment uuid;
    step text;
begin
    select * into ids from t_ids;
    appointment := tests.add_appointment(
        ids.clinician, ids.patient,
        tests.days_ahead(400 + (select count(*)::integer from public.appointments), '09:00'),
        30, path[1]
    );
    foreach step in array path[2:] loop
        update public.appointments set status = step,
            cancellation_reason = case when step = 'cancelled' then 'patient is unwell' end
        where id = appointment;
    end loop;
    return (select status from public.appointments where id = appointment);
end
$$;

select is(pg_temp.transition('{requested,confirmed}'), 'confirmed', 'requested -> confirmed');
select is(pg_temp.transition('{requested,cancelled}'), 'cancelled', 'requested -> cancelled');
select is(pg_temp.transition('{confirmed,in_progress}'), 'in_progress', 'confirmed -> in_progress');
select is(pg_temp.transition('{confirmed,cancelled}'), 'cancelled', 'confirmed -> cancelled');
select is(pg_temp.transition('{confirmed,no_show}'), 'no_show', 'confirmed -> no_show');
select is(pg_temp.transition('{confirmed,in_progress,completed}'), 'completed', 'in_progress -> completed');

select throws_ok(
    $$select pg_temp.transition('{requested,completed}')$$, '22023',
    'an appointment cannot go from requested to completed', 'requested -> completed is refused, naming both'
);
select throws_ok($$select pg_temp.transition('{requested,in_progress}')$$, '22023', null, 'requested -> in_progress is refused');
select throws_ok($$select pg_temp.transition('{confirmed,requested}')$$, '22023', null, 'confirmed -> requested is refused');
select throws_ok($$select pg_temp.transition('{confirmed,completed}')$$, '22023', null, 'confirmed -> completed is refused');
select throws_ok(
    $$select pg_temp.transition('{confirmed,cancelled,confirmed}')$$, '22023',
    'an appointment cannot go from cancelled to confirmed', 'a cancelled appointment stays cancelled'
);
select throws_ok(
    $$select pg_temp.transition('{confirmed,in_progress,completed,cancelled}')$$, '22023', null,
    'a completed appointment cannot be cancelled'
);
select throws_ok($$select pg_temp.transition('{confirmed,no_show,completed}')$$, '22023', null, 'no_show is final');

select lives_ok(
    $$select tests.add_appointment((select clinician from t_ids), (select patient from t_ids), '2029-01-01 09:00Z')$$,
    'an appointment to cancel'
);
select throws_ok(
    $$update public.appointments set status = 'cancelled' where scheduled_start = '2029-01-01 09:00Z'$$,
    '23514', null, 'cancelling needs a reason'
);

-- Double booking
select lives_ok(
    $$select tests.add_appointment((select clinician from t_ids), (select patient from t_ids), '2029-02-01 09:00Z')$$,
    'a first appointment at 09:00'
);
select throws_ok(
    $$select tests.add_appointment((select clinician from t_ids), (select second_patient from t_ids), '2029-02-01 09:15Z')$$,
    '23P01', null, 'an overlapping appointment of the clinician is refused by the table itself'
);
select throws_ok(
    $$select tests.add_appointment((select clinician from t_ids), (select second_patient from t_ids), '2029-02-01 09:40Z')$$,
    '23P01', null, 'the 15-minute buffer after an appointment blocks too'
);
select lives_ok(
    $$select tests.add_appointment((select clinician from t_ids), (select second_patient from t_ids), '2029-02-01 09:45Z')$$,
    'the time after the buffer is free'
);
select lives_ok(
    $$select tests.add_appointment((select clinician from t_ids), (select second_patient from t_ids), '2029-02-01 09:00Z', 30, 'cancelled')$$,
    'a cancelled appointment does not block'
);
select throws_ok(
    $$select tests.add_appointment(tests.create_clinician('other@example.com'), (select patient from t_ids), '2029-02-01 09:10Z')$$,
    '23P01', null, 'a patient cannot be in two appointments at once'
);

-- Enumerations and derived values
select throws_ok(
    $$insert into public.appointments (clinician_id, patient_id, scheduled_start, scheduled_end, appointment_type, location_type)
      values ((select clinician from t_ids), (select patient from t_ids), '2029-03-01 09:00Z', '2029-03-01 09:30Z', 'massage', 'video')$$,
    '23514', null, 'an unknown appointment type is refused'
);
select throws_ok(
    $$insert into public.appointments (clinician_id, patient_id, scheduled_start, scheduled_end, appointment_type, location_type)
      values ((select clinician from t_ids), (select patient from t_ids), '2029-03-01 09:00Z', '2029-03-01 09:30Z', 'follow_up', 'moon')$$,
    '23514', null, 'an unknown location type is refused'
);
select throws_ok(
    $$insert into public.clinicians (clinician_id, display_name, timezone) values (tests.create_user('tz@example.com'), 'Dr Tz', 'Mars/Olympus')$$,
    '22023', 'unknown time zone "Mars/Olympus"', 'an unknown time zone is refused'
);

select is(
    (
        select (duration_minutes, blocked_until)::text from public.appointments
        where scheduled_start = '2029-02-01 09:45Z'
    ),
    (30, '2029-02-01 10:30Z'::timestamptz)::text,
    'duration and blocked_until (end + buffer) are derived from the times'
);
select ok(
    (select ical_sequence from public.appointments where scheduled_start = '2029-02-01 09:00Z' and status = 'confirmed') = 0,
    'a new appointment starts at iCalendar sequence 0'
);

-- Audit log
select tests.authenticate_as(tests.get_user_id('patient@example.com'));
update public.appointments set patient_notes = 'I will be late' where scheduled_start = '2029-02-01 09:00Z' and status = 'confirmed';
select tests.clear_authentication();

select is(
    (
        select (changed_by, changed_by_role, old_values ->> 'patient_notes', new_values ->> 'patient_notes')::text
        from public.appointment_audit_log where operation = 'UPDATE' and changed_by is not null
    ),
    (tests.get_user_id('patient@example.com'), 'authenticated', null::text, 'I will be late')::text,
    'an update is logged with who made it and the values before and after'
);
select is(
    (select count(*)::int from public.appointment_audit_log where operation = 'INSERT' and changed_by is null),
    (select count(*)::int from public.appointments),
    'every insert is logged, by a worker or DBA when no user is signed in'
);

select * from finish();
rollback;
