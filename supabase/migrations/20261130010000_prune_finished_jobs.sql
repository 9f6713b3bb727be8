-- Finished jobs are deleted after a while, so the job outbox does not grow without end.
--
-- Every reminder, notice, calendar change and meeting leaves a job row behind. Once a job is
-- done or cancelled its effect is recorded where people look (the reminder's status, the
-- calendar_sync_log, the video session), and nothing reads the job again: reminders are queued
-- once, when they are created, and a calendar pull is queued only when none is waiting. A failed
-- job is kept longer, for whoever looks into the failure. The worker calls this every hour.

-- Deletes up to `batch_size` finished jobs older than their retention; returns how many. Rows
-- another session holds are skipped, so two workers pruning at once neither wait nor collide.
create function scheduling_private.prune_finished_jobs(
    done_for interval default '14 days', failed_for interval default '90 days', batch_size integer default 10000
) returns integer
language sql
set search_path = ''
as $$
    with pruned as (
        delete from scheduling_private.jobs as j
        where j.id in (
            select f.id from scheduling_private.jobs as f
            where
                (f.status in ('done', 'cancelled') and f.updated_at < now() - done_for)
                or (f.status = 'failed' and f.updated_at < now() - failed_for)
            limit batch_size
            for update skip locked
        )
        returning 1
    )
    select count(*)::integer from pruned
$$;
comment on function scheduling_private.prune_finished_jobs(interval, interval, integer) is
'Deletes done and cancelled jobs after 14 days and failed ones after 90, a batch at a time; the worker runs it hourly.';
