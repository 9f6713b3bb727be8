-- The hourly prunes of the sync log and of notifications find old rows through their BRIN
-- indexes on created_at: with nothing old, a round reads none of the table's rows one by one.
-- (test_28 has what they delete.)
begin;
select plan(4);

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
end
$$;
analyze public.calendar_sync_log;
analyze public.notifications;

create temporary table scans_before on commit drop as
select
    tests.sequential_scans('public', 'calendar_sync_log') as sync_log,
    tests.sequential_scans('public', 'notifications') as notifications;

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

select * from finish();
rollback;
