-- The hourly prunes find old rows through an index: the sync log's and notifications' BRIN
-- indexes on created_at, the finished jobs' and SMS replies' btrees. With nothing old, a round
-- reads none of the table's rows one by one. (test_14 and test_28 have what they delete.)
begin;
select plan(8);

do $$
declare
    clinician uuid := tests.create_clinician('clin@example.com');
    connection uuid;
begin
    insert into public.calendar_sync_connections (user_id, provider, calendar_id, sync_enabled)
    values (clinician, 'caldav', 'work', false)
    returning id into connection;
    -- A month of a busy clinic's rows, written in time order as the worker writes them.
    insert into public.calendar_sync_log (connection_id, user_id, direction, action, status, created_at)
    select connection, clinician, 'pull', 'import', 'success', now() - interval '30 days' + n * interval '1 minute'
    from generate_series(1, 40000) as n;
    insert into public.notifications (user_id, kind, title, created_at)
    select clinician, 'appointment_reminder', 'Reminder', now() - interval '30 days' + n * interval '1 minute'
    from generate_series(1, 40000) as n;
    -- Jobs finished over the last two weeks, in no order of their pages (as updates leave them),
    -- and a month of texts from patients.
    insert into scheduling_private.jobs (kind, status, updated_at)
    select 'notice_email', (array['done', 'cancelled', 'failed'])[1 + n % 3], now() - random() * interval '14 days'
    from generate_series(1, 40000) as n;
    insert into scheduling_private.sms_replies (message_sid, phone, body, received_at)
    select 'SM' || n, '+15550100', 'C', now() - interval '30 days' + n * interval '1 minute'
    from generate_series(1, 40000) as n;
end
$$;
analyze public.calendar_sync_log;
analyze public.notifications;
analyze scheduling_private.jobs;
analyze scheduling_private.sms_replies;

create temporary table scans_before on commit drop as
select
    tests.sequential_scans('public', 'calendar_sync_log') as sync_log,
    tests.sequential_scans('public', 'notifications') as notifications,
    tests.sequential_scans('scheduling_private', 'jobs') as jobs,
    tests.sequential_scans('scheduling_private', 'sms_replies') as sms_replies;

select is(scheduling_private.prune_calendar_sync_log(), 0, 'nothing in the sync log is 90 days old');
select is(
    tests.sequential_scans('public', 'calendar_sync_log'), (select sync_log from scans_before),
    'and the sync log was not read row by row to find that out'
);
select is(scheduling_private.prune_notifications(), 0, 'nothing in notifications is 180 days old');
select is(
    tests.sequential_scans('public', 'notifications'), (select notifications from scans_before),
    'and notifications were not read row by row to find that out'
);
select is(scheduling_private.prune_finished_jobs(), 0, 'no finished job is 14 days old, no failed one 90');
select is(
    tests.sequential_scans('scheduling_private', 'jobs'), (select jobs from scans_before),
    'and the jobs were not read row by row to find that out'
);
select is(scheduling_private.prune_sms_replies(), 0, 'no SMS reply is 30 days old');
select is(
    tests.sequential_scans('scheduling_private', 'sms_replies'), (select sms_replies from scans_before),
    'and the replies were not read row by row to find that out'
);

select * from finish();
rollback;
