-- A patient's request is announced to the clinician who must confirm it, by the worker's next
-- round: once per visit, once per series; not to the patient, not for what the clinician booked
-- or auto-confirms, and not once the request was confirmed or cancelled.
begin;
select plan(11);

do $$
declare
    patient uuid := tests.create_user('patient@example.com');
    confirms uuid := tests.create_clinician('confirms@example.com');
    auto uuid := tests.create_clinician('auto@example.com', auto_confirm => true);
begin
    perform tests.open_every_day(confirms);
    perform tests.open_every_day(auto);
    perform tests.connect(confirms, patient);
    perform tests.connect(auto, patient);
end
$$;

-- The patient books a 30-minute follow-up with `clinician` `day` days ahead at 10:00.
create function pg_temp.patient_books(clinician text, day integer) returns void
language sql as $$
    select tests.call_as('patient@example.com', format(
        'select public.book_appointment(%L, auth.uid(), %L, 30, %L, %L)',
        tests.get_user_id(clinician), tests.days_ahead(day, '10:00'), 'follow_up', 'in_person'
    ))
$$;

-- Each person's notices, as "kind title", by kind (one transaction: one created_at).
create function pg_temp.notices_of(email text) returns text[]
language sql as $$
    select coalesce(array_agg(n.kind || ' ' || n.title order by n.kind), '{}')
    from public.notifications as n where n.user_id = tests.get_user_id(email)
$$;

select lives_ok($$select pg_temp.patient_books('confirms@example.com', 3)$$, 'the patient requests a visit');
select is(
    pg_temp.notices_of('confirms@example.com'), '{}',
    'the booking leaves the notice to the worker'
);
select is(scheduling_private.send_deferred_notices(), 1, 'whose next round sends it');
select is(
    pg_temp.notices_of('confirms@example.com'), '{"appointment_requested Appointment requested"}',
    'the clinician who confirms requests is told in the app'
);
select is(
    (
        select array_agg(j.kind order by j.kind) from scheduling_private.jobs as j
        where j.payload ->> 'kind' = 'appointment_requested'
    ),
    '{notice_email,notice_push}'::text[],
    'and on the channels they have on'
);
select is(pg_temp.notices_of('patient@example.com'), '{}', 'the patient, who made the request, is not');

select tests.call_as('patient@example.com', format(
    'select public.book_appointment_series(%L, auth.uid(), %L, 30, %L, %L, 3)',
    tests.get_user_id('confirms@example.com'), tests.days_ahead(7, '11:00'), 'follow_up', 'in_person'
));
select is(scheduling_private.send_deferred_notices(), 1, 'a series of three requests is one notice');
select is(
    pg_temp.notices_of('confirms@example.com'),
    '{"appointment_requested Appointment requested","series_requested 3 appointments requested"}',
    'a series of three requests is told once'
);

select pg_temp.patient_books('auto@example.com', 4);
select tests.call_as('confirms@example.com', format(
    'select public.book_appointment(auth.uid(), %L, %L, 30, %L, %L)',
    tests.get_user_id('patient@example.com'), tests.days_ahead(5, '10:00'), 'follow_up', 'in_person'
));
-- A request the clinician confirms before the round: nothing is left to ask of them.
select pg_temp.patient_books('confirms@example.com', 6);
select tests.call_as('confirms@example.com', format(
    'select public.confirm_appointment(%L)',
    (select id from public.appointments where scheduled_start = tests.days_ahead(6, '10:00'))
));
select is(scheduling_private.send_deferred_notices(), 0, 'nothing to send for bookings not requested, or a request confirmed');
select is(
    pg_temp.notices_of('auto@example.com'), '{"appointment_confirmed Appointment confirmed"}',
    'a booking the clinician auto-confirms is told as confirmed, not as a request'
);
select is(
    pg_temp.notices_of('confirms@example.com'),
    '{"appointment_confirmed Appointment confirmed","appointment_confirmed Appointment confirmed",'
    '"appointment_requested Appointment requested","series_requested 3 appointments requested"}',
    'and a visit the clinician books, or a request they confirmed before the round, is told as confirmed only'
);

select * from finish();
rollback;
