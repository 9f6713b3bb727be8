-- A clinician searching for a patient (patient_id) is given the times both are free: the slots
-- over the patient's visits with another clinician are left out of all three searches, and
-- each slot given can be booked for them; who may search for whom.
begin;
select plan(15);

do $$
declare
    clinician uuid := tests.create_clinician('clin@example.com');
    other_clinician uuid := tests.create_clinician('other@example.com');
    patient uuid := tests.create_user('patient@example.com');
    second_patient uuid := tests.create_user('second@example.com');
begin
    perform tests.create_user('stranger@example.com');
    perform tests.open_every_day(clinician, '09:00', '12:00');
    perform tests.connect(clinician, patient);
    perform tests.connect(clinician, second_patient);
    perform tests.connect(other_clinician, patient);
    -- The patient's visits with the other clinician: day 3 at 10:00, day 10 at 09:00 (a week
    -- later, under a series' second visit), and a cancelled one at 11:00 on day 3, which hides
    -- nothing.
    perform tests.add_appointment(other_clinician, patient, tests.days_ahead(3, '10:00'), 45);
    perform tests.add_appointment(other_clinician, patient, tests.days_ahead(10, '09:00'), 30);
    perform tests.add_appointment(other_clinician, patient, tests.days_ahead(3, '11:00'), 30, 'cancelled');
end
$$;

-- The starts (HH24:MI) of day 3's slots the signed-in user is given, searching for patient_id.
create function pg_temp.day_3_for(searcher text, patient_email text) returns text[]
language plpgsql as $$
declare
    starts text[];
begin
    perform tests.authenticate_as(tests.get_user_id(searcher));
    select array_agg(to_char(s.slot_start at time zone 'UTC', 'HH24:MI') order by s.slot_start)
    into starts
    from public.get_available_slots(
        clinician_id => tests.get_user_id('clin@example.com'),
        range_start => tests.days_ahead(3, '00:00'), range_end => tests.days_ahead(4, '00:00'),
        patient_id => tests.get_user_id(patient_email)
    ) as s;
    perform tests.clear_authentication();
    return starts;
end
$$;

-- ------------------------------------------------------------------------- get_available_slots
select is(
    pg_temp.day_3_for('clin@example.com', null),
    array['09:00', '09:30', '10:00', '10:30', '11:00', '11:30'],
    'the clinician searching for nobody is given every slot of their hours'
);
select is(
    pg_temp.day_3_for('clin@example.com', 'patient@example.com'),
    array['09:00', '09:30', '11:00', '11:30'],
    'searching for the patient leaves out the slots over their visit with another clinician (10:00-10:45), not the cancelled one'
);
select is(
    pg_temp.day_3_for('clin@example.com', 'second@example.com'),
    array['09:00', '09:30', '10:00', '10:30', '11:00', '11:30'],
    'for another patient, free then, every slot'
);
select is(
    pg_temp.day_3_for('patient@example.com', 'patient@example.com'),
    pg_temp.day_3_for('patient@example.com', null),
    'a patient passing their own id is given what they are given without it'
);
select is(
    pg_temp.day_3_for('patient@example.com', null),
    array['09:00', '09:30', '11:00', '11:30'],
    'which is what the clinician is given for them'
);

-- Each slot given can be booked for the patient by the clinician; one left out is refused.
select tests.authenticate_as(tests.get_user_id('clin@example.com'));
select lives_ok(
    $$select public.book_appointment(
        clinician_id => tests.get_user_id('clin@example.com'), patient_id => tests.get_user_id('patient@example.com'),
        scheduled_start => tests.days_ahead(3, '11:00'), duration_minutes => 30,
        appointment_type => 'follow_up', location_type => 'in_person')$$,
    'a slot given for the patient books for them'
);
select throws_ok(
    $$select public.book_appointment(
        clinician_id => tests.get_user_id('clin@example.com'), patient_id => tests.get_user_id('patient@example.com'),
        scheduled_start => tests.days_ahead(3, '10:30'), duration_minutes => 30,
        appointment_type => 'follow_up', location_type => 'in_person')$$,
    'PT409', 'the patient already has an appointment at that time',
    'a slot left out is one the booking refuses'
);
select tests.clear_authentication();

