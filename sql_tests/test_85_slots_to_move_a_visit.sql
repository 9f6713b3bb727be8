-- moving_appointment_id: the times a visit can move to. The visit no longer hides the slots
-- around it (its own time, and the buffer's neighbours), its type, place and length are
-- searched, and each time given is one reschedule_appointment moves it to; refusals as the
-- move's own.
begin;
select plan(13);

do $$
declare
    clinician uuid := tests.create_clinician('clin@example.com', buffer_minutes => 15);
    other_clinician uuid := tests.create_clinician('other@example.com');
    patient uuid := tests.create_user('patient@example.com');
    second_patient uuid := tests.create_user('second@example.com');
begin
    perform tests.open_every_day(clinician, '09:00', '12:00');
    perform tests.connect(clinician, patient);
    perform tests.connect(clinician, second_patient);
    perform tests.connect(other_clinician, patient);
    -- Day 3: the patient's visit 10:00-10:30, another patient's 11:30-12:00; a visit of the
    -- patient's elsewhere on day 4 at 09:00.
    perform tests.add_appointment(clinician, patient, tests.days_ahead(3, '10:00'), 30);
    perform tests.add_appointment(clinician, second_patient, tests.days_ahead(3, '11:30'), 30);
    perform tests.add_appointment(other_clinician, patient, tests.days_ahead(4, '09:00'), 30);
    perform tests.add_appointment(other_clinician, patient, tests.days_ahead(6, '09:00'), 30, 'cancelled');
end
$$;

create temporary table visits as
select
    (select a.id from public.appointments as a where a.scheduled_start = tests.days_ahead(3, '10:00')) as moving,
    (select a.id from public.appointments as a where a.scheduled_start = tests.days_ahead(3, '11:30')) as others,
    (select a.id from public.appointments as a where a.scheduled_start = tests.days_ahead(4, '09:00')) as elsewhere;
grant select on visits to authenticated;

-- The starts (HH24:MI) of a day's slots the user is given, moving this visit (null: none).
create function pg_temp.day_for(searcher text, day integer, visit uuid) returns text[]
language plpgsql as $$
declare
    starts text[];
begin
    perform tests.authenticate_as(tests.get_user_id(searcher));
    select array_agg(to_char(s.slot_start at time zone 'UTC', 'HH24:MI') order by s.slot_start)
    into starts
    from public.get_available_slots(
        clinician_id => tests.get_user_id('clin@example.com'),
        range_start => tests.days_ahead(day, '00:00'), range_end => tests.days_ahead(day + 1, '00:00'),
        moving_appointment_id => visit
    ) as s;
    perform tests.clear_authentication();
    return starts;
end
$$;

select is(
    pg_temp.day_for('patient@example.com', 3, null),
    array['09:00'],
    'searching as for a new visit, the patient''s own visit and its buffer hide 09:30 to 10:30'
);
select is(
    pg_temp.day_for('patient@example.com', 3, (select v.moving from visits as v)),
    array['09:00', '09:30', '10:00', '10:30'],
    'moving it, the times around it are given (11:00 stays hidden by the other visit with the buffer)'
);
select is(
    pg_temp.day_for('clin@example.com', 3, (select v.moving from visits as v)),
    array['09:00', '09:30', '10:00', '10:30'],
    'the clinician moving it is given the same'
);
select is(
    pg_temp.day_for('clin@example.com', 4, (select v.moving from visits as v)),
    array['09:30', '10:00', '10:30', '11:00', '11:30'],
    'and, on another day, not over the patient''s visit elsewhere'
);
select is(
    pg_temp.day_for('clin@example.com', 6, (select v.moving from visits as v)),
    array['09:00', '09:30', '10:00', '10:30', '11:00', '11:30'],
    'a cancelled visit elsewhere hides nothing'
);
select is(
    (
        select array_agg(s.slot_start order by s.slot_start)
        from public.get_next_available_slots(
            clinician_id => tests.get_user_id('clin@example.com'), after => tests.days_ahead(3, '09:15'),
            slot_count => 3, moving_appointment_id => (select v.moving from visits as v)
        ) as s
    ),
    array[tests.days_ahead(3, '09:30'), tests.days_ahead(3, '10:00'), tests.days_ahead(3, '10:30')],
    'get_next_available_slots gives the next times to move it to'
);

-- A time given is one the move takes; one not given, the move refuses.
select lives_ok(
    tests.as_user('patient@example.com', format(
        'select public.reschedule_appointment(%L, %L)', (select v.moving from visits as v), tests.days_ahead(3, '10:30')
    )),
    'the patient moves it half an hour later, a time given'
);
select throws_ok(
    tests.as_user('patient@example.com', format(
        'select public.reschedule_appointment(%L, %L)', (select v.moving from visits as v), tests.days_ahead(3, '11:00')
    )),
    'PT409', null,
    'and cannot move it to 11:00, a time not given'
);

-- ------------------------------------------------------------------------------------ refusals
select throws_ok(
    tests.as_user('second@example.com', format(
        'select * from public.get_available_slots(%L, %L, %L, moving_appointment_id => %L)',
        tests.get_user_id('clin@example.com'), tests.days_ahead(3, '00:00'), tests.days_ahead(4, '00:00'),
        (select v.moving from visits as v)
    )),
    'PT404', format('no appointment %s that you can see', (select v.moving from visits as v)),
    'another patient cannot search for someone else''s visit'
);
select throws_ok(
    tests.as_user('patient@example.com', format(
        'select * from public.get_available_slots(%L, %L, %L, moving_appointment_id => %L)',
        tests.get_user_id('clin@example.com'), tests.days_ahead(3, '00:00'), tests.days_ahead(4, '00:00'),
        (select v.elsewhere from visits as v)
    )),
    '22023', 'that appointment is with another clinician',
    'a visit with another clinician is searched with that clinician'
);
select throws_ok(
    tests.as_user('patient@example.com', format(
        'select * from public.get_available_slots(%L, %L, %L, appointment_type => %L, moving_appointment_id => %L)',
        tests.get_user_id('clin@example.com'), tests.days_ahead(3, '00:00'), tests.days_ahead(4, '00:00'),
        'assessment', (select v.moving from visits as v)
    )),
    '22023', 'a visit keeps its appointment_type and location_type when it moves',
    'a move keeps the visit''s type'
);
update public.appointments set status = 'cancelled', cancellation_reason = 'test'
where id = (select v.others from visits as v);
select throws_ok(
    tests.as_user('second@example.com', format(
        'select * from public.get_available_slots(%L, %L, %L, moving_appointment_id => %L)',
        tests.get_user_id('clin@example.com'), tests.days_ahead(3, '00:00'), tests.days_ahead(4, '00:00'),
        (select v.others from visits as v)
    )),
    '22023', 'a cancelled appointment cannot be rescheduled',
    'a cancelled visit cannot be moved, so has no times to move to'
);
update public.clinicians set patient_change_cutoff_hours = 96
where clinician_id = tests.get_user_id('clin@example.com');
select throws_ok(
    tests.as_user('patient@example.com', format(
        'select * from public.get_available_slots(%L, %L, %L, moving_appointment_id => %L)',
        tests.get_user_id('clin@example.com'), tests.days_ahead(3, '00:00'), tests.days_ahead(4, '00:00'),
        (select v.moving from visits as v)
    )),
    '42501', null,
    'within the clinician''s cutoff the patient is refused, as the move would be'
);

select * from finish();
rollback;
