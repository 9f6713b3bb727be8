-- A clinician's limit on the visits to come a patient books for themselves.
begin;
select plan(12);

do $$
declare
    clinician uuid := tests.create_clinician('clin@example.com');
    unlimited uuid := tests.create_clinician('unlimited@example.com');
    patient uuid := tests.create_user('patient@example.com');
begin
    perform tests.open_every_day(clinician);
    perform tests.open_every_day(unlimited);
    perform tests.connect(clinician, patient);
    perform tests.connect(unlimited, patient);
    update public.clinicians set max_upcoming_per_patient = 2 where clinician_id = clinician;
    -- Not counted: a visit over, a cancelled one, and visits with another clinician.
    perform tests.add_appointment(clinician, patient, now() - interval '2 days', 30, 'completed');
    perform tests.add_appointment(clinician, patient, tests.days_ahead(9, '10:00'), 30, 'cancelled');
    perform tests.add_appointment(unlimited, patient, tests.days_ahead(2, '12:00'));
    perform tests.add_appointment(unlimited, patient, tests.days_ahead(3, '12:00'));
end
$$;

create function pg_temp.book(email text, clinician_email text, days integer) returns void
language sql as $$
    select tests.call_as(
        email,
        format(
            'select public.book_appointment(%L, %L, %L, 30, %L, %L)',
            tests.get_user_id(clinician_email), tests.get_user_id('patient@example.com'),
            tests.days_ahead(days, '10:00'), 'follow_up', 'in_person'
        )
    )
$$;

select lives_ok($$select pg_temp.book('patient@example.com', 'clin@example.com', 2)$$, 'a first visit');
select lives_ok($$select pg_temp.book('patient@example.com', 'clin@example.com', 3)$$, 'a second visit');
select throws_ok(
    $$select pg_temp.book('patient@example.com', 'clin@example.com', 4)$$,
    '42501', 'you already have 2 upcoming visits with this clinician, the most they allow',
    'a third is refused: past, cancelled and other clinicians'' visits are not counted'
);
select is(
    (
        select count(*)::integer from public.appointments
        where clinician_id = tests.get_user_id('clin@example.com') and scheduled_start = tests.days_ahead(4, '10:00')
    ),
    0,
    'and nothing is booked'
);
select lives_ok(
    $$select tests.call_as(
        'patient@example.com',
        format(
            'select public.reschedule_appointment(%L, %L)',
            (select id from public.appointments where scheduled_start = tests.days_ahead(3, '10:00')),
            tests.days_ahead(5, '10:00')
        )
    )$$,
    'moving one of them is not a new visit'
);
select lives_ok(
    $$select tests.call_as(
        'patient@example.com',
        format(
            'select public.cancel_appointment(%L, %L)',
            (select id from public.appointments where scheduled_start = tests.days_ahead(5, '10:00')), 'clash'
        )
    )$$,
    'the patient cancels one'
);
select lives_ok(
    $$select pg_temp.book('patient@example.com', 'clin@example.com', 4)$$, 'and may book another'
);
select lives_ok(
    $$select pg_temp.book('clin@example.com', 'clin@example.com', 6)$$,
    'the clinician books a third for them: not limited'
);
select throws_ok(
    $$select pg_temp.book('patient@example.com', 'clin@example.com', 7)$$,
    '42501', 'you already have 3 upcoming visits with this clinician, the most they allow',
    'the clinician''s bookings count against the patient''s own'
);
select lives_ok(
    $$select pg_temp.book('patient@example.com', 'unlimited@example.com', 8)$$,
    'a clinician without a limit takes a third from the same patient'
);

select tests.authenticate_as(tests.get_user_id('clin@example.com'));
select is(
    tests.rows_affected('update public.clinicians set max_upcoming_per_patient = 5'), 1,
    'the clinician sets their limit'
);
select throws_ok(
    'update public.clinicians set max_upcoming_per_patient = 0', '23514', null, 'a limit below 1 is refused'
);
select tests.clear_authentication();

select * from finish();
rollback;