-- ------------------------------------------------------------- the next slots and a series
select tests.authenticate_as(tests.get_user_id('clin@example.com'));
select is(
    (
        select array_agg(to_char(s.slot_start at time zone 'UTC', 'HH24:MI') order by s.slot_start)
        from public.get_next_available_slots(
            clinician_id => tests.get_user_id('clin@example.com'), after => tests.days_ahead(3, '09:30'),
            slot_count => 3, patient_id => tests.get_user_id('patient@example.com')
        ) as s
    ),
    -- 11:00 is now the patient's visit with this clinician, booked above.
    array['09:30', '11:30', '09:00'],
    'get_next_available_slots for the patient passes over their visits'
);
select is(
    (
        select array_agg(to_char(s.slot_start at time zone 'UTC', 'HH24:MI') order by s.slot_start)
        from public.get_available_series_slots(
            clinician_id => tests.get_user_id('clin@example.com'),
            range_start => tests.days_ahead(3, '00:00'), range_end => tests.days_ahead(4, '00:00'),
            occurrences => 3, patient_id => tests.get_user_id('patient@example.com')
        ) as s
    ),
    array['09:30', '11:30'],
    'get_available_series_slots for the patient: no first visit on their visit, nor one whose repetition meets one'
);
select is(
    (
        select count(*)::integer
        from public.get_available_series_slots(
            clinician_id => tests.get_user_id('clin@example.com'),
            range_start => tests.days_ahead(3, '00:00'), range_end => tests.days_ahead(4, '00:00'),
            occurrences => 3
        )
    ),
    5,
    'and for nobody, the series over 10:00 and 10:30 too (11:00 is booked)'
);
select tests.clear_authentication();

-- ------------------------------------------------------------------------------ who for whom
select throws_ok(
    tests.as_user('clin@example.com', format(
        'select * from public.get_available_slots(%L, %L, %L, patient_id => %L)',
        tests.get_user_id('clin@example.com'), tests.days_ahead(3, '00:00'), tests.days_ahead(4, '00:00'),
        tests.get_user_id('stranger@example.com')
    )),
    '42501', 'this patient is not connected to the clinician',
    'the clinician cannot search for someone who is not their patient'
);
select throws_ok(
    tests.as_user('patient@example.com', format(
        'select * from public.get_available_slots(%L, %L, %L, patient_id => %L)',
        tests.get_user_id('clin@example.com'), tests.days_ahead(3, '00:00'), tests.days_ahead(4, '00:00'),
        tests.get_user_id('second@example.com')
    )),
    '42501', 'you can search only your own free time',
    'a patient cannot search another patient''s free time'
);
select throws_ok(
    tests.as_user('patient@example.com', format(
        'select * from public.get_next_available_slots(%L, patient_id => %L)',
        tests.get_user_id('clin@example.com'), tests.get_user_id('second@example.com')
    )),
    '42501', 'you can search only your own free time',
    'nor with get_next_available_slots'
);
select throws_ok(
    tests.as_user('patient@example.com', format(
        'select * from public.get_available_series_slots(%L, %L, %L, 2, patient_id => %L)',
        tests.get_user_id('clin@example.com'), tests.days_ahead(3, '00:00'), tests.days_ahead(4, '00:00'),
        tests.get_user_id('second@example.com')
    )),
    '42501', 'you can search only your own free time',
    'nor with get_available_series_slots'
);
select is(
    (
        select count(*)::integer from public.get_available_slots(
            clinician_id => tests.get_user_id('clin@example.com'),
            range_start => tests.days_ahead(3, '00:00'), range_end => tests.days_ahead(4, '00:00'),
            patient_id => tests.get_user_id('patient@example.com')
        )
    ),
    3,
    'the clinic''s server (no signed-in user) searches for a connected patient too'
);

select * from finish();
rollback;
