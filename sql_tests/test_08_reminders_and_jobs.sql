-- Reminders follow their appointment; notices reach both people; the job outbox claims,
-- retries and gives up as it should.
begin;
select plan(34);

do $$
declare
    clinician uuid := tests.create_clinician('clin@example.com');
    patient uuid := tests.create_user('patient@example.com');
    texter uuid := tests.create_user('texter@example.com');
begin
    perform tests.create_user('stranger@example.com');
    perform tests.connect(clinician, patient);
    perform tests.connect(clinician, texter);
    perform tests.open_every_day(clinician);
    insert into public.notification_preferences (user_id, phone, sms_enabled, push_enabled, extra_email_offsets_minutes)
    values (texter, '+447700900123', true, false, '{2880}');
    update public.notification_preferences set in_app_enabled = false where user_id = texter;
end
$$;

create function pg_temp.plan_of(start_at timestamptz, email text) returns text
language sql as $$
    select string_agg(r.channel || '@' || r.offset_minutes || '=' || (r.scheduled_for = start_at - make_interval(mins => r.offset_minutes)), ' ' order by r.channel, r.offset_minutes)
    from public.appointment_reminders as r
    join public.appointments as a on a.id = r.appointment_id
    where a.scheduled_start = start_at and r.user_id = tests.get_user_id(email) and r.status = 'pending'
$$;

-- ----------------------------------------------------------------------------- creating reminders
select lives_ok(
    $$select tests.add_appointment(tests.get_user_id('clin@example.com'), tests.get_user_id('patient@example.com'), tests.days_ahead(5, '10:00'))$$,
    'a confirmed appointment'
);
select is(
    pg_temp.plan_of(tests.days_ahead(5, '10:00'), 'patient@example.com'), 'email@1440=true in_app@60=true in_app@1440=true push@60=true',
    'the patient gets the default reminders: email a day before, push an hour before, in the app both'
);
select is(
    pg_temp.plan_of(tests.days_ahead(5, '10:00'), 'clin@example.com'), 'email@1440=true in_app@60=true in_app@1440=true push@60=true',
    'so does the clinician'
);
select is(
    (
        select count(*)::int from scheduling_private.jobs as j
        inner join public.appointment_reminders as r on j.dedupe_key = 'reminder:' || r.id
        inner join public.appointments as a on r.appointment_id = a.id
        where
            j.kind = 'reminder_' || r.channel and j.run_after = r.scheduled_for and j.status = 'queued'
            and a.clinician_id = tests.get_user_id('clin@example.com')
    ),
    8, 'each reminder has a queued job due at its time'
);
select lives_ok(
    $$select tests.add_appointment(tests.get_user_id('clin@example.com'), tests.get_user_id('texter@example.com'), tests.days_ahead(6, '10:00'))$$,
    'an appointment for a patient with preferences'
);
select is(
    pg_temp.plan_of(tests.days_ahead(6, '10:00'), 'texter@example.com'), 'email@1440=true email@2880=true sms@15=true',
    'preferences add SMS 15 minutes before and extra email offsets, and turn push and in-app off'
);
select lives_ok(
    $$select tests.add_appointment(tests.get_user_id('clin@example.com'), tests.get_user_id('patient@example.com'), now() + interval '2 hours')$$,
    'an appointment two hours from now'
);
select is(
    pg_temp.plan_of(
        (
            select max(a.scheduled_start) from public.appointments as a
            where a.patient_id = tests.get_user_id('patient@example.com') and a.scheduled_start < now() + interval '1 day'
        ),
        'patient@example.com'
    ),
    'in_app@60=true push@60=true', 'a reminder whose time has passed is not created'
);
select lives_ok(
    $$select tests.add_appointment(tests.get_user_id('clin@example.com'), tests.get_user_id('patient@example.com'), tests.days_ahead(7, '10:00'), 30, 'requested')$$,
    'a requested appointment'
);
select is(pg_temp.plan_of(tests.days_ahead(7, '10:00'), 'patient@example.com'), null, 'has no reminders yet');
update public.appointments set status = 'confirmed' where scheduled_start = tests.days_ahead(7, '10:00');
select is(
    pg_temp.plan_of(tests.days_ahead(7, '10:00'), 'patient@example.com'), 'email@1440=true in_app@60=true in_app@1440=true push@60=true',
    'confirming it creates them'
);

-- ----------------------------------------------------------------------------- moving and cancelling
update public.appointments set scheduled_start = tests.days_ahead(8, '11:00'), scheduled_end = tests.days_ahead(8, '11:30')
where scheduled_start = tests.days_ahead(7, '10:00');
select is(
    pg_temp.plan_of(tests.days_ahead(8, '11:00'), 'patient@example.com'), 'email@1440=true in_app@60=true in_app@1440=true push@60=true',
    'rescheduling moves the pending reminders with the appointment'
);
select is(
    (
        select count(*)::int from scheduling_private.jobs as j
        inner join public.appointment_reminders as r on j.dedupe_key = 'reminder:' || r.id
        inner join public.appointments as a on r.appointment_id = a.id
        where a.scheduled_start = tests.days_ahead(8, '11:00') and j.run_after = r.scheduled_for
    ),
    8, 'and their jobs'
);
update public.appointments set status = 'cancelled', cancellation_reason = 'ill'
where scheduled_start = tests.days_ahead(8, '11:00');
select is(
    (
        select array_agg(distinct r.status) from public.appointment_reminders as r
        inner join public.appointments as a on r.appointment_id = a.id where a.scheduled_start = tests.days_ahead(8, '11:00')
    ),
    '{cancelled}'::text[], 'cancelling cancels the pending reminders'
);
select is(
    (
        select array_agg(distinct j.status) from scheduling_private.jobs as j
        inner join public.appointment_reminders as r on j.dedupe_key = 'reminder:' || r.id
        inner join public.appointments as a on r.appointment_id = a.id where a.scheduled_start = tests.days_ahead(8, '11:00')
    ),
    '{cancelled}'::text[], 'and their jobs'
);

