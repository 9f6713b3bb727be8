-- Jobs that gave up can be queued again, once what stopped them is mended.
--
-- A job retries with backoff for about two hours (eight attempts) and then stays `failed`, its
-- reminder too. An outage longer than that (expired SMTP credentials over a weekend, an SMS
-- account out of credit) left every reminder and notice of that time undelivered for good, and
-- only hand-written SQL could send them on. `scheduling jobs retry` (below) now does it.

-- Failed jobs of these kinds (every kind when null), queued again to run now with their
-- attempts counted afresh; gives back how many. A reminder gave up with its job: it waits again
-- when its visit is still confirmed and to come, and is sent on; a reminder of a visit that has
-- begun, passed or stopped stays failed, as does its job (a reminder after the visit would only
-- mislead). Notices and calendar jobs go again whatever their age: the worker reads what they are
-- about as it is then.
create function scheduling_private.retry_failed_jobs(kinds text[] default null) returns integer
language plpgsql
set search_path = ''
as $$
declare
    requeued integer;
begin
    with failed as (
        select j.id, j.payload ->> 'reminder_id' as reminder_id
        from scheduling_private.jobs as j
        where j.status = 'failed' and (kinds is null or j.kind = any(kinds))
        for update
    ),

    -- Only reminders whose own job gave up: one a worker failed by itself (no address to send
    -- to) had its job done, and would wait for nothing.
    revived as (
        update public.appointment_reminders as r
        set status = 'pending', attempts = 0
        from public.appointments as a
        where
            r.appointment_id = a.id
            and r.id::text in (select f.reminder_id from failed as f)
            and r.status = 'failed'
            and a.status = 'confirmed'
            and a.scheduled_start > now()
        returning r.id
    ),

    queued as (
        update scheduling_private.jobs as j
        set status = 'queued', attempts = 0, run_after = now(), locked_by = null, locked_until = null
        from failed as f
        where
            j.id = f.id
            and (f.reminder_id is null or f.reminder_id in (select v.id::text from revived as v))
        returning j.id
    )

    select count(*) into requeued from queued;
    if requeued > 0 then
        perform pg_catalog.pg_notify('scheduling_jobs', 'new jobs');
    end if;
    return requeued;
end
$$;
comment on function scheduling_private.retry_failed_jobs(text[]) is
'Queues failed jobs of these kinds (all when null) again, with their reminders when the visit is still confirmed and to come; gives back how many.';

revoke execute on all functions in schema scheduling_private from public;
grant execute on function scheduling_private.retry_failed_jobs(text[]) to service_role;
