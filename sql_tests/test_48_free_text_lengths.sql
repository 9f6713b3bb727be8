-- Free text people write has a length, and the error names it.
begin;
select plan(10);

do $$
declare
    clinician uuid := tests.create_clinician('clin@example.com');
    patient uuid := tests.create_user('patient@example.com');
begin
    perform tests.connect(clinician, patient);
    perform tests.open_every_day(clinician);
    create temp table visit as
    select tests.add_appointment(clinician, patient, tests.days_ahead(4, '10:00')) as id;
end
$$;

select lives_ok(
    tests.as_user('patient@example.com', format(
        'update public.appointments set patient_notes = repeat(''n'', 4000) where id = %L', (select v.id from visit as v)
    )),
    'a note of 4,000 characters is kept'
);
select throws_ok(
    tests.as_user('patient@example.com', format(
        'update public.appointments set patient_notes = repeat(''n'', 4001) where id = %L', (select v.id from visit as v)
    )),
    '23514', 'new row for relation "appointments" violates check constraint "appointments_patient_notes_at_most_4000_characters"',
    'one longer is refused, the check''s name saying why (a megabyte was saved before)'
);
select throws_ok(
    tests.as_user('patient@example.com', format(
        'select public.book_appointment(%L, auth.uid(), %L, 30, ''follow_up'', ''in_person'', repeat(''t'', 201))',
        tests.get_user_id('clin@example.com'), tests.days_ahead(5, '10:00')
    )),
    '23514', null, 'a booking''s title of over 200 characters is refused'
);
select throws_ok(
    tests.as_user('patient@example.com', format(
        'select public.cancel_appointment(%L, repeat(''r'', 1001))', (select v.id from visit as v)
    )),
    '23514', null, 'a cancellation reason of over 1,000 characters'
);
select throws_ok(
    tests.as_user('patient@example.com', format(
        'insert into public.appointment_waitlist (clinician_id, patient_id, appointment_type, notes) values (%L, auth.uid(), ''follow_up'', repeat(''w'', 2001))',
        tests.get_user_id('clin@example.com')
    )),
    '23514', null, 'waitlist notes of over 2,000 characters'
);
select throws_ok(
    tests.as_user('clin@example.com', format(
        'insert into public.appointment_private_notes (appointment_id, clinician_id, body) values (%L, auth.uid(), repeat(''p'', 20001))',
        (select v.id from visit as v)
    )),
    '23514', null, 'a private note of over 20,000 characters'
);
select throws_ok(
    tests.as_user('clin@example.com', 'update public.clinicians set display_name = repeat(''d'', 201) where clinician_id = auth.uid()'),
    '23514', null, 'a clinician''s name of over 200 characters'
);
select throws_ok(
    tests.as_user('clin@example.com', format(
        'insert into public.clinician_date_overrides (clinician_id, override_date, reason) values (auth.uid(), %L, repeat(''o'', 501))',
        current_date + 9
    )),
    '23514', null, 'a closed date''s reason of over 500 characters'
);
select throws_ok(
    tests.as_user(
        'patient@example.com',
        'insert into public.push_subscriptions (user_id, endpoint, p256dh, auth) values (auth.uid(), ''https://push.example/'' || repeat(''e'', 2000), ''key'', ''secret'')'
    ),
    '23514', null, 'a push endpoint of over 2,000 characters'
);
select is(
    (select char_length(a.patient_notes) from public.appointments as a where a.id = (select v.id from visit as v)), 4000,
    'what was refused changed nothing'
);

select * from finish();
rollback;
