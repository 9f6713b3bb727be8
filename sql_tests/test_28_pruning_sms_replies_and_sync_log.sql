-- Inbound SMS replies leave after 30 days, calendar sync log rows after 90 and in-app
-- notifications after 180, or as the database's settings say; a bad setting deletes nothing.
begin;
select plan(14);

-- The other rows of the database (a seed, earlier work) are not this file's business.
delete from scheduling_private.sms_replies;
delete from public.calendar_sync_log;
delete from public.notifications;
insert into scheduling_private.sms_replies (message_sid, phone, body, received_at) values
('SM-31-days', '+15555550100', 'C', now() - interval '31 days'),
('SM-32-days', '+15555550100', 'X', now() - interval '32 days'),
('SM-29-days', '+15555550100', 'C', now() - interval '29 days'),
('SM-2-years', '+15555550100', 'X', now() - interval '2 years');

do $$
declare
    clinician uuid := tests.create_clinician('clin@example.com');
    connection uuid;
begin
    insert into public.calendar_sync_connections (user_id, provider, calendar_id, sync_enabled)
    values (clinician, 'caldav', 'work', false)
    returning id into connection;
    insert into public.calendar_sync_log (connection_id, user_id, direction, action, status, created_at)
    select connection, clinician, 'pull', 'import', 'success', now() - make_interval(days => d)
    from unnest(array[1, 89, 91, 200, 400]) as d;
    insert into public.notifications (user_id, kind, title, read_at, created_at)
    select clinician, 'appointment_confirmed', 'Appointment confirmed', read_at, now() - make_interval(days => d)
    from (values (1, null::timestamptz), (179, null), (181, null), (181, now()), (400, now())) as v (d, read_at);
end
$$;

create function pg_temp.notification_days_left() returns integer[]
language sql as $$
    select array_agg(extract(day from now() - n.created_at)::integer order by n.created_at desc)
    from public.notifications as n
$$;

create function pg_temp.sms_left() returns text[]
language sql as $$
    select array_agg(r.message_sid order by r.received_at desc) from scheduling_private.sms_replies as r
$$;

create function pg_temp.log_days_left() returns integer[]
language sql as $$
    select array_agg(extract(day from now() - l.created_at)::integer order by l.created_at desc)
    from public.calendar_sync_log as l
$$;

select is(scheduling_private.prune_sms_replies(batch_size => 1), 1, 'a call deletes at most a batch');
select is(scheduling_private.prune_sms_replies(), 2, 'and returns how many it deleted');
select is(pg_temp.sms_left(), array['SM-29-days'], 'replies older than 30 days are gone');

select set_config('scheduling.sync_log_kept_for', '300 days', true);
select is(scheduling_private.prune_calendar_sync_log(), 1, 'the database''s setting, when set, decides');
select is(pg_temp.log_days_left(), array[1, 89, 91, 200], 'so only the row older than 300 days went');
select set_config('scheduling.sync_log_kept_for', 'ninety days', true);
select throws_ok(
    'select scheduling_private.prune_calendar_sync_log()', '22007', null,
    'a setting that is not an interval fails the call'
);
select is(pg_temp.log_days_left(), array[1, 89, 91, 200], 'and deletes nothing');
select set_config('scheduling.sync_log_kept_for', '', true);
select is(scheduling_private.prune_calendar_sync_log(), 2, 'unset, the log is kept 90 days');
select is(pg_temp.log_days_left(), array[1, 89], 'so rows of 91 and 200 days went');

select is(scheduling_private.prune_notifications(), 3, 'notifications are kept 180 days, read or not');
select is(pg_temp.notification_days_left(), array[1, 179], 'so those of 181 and 400 days went');
select set_config('scheduling.notifications_kept_for', '1 day', true);
select is(scheduling_private.prune_notifications(), 1, 'the database''s setting, when set, decides');
select is(pg_temp.notification_days_left(), array[1], 'so only the one of a day is left');

select tests.authenticate_as(tests.get_user_id('clin@example.com'));
select throws_ok(
    'select scheduling_private.prune_calendar_sync_log()', '42501', null, 'API roles cannot call it'
);
select tests.clear_authentication();

select * from finish();
rollback;
