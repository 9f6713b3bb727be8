-- Failed jobs queued again (scheduling jobs retry): of the kinds asked for, with their reminders
-- while the visit is still confirmed and to come, and nothing else.
begin;
select plan(8);

do $$
declare
    clinician uuid := tests.create_clinician('clin@example.com');
    patient uuid := tests.create_user('patient@example.com');
begin
    insert into public.notification_preferences (user_id, phone, sms_enabled) values (patient, '+447700900123', true);
    create temp table visit (name text primary key, id uuid not null);
    insert into visit values
        ('to come', tests.add_appointment(clinician, patient, tests.days_ahead(3, '10:00'))),
        ('begun', tests.add_appointment(clinician, patient, now() - interval '10 minutes'));
    -- As the worker leaves them: the email reminders' jobs gave up, and so did their reminders;
    -- the text reminder failed by itself (no way to send it) and its job is done.
    update scheduling_private.jobs set status = 'failed', attempts = 8, last_error = 'SMTP down'
    where dedupe_key in (
        select 'reminder:' || r.id from public.appointment_reminders as r
        where r.channel = 'email' and r.user_id = patient
    );
    update public.appointment_reminders set status = 'failed', attempts = 8, last_error = 'SMTP down'
    where channel = 'email' and user_id = patient;
    update scheduling_private.jobs set status = 'done'
    where dedupe_key in (
        select 'reminder:' || r.id from public.appointment_reminders as r where r.channel = 'sms' and r.user_id = patient
    );
    update public.appointment_reminders set status = 'failed', last_error = 'no phone' where channel = 'sms';
    insert into scheduling_private.jobs (kind, dedupe_key, status, attempts, last_error)
    values ('notice_email', 'a notice that gave up', 'failed', 8, 'SMTP down');
    -- The visit under way was confirmed in time for its day-before email, which gave up too.
    with reminder as (
        insert into public.appointment_reminders (
            appointment_id, user_id, channel, offset_minutes, scheduled_for, status, attempts
        )
        select v.id, patient, 'email', 1440, now() - interval '1 day', 'failed', 8 from visit as v
        where v.name = 'begun'
        returning id
    )
    insert into scheduling_private.jobs (kind, payload, dedupe_key, status, attempts, last_error)
    select 'reminder_email', jsonb_build_object('reminder_id', r.id), 'reminder:' || r.id, 'failed', 8, 'SMTP down'
    from reminder as r;
end
$$;

create function pg_temp.reminder_status(visit_name text, reminder_channel text) returns text
language sql as $$
    select string_agg(distinct r.status, ',') from public.appointment_reminders as r
    where r.appointment_id = (select v.id from visit as v where v.name = visit_name)
        and r.channel = reminder_channel and r.user_id = tests.get_user_id('patient@example.com')
$$;

create function pg_temp.job_status(visit_name text, reminder_channel text) returns text
language sql as $$
    select string_agg(distinct j.status || ' ' || j.attempts, ',') from scheduling_private.jobs as j
    inner join public.appointment_reminders as r on j.dedupe_key = 'reminder:' || r.id
    where r.appointment_id = (select v.id from visit as v where v.name = visit_name)
        and r.channel = reminder_channel and r.user_id = tests.get_user_id('patient@example.com')
$$;

select is(scheduling_private.retry_failed_jobs(array['notice_email']), 1, 'asked for notices, only the notice goes again');
select is(pg_temp.job_status('to come', 'email'), 'failed 8', 'the reminders'' jobs are left as they were');
select is(scheduling_private.retry_failed_jobs(), 1, 'then every kind: one reminder more');
select is(
    (pg_temp.reminder_status('to come', 'email'), pg_temp.job_status('to come', 'email')),
    ('pending'::text, 'queued 0'::text),
    'the email reminder of the visit to come waits again, its job queued from its first attempt'
);
select is(
    (pg_temp.reminder_status('begun', 'email'), pg_temp.job_status('begun', 'email')),
    ('failed'::text, 'failed 8'::text),
    'a visit under way: its reminder and job stay failed (sent now it would only mislead)'
);
select is(
    (pg_temp.reminder_status('to come', 'sms'), pg_temp.job_status('to come', 'sms')),
    ('failed'::text, 'done 0'::text),
    'a reminder that failed with its job done stays failed: no job would send it'
);
select is(
    (
        select (status, run_after <= now())::text from scheduling_private.jobs
        where dedupe_key = 'a notice that gave up'
    ),
    '(queued,t)',
    'the notice is queued and due now'
);
select is(scheduling_private.retry_failed_jobs(), 0, 'a second call finds nothing to retry');

select * from finish();
rollback;
