-- A patient says they will come from the app (confirm_attendance), and a move the patient did
-- not make forgets what they said of the old time. Said again, by text or in the app, a
-- confirmation keeps its first time.
begin;
select plan(20);

do $$
declare
    clinician uuid := tests.create_clinician('clin@example.com');
    patient uuid := tests.create_user('patient@example.com');
    stranger uuid := tests.create_user('stranger@example.com');
begin
    perform tests.open_every_day(clinician);
    perform tests.connect(clinician, patient);
    create temp table visit (name text primary key, id uuid not null);
    grant select on visit to authenticated, anon;
    insert into visit values
        ('confirmed', tests.add_appointment(clinician, patient, tests.days_ahead(3, '10:00'))),
        ('requested', tests.add_appointment(clinician, patient, tests.days_ahead(4, '10:00'), 30, 'requested')),
        ('cancelled', tests.add_appointment(clinician, patient, tests.days_ahead(5, '10:00'), 30, 'cancelled')),
        ('begun', tests.add_appointment(clinician, patient, date_trunc('minute', now()) - interval '5 minutes')),
        ('moved by the clinic', tests.add_appointment(clinician, patient, tests.days_ahead(6, '10:00'))),
        ('moved by the patient', tests.add_appointment(clinician, patient, tests.days_ahead(7, '10:00')));
end
$$;

create function pg_temp.visit(visit_name text) returns uuid
language sql as $$ select id from visit where name = visit_name $$;

create function pg_temp.confirmed_at(visit_name text) returns timestamptz
language sql as $$ select patient_confirmed_at from public.appointments where id = pg_temp.visit(visit_name) $$;

create function pg_temp.confirm(email text, visit_name text) returns void
language sql as $$
    select tests.call_as(email, format('select public.confirm_attendance(%L)', pg_temp.visit(visit_name)))
$$;

select lives_ok(
    $$select pg_temp.confirm('patient@example.com', 'confirmed')$$, 'the patient confirms they will come'
);
select isnt(pg_temp.confirmed_at('confirmed'), null, 'and it is recorded');
-- Cleared first: a confirmation of the same time is never overwritten.
update public.appointments set patient_confirmed_at = null where id = pg_temp.visit('confirmed');
update public.appointments set patient_confirmed_at = '2026-01-01 09:00Z' where id = pg_temp.visit('confirmed');
select lives_ok(
    $$select pg_temp.confirm('patient@example.com', 'confirmed')$$, 'saying it again is no error'
);
select is(pg_temp.confirmed_at('confirmed'), '2026-01-01 09:00Z'::timestamptz, 'and the first time stays');
select lives_ok(
    $$select pg_temp.confirm('patient@example.com', 'requested')$$,
    'a request the clinic has not confirmed yet may be confirmed by the patient too'
);
select is(
    (select status from public.appointments where id = pg_temp.visit('requested')), 'requested',
    'and it still waits for the clinic'
);
select throws_ok(
    $$select pg_temp.confirm('clin@example.com', 'moved by the clinic')$$,
    '42501', 'only the patient can confirm they will come', 'the clinician cannot say it for them'
);
select throws_ok(
    $$select pg_temp.confirm('stranger@example.com', 'moved by the clinic')$$,
    'PT404', format('no appointment %s that you can see', pg_temp.visit('moved by the clinic')),
    'nor can anyone else, who does not see the visit'
);
select throws_ok(
    $$select pg_temp.confirm('patient@example.com', 'cancelled')$$,
    '22023', 'this appointment is cancelled: there is nothing to confirm', 'a cancelled visit is refused'
);
select throws_ok(
    $$select pg_temp.confirm('patient@example.com', 'begun')$$,
    '22023', 'this appointment has already begun', 'so is one that has begun'
);
select tests.authenticate_as_anon();
select throws_ok(
    format('select public.confirm_attendance(%L)', pg_temp.visit('confirmed')),
    '42501', null, 'anon may not call it'
);
select tests.clear_authentication();

-- Moves: the clinic's forgets the confirmation, the patient's keeps it.
update public.appointments set patient_confirmed_at = now()
where id in (pg_temp.visit('moved by the clinic'), pg_temp.visit('moved by the patient'));
select tests.call_as(
    'clin@example.com',
    format(
        'select public.reschedule_appointment(%L, %L)', pg_temp.visit('moved by the clinic'),
        tests.days_ahead(6, '14:00')
    )
);
select is(pg_temp.confirmed_at('moved by the clinic'), null, 'a visit the clinic moves is no longer confirmed by the patient');
select tests.call_as(
    'patient@example.com',
    format(
        'select public.reschedule_appointment(%L, %L)', pg_temp.visit('moved by the patient'),
        tests.days_ahead(7, '14:00')
    )
);
select isnt(pg_temp.confirmed_at('moved by the patient'), null, 'one the patient moves stays confirmed');
update public.appointments set title = 'Check-up' where id = pg_temp.visit('moved by the patient');
select isnt(pg_temp.confirmed_at('moved by the patient'), null, 'and a change that is not a move keeps it');
update public.appointments
set scheduled_start = scheduled_start + interval '1 hour', scheduled_end = scheduled_end + interval '1 hour'
where id = pg_temp.visit('moved by the patient');
select is(
    pg_temp.confirmed_at('moved by the patient'), null,
    'a move by the workers (its event moved in the clinician''s calendar) forgets it'
);

-- An SMS `C` to a visit confirmed in the app keeps the app's time.
insert into public.notification_preferences (user_id, phone, sms_enabled)
select
    id,
    '+15005550006',
    true
from auth.users where email = 'patient@example.com';
select is(
    scheduling_private.answer_sms_reply('+15005550006', 'C', now()),
    format(
        'Thank you, see you %s.',
        (
            select to_char(scheduled_start at time zone timezone, 'Dy DD Mon "at" HH24:MI')
            from public.appointments where id = pg_temp.visit('confirmed')
        )
    ),
    'a C by text to the next visit, confirmed in the app already, is thanked'
);
select is(pg_temp.confirmed_at('confirmed'), '2026-01-01 09:00Z'::timestamptz, 'and the app''s time stays');
update public.appointments set patient_confirmed_at = now() where id = pg_temp.visit('confirmed');
select is(
    pg_temp.confirmed_at('confirmed'), '2026-01-01 09:00Z'::timestamptz,
    'as it does for any write of a new time to the same visit'
);
update public.appointments
set
    scheduled_start = scheduled_start + interval '2 hours',
    scheduled_end = scheduled_end + interval '2 hours',
    patient_confirmed_at = '2026-01-02 09:00Z'
where id = pg_temp.visit('confirmed');
select is(
    pg_temp.confirmed_at('confirmed'), '2026-01-02 09:00Z'::timestamptz,
    'a confirmation given with a move is of the new time, and taken'
);
update public.appointments set patient_confirmed_at = null where id = pg_temp.visit('confirmed');
select is(pg_temp.confirmed_at('confirmed'), null, 'and one may still be cleared');

select * from finish();
rollback;
