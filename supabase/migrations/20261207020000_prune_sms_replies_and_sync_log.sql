-- Inbound SMS replies and the calendar sync log are deleted after a while, as finished jobs are.
--
-- `scheduling_private.sms_replies` exists so that Twilio's second delivery of a message gets
-- the first's answer and changes nothing. Twilio retries a webhook within hours, and each row
-- holds a patient's phone number and words, so it is kept 30 days, not for ever: what a reply
-- changed is in the appointment's audit log. `calendar_sync_log` tells a user what each sync
-- did, and grows with every push and pull; it is kept 90 days.
--
-- A clinic that must keep either longer or shorter sets it once for the database, and every
-- worker's next hourly round follows:
--     alter database postgres set scheduling.sms_replies_kept_for = '1 year';
--     alter database postgres set scheduling.sync_log_kept_for = '180 days';

-- How long the setting says to keep something, or the fallback when it is unset. A value that
-- is not an interval fails the call (22007), so a typo deletes nothing.
create function scheduling_private.kept_for(setting text, fallback interval) returns interval
language sql stable
set search_path = ''
as $$
    select coalesce(nullif(pg_catalog.current_setting(setting, true), '')::interval, fallback)
$$;
comment on function scheduling_private.kept_for(text, interval) is
'The retention a database setting (scheduling.*_kept_for) gives, or the fallback when it is unset.';
revoke execute on function scheduling_private.kept_for(text, interval) from public;
grant execute on function scheduling_private.kept_for(text, interval) to service_role;

-- Deletes up to `batch_size` replies older than their retention; returns how many. Rows another
-- session holds are skipped, so two workers pruning at once neither wait nor collide.
create function scheduling_private.prune_sms_replies(
    kept_for interval default scheduling_private.kept_for('scheduling.sms_replies_kept_for', '30 days'),
    batch_size integer default 10000
) returns integer
language sql
set search_path = ''
as $$
    with pruned as (
        delete from scheduling_private.sms_replies as r
        where r.message_sid in (
            select o.message_sid from scheduling_private.sms_replies as o
            where o.received_at < now() - kept_for
            limit batch_size
            for update skip locked
        )
        returning 1
    )
    select count(*)::integer from pruned
$$;
comment on function scheduling_private.prune_sms_replies(interval, integer) is
'Deletes inbound SMS replies after 30 days (or scheduling.sms_replies_kept_for), a batch at a time; the worker runs it hourly.';
revoke execute on function scheduling_private.prune_sms_replies(interval, integer) from public;
grant execute on function scheduling_private.prune_sms_replies(interval, integer) to service_role;

-- The log is written in time order, so a BRIN index finds its old end for the cost of a few
-- pages, where a btree would be one more index for every sync to write.
create index calendar_sync_log_created_brin on public.calendar_sync_log using brin (created_at);

create function scheduling_private.prune_calendar_sync_log(
    kept_for interval default scheduling_private.kept_for('scheduling.sync_log_kept_for', '90 days'),
    batch_size integer default 10000
) returns integer
language sql
set search_path = ''
as $$
    with pruned as (
        delete from public.calendar_sync_log as l
        where l.id in (
            select o.id from public.calendar_sync_log as o
            where o.created_at < now() - kept_for
            limit batch_size
            for update skip locked
        )
        returning 1
    )
    select count(*)::integer from pruned
$$;
comment on function scheduling_private.prune_calendar_sync_log(interval, integer) is
'Deletes calendar sync log rows after 90 days (or scheduling.sync_log_kept_for), a batch at a time; the worker runs it hourly.';
revoke execute on function scheduling_private.prune_calendar_sync_log(interval, integer) from public;
grant execute on function scheduling_private.prune_calendar_sync_log(interval, integer) to service_role;
