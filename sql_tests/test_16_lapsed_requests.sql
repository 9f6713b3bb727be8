-- A request still unconfirmed when its time is over is cancelled, and both people are told.
begin;
select plan(12);

do $$
declare
    clinician uuid := tests.create_clinician('clin@example.com', 'Europe/London');
    patient uuid := tests.create_user('patient@example.com');
begin
    perform tests.connect(clinician, patient);
    -- Over an hour ago; under way now; a confirmed visit over; a request to come; a request the
    -- patient cancels after its time.
    perform tests.add_appointment(clinician, patient, now() - interval '90 minutes', 30, 'requested');
    perform tests.add_appointment(clinician, patient, now() - interval '10 minutes', 30, 'requested');
    perform tests.add_appointment(clinician, patient, now() - interval '3 hours', 30, 'confirmed');
    perform tests.add_appointment(clinician, patient, now() + interval '1 day', 30, 'requested');
    perform tests.add_appointment(clinician, patient, now() - interval '5 hours', 30, 'requested');
end
$$;
select tests.call_as(
    'patient@example.com',
    $$select public.cancel_appointment(
        (select id from public.appointments where scheduled_start = now() - interval '5 hours'), 'could not come'
    )$$
);

select is(scheduling_private.lapse_unconfirmed_requests(), 1, 'one request is over unconfirmed');
select is(
    (
        select array_agg(status::text order by scheduled_start) from public.appointments
        where clinician_id = tests.get_user_id('clin@example.com')
    ),
    -- By start: 5 hours ago (the patient's), 3 hours, 90 minutes, 10 minutes ago, tomorrow.
    array['cancelled', 'confirmed', 'cancelled', 'requested', 'requested'],
    'it is cancelled; the confirmed visit, the request under way and the request to come are left'
);
select is(
    (
        select (cancellation_reason, cancelled_by)::text from public.appointments
        where scheduled_start = now() - interval '90 minutes'
    ),
    ('The request was not confirmed before its time was over.', null::uuid)::text,
    'with the reason, and nobody as the one who cancelled'
);
select is(
    (
        select array_agg(n.kind || ' ' || n.title order by n.user_id = tests.get_user_id('patient@example.com'))
        from public.notifications as n
        inner join public.appointments as a on n.appointment_id = a.id
        where a.scheduled_start = now() - interval '90 minutes'
    ),
    array[
        'request_lapsed Appointment request not confirmed', 'request_lapsed Appointment request not confirmed'
    ],
    'the clinician and the patient are told in the app that the request lapsed'
);
select is(
    (
        select array_agg(j.kind order by j.kind) from scheduling_private.jobs as j
        inner join public.appointments as a on a.id::text = j.payload ->> 'appointment_id'
        where j.payload ->> 'kind' = 'request_lapsed'
    ),
    '{notice_email,notice_email,notice_push,notice_push}'::text[],
    'and on each channel they have on'
);
select is(
    (
        select n.kind from public.notifications as n
        inner join public.appointments as a on n.appointment_id = a.id
        where a.scheduled_start = now() - interval '5 hours' and n.user_id = tests.get_user_id('clin@example.com')
    ),
    'appointment_cancelled',
    'a request its patient cancelled after its time is told as a cancellation, not as lapsed'
);
select is(
    (
        select array_agg((x.operation, x.new_values ->> 'status', x.changed_by)::text order by x.id)
        from public.appointment_audit_log as x
        inner join public.appointments as a on x.appointment_id = a.id
        where a.scheduled_start = now() - interval '90 minutes'
    ),
    array['(INSERT,requested,)', '(UPDATE,cancelled,)'],
    'the audit log has the change, made by nobody signed in'
);
select ok(
    exists (
        select from scheduling_private.statistics_dirty as d
        where
            d.clinician_id = tests.get_user_id('clin@example.com')
            and d.stat_date = ((now() - interval '90 minutes') at time zone 'Europe/London')::date
    ),
    'and its day''s statistics will be recomputed without its minutes'
);
select is(scheduling_private.lapse_unconfirmed_requests(), 0, 'a second round finds nothing');
select tests.call_as(
    'clin@example.com',
    $$select public.confirm_appointment(
        (select id from public.appointments where scheduled_start = now() - interval '10 minutes')
    )$$
);
select is(
    (select status::text from public.appointments where scheduled_start = now() - interval '10 minutes'),
    'confirmed',
    'the request under way can still be confirmed by its clinician'
);
select is(
    (
        select sum(p.cancellations)::int from public.cancellation_patterns as p
        where p.clinician_id = tests.get_user_id('clin@example.com')
    ),
    1,
    'cancellation patterns count the patient''s cancellation, not the lapsed request'
);

select tests.authenticate_as(tests.get_user_id('patient@example.com'));
select throws_ok(
    'select scheduling_private.lapse_unconfirmed_requests()', '42501', null, 'API roles cannot call it'
);
select tests.clear_authentication();

select * from finish();
rollback;