-- ----------------------------------------------------------------------------- notices
select is(
    (
        select array_agg(n.kind order by n.kind) from public.notifications as n
        inner join public.appointments as a on n.appointment_id = a.id
        where a.scheduled_start = tests.days_ahead(8, '11:00') and n.user_id = tests.get_user_id('patient@example.com')
    ),
    '{appointment_cancelled,appointment_confirmed,appointment_rescheduled}'::text[],
    'the patient is told in the app when it is confirmed, moved and cancelled'
);
select is(
    (
        select array_agg(j.kind order by j.kind) from scheduling_private.jobs as j
        inner join public.appointments as a on a.id::text = j.payload ->> 'appointment_id'
        where
            j.kind like 'notice_%' and j.payload ->> 'kind' = 'appointment_cancelled'
            and a.scheduled_start = tests.days_ahead(8, '11:00')
    ),
    '{notice_email,notice_email,notice_push,notice_push}'::text[],
    'the cancellation notice is queued for both people on each channel they have on'
);
select tests.authenticate_as(tests.get_user_id('stranger@example.com'));
select is((select count(*)::int from public.notifications), 0, 'nobody sees another user''s notifications');
select is(tests.rows_affected('update public.notifications set read_at = now()'), 0, 'nor marks them read');
select throws_ok('select * from scheduling_private.jobs', '42501', null, 'API roles cannot read the job outbox');
select tests.clear_authentication();
select tests.authenticate_as(tests.get_user_id('patient@example.com'));
select ok(tests.rows_affected('update public.notifications set read_at = now()') > 0, 'a user marks their notifications read');
select throws_ok($$update public.notifications set title = 'x'$$, '42501', null, 'but changes nothing else');
select throws_ok(
    $$insert into public.notification_preferences (user_id, phone) values (auth.uid(), '07700 900123')$$,
    '23514', null, 'a phone number must be E.164'
);
select tests.clear_authentication();

-- ----------------------------------------------------------------------------- the job outbox
delete from scheduling_private.jobs;
insert into scheduling_private.jobs (kind, payload, run_after, dedupe_key) values ('notice_email', '{"n": 1}', now() - interval '1 minute', 'k1');
select throws_ok(
    $$insert into scheduling_private.jobs (kind, payload, dedupe_key) values ('notice_email', '{"n": 1}', 'k1')$$,
    '23505', null, 'a second job with the same key is refused'
);
insert into scheduling_private.jobs (kind, payload, run_after, dedupe_key) values ('notice_email', '{"n": 2}', now() + interval '1 hour', null);
select is((select count(*)::int from scheduling_private.jobs), 2, 'one job per key');
select is(
    (select array_agg(j.payload ->> 'n') from scheduling_private.claim_jobs('w1', '{notice_email}') as j),
    '{1}'::text[], 'a claim takes due jobs only'
);
select is(
    (select count(*)::int from scheduling_private.claim_jobs('w2', '{notice_email}')), 0,
    'a claimed job is not handed to another worker while its lease runs'
);
select is(
    (select (j.locked_by, j.attempts)::text from scheduling_private.claim_jobs('w2', '{notice_email}', at => now() + interval '6 minutes') as j where j.payload ->> 'n' = '1'),
    ('w2', 2)::text, 'after the lease ends (a crashed worker) another worker takes it, counting the attempt'
);
select is(
    scheduling_private.fail_job((select j.id from scheduling_private.jobs as j where j.dedupe_key = 'k1'), 'SMTP 451', at => '2030-01-01Z'),
    'queued', 'a failed attempt is queued again'
);
select is(
    (select (j.run_after, j.last_error, j.locked_by)::text from scheduling_private.jobs as j where j.dedupe_key = 'k1'),
    ('2030-01-01 00:01Z'::timestamptz, 'SMTP 451', null::text)::text,
    'after a backoff that doubles with each attempt (the second waits a minute), keeping the error'
);
update scheduling_private.jobs set attempts = 9, max_attempts = 20 where dedupe_key = 'k1';
do $$ begin perform scheduling_private.fail_job(j.id, 'SMTP 451', at => '2030-01-01Z') from scheduling_private.jobs as j where j.dedupe_key = 'k1'; end $$;
select is(
    (select j.run_after from scheduling_private.jobs as j where j.dedupe_key = 'k1'), '2030-01-01 01:00Z'::timestamptz,
    'the backoff is capped at an hour'
);
update scheduling_private.jobs set attempts = max_attempts where dedupe_key = 'k1';
select is(
    scheduling_private.fail_job((select j.id from scheduling_private.jobs as j where j.dedupe_key = 'k1'), 'SMTP 554'),
    'failed', 'after the last attempt the job fails, error kept'
);
insert into scheduling_private.jobs (kind, payload, run_after, dedupe_key) values ('notice_email', '{"n": 3}', now(), 'k3');
select is(
    scheduling_private.fail_job((select j.id from scheduling_private.claim_jobs('w1', '{notice_email}') as j), 'Twilio 21211', retry => false),
    'failed', 'an error that will not heal fails at once'
);
insert into scheduling_private.jobs (kind, payload, run_after, dedupe_key) values ('notice_email', '{"n": 4}', now(), 'k4');
do $$ begin perform scheduling_private.complete_job(j.id) from scheduling_private.claim_jobs('w1', '{notice_email}') as j; end $$;
select is((select j.status from scheduling_private.jobs as j where j.dedupe_key = 'k4'), 'done', 'a completed job is done');

select * from finish();
rollback;
