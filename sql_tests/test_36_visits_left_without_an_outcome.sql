-- A visit still confirmed or in progress an hour after its end: its clinician is asked, once,
-- in the app, to record how it went; recording it marks the question read.
begin;
select plan(11);

do $$
declare
    clinician uuid := tests.create_clinician('clin@example.com', 'America/New_York');
    quiet uuid := tests.create_clinician('quiet@example.com');
    patient uuid := tests.create_user('pat@example.com');
    other uuid := tests.create_user('other@example.com');
begin
    perform tests.connect(clinician, patient);
    perform tests.connect(quiet, other);
    insert into public.notification_preferences (user_id, in_app_enabled) values (quiet, false);
    -- each an hour long, ending at the time its name says
    perform tests.add_appointment(clinician, patient, now() - interval '3 hours', 60);
    perform tests.add_appointment(clinician, patient, now() - interval '5 hours', 60);
    update public.appointments set status = 'in_progress'
    where scheduled_start = now() - interval '5 hours';
    perform tests.add_appointment(clinician, patient, now() - interval '90 minutes', 60);
    perform tests.add_appointment(clinician, patient, now() - interval '8 days', 60);
    perform tests.add_appointment(clinician, patient, now() - interval '7 hours', 60, 'cancelled');
    perform tests.add_appointment(clinician, patient, now() - interval '9 hours', 60);
    update public.appointments set status = 'no_show'
    where scheduled_start = now() - interval '9 hours';
    perform tests.add_appointment(quiet, other, now() - interval '3 hours', 60);
end
$$;

create function pg_temp.asked(email text) returns table (started timestamptz, title text, body text)
language sql as $$
    select a.scheduled_start, n.title, n.body from public.notifications as n
    join public.appointments as a on a.id = n.appointment_id
    where n.user_id = tests.get_user_id(email) and n.kind = 'outcome_due'
    order by a.scheduled_start
$$;

select is(
    scheduling_private.request_visit_outcomes(now() - interval '10 hours'), 0,
    'before any visit was over by an hour, nobody is asked'
);
select is(
    scheduling_private.request_visit_outcomes(), 3,
    'now three visits are open an hour after their end: two of clin@, one of quiet@'
);
select results_eq(
    $$select started, title from pg_temp.asked('clin@example.com')$$,
    $$values (now() - interval '5 hours', 'Record how the visit went'), (now() - interval '3 hours', 'Record how the visit went')$$,
    'the clinician is asked about the visit in progress and the confirmed one, not about one just over, one 8 days old, a cancelled one or a no-show'
);
select is(
    (select body from pg_temp.asked('clin@example.com') where started = now() - interval '3 hours'),
    format(
        'Your visit on %s is still marked confirmed: record it as completed or a no-show.',
        to_char((now() - interval '3 hours') at time zone 'America/New_York', 'Dy DD Mon "at" HH24:MI')
    ),
    'in their own zone, saying what to record'
);
select is(
    (select body from pg_temp.asked('clin@example.com') where started = now() - interval '5 hours'),
    format(
        'Your visit on %s is still in progress: record it as completed.',
        to_char((now() - interval '5 hours') at time zone 'America/New_York', 'Dy DD Mon "at" HH24:MI')
    ),
    'a visit in progress can only be completed'
);
select is_empty(
    $$select * from pg_temp.asked('quiet@example.com')$$,
    'a clinician with in-app notices off is not asked'
);
select is_empty(
    $$select * from public.notifications where kind = 'outcome_due' and user_id in (tests.get_user_id('pat@example.com'), tests.get_user_id('other@example.com'))$$,
    'the patients are never asked'
);
select is(scheduling_private.request_visit_outcomes(), 0, 'the next round asks nobody again');
select is(
    scheduling_private.request_visit_outcomes(now() + interval '1 hour'), 1,
    'an hour on, the visit that had just ended is asked about, once'
);
select is(
    (select count(*)::integer from pg_temp.asked('clin@example.com')), 3,
    'so the clinician has been asked three times, once per visit'
);

select tests.call_as('clin@example.com', format(
    'select public.update_appointment_status(%L, %L)',
    (
        select id from public.appointments
        where scheduled_start = now() - interval '3 hours' and clinician_id = tests.get_user_id('clin@example.com')
    ),
    'no_show'
));
select results_eq(
    $$select a.scheduled_start, n.read_at is not null from public.notifications as n
    join public.appointments as a on a.id = n.appointment_id
    where n.kind = 'outcome_due' and n.user_id = tests.get_user_id('clin@example.com') order by 1$$,
    $$values (now() - interval '5 hours', false), (now() - interval '3 hours', true), (now() - interval '90 minutes', false)$$,
    'recording a visit as a no-show marks its question read, and only its own'
);

select * from finish();
rollback;
