-- The hourly prunes of finished jobs and of inbound SMS replies find their old rows through an
-- index, not by reading the whole table.
--
-- Neither table had an index on the time its prune compares, so each round read every row:
-- bench/prunes.py, with 1,000,000 rows in each and none old enough to go, took 224 ms for the
-- jobs and 111 ms for the replies every hour, against 0.3 ms for the sync log's prune of a table
-- as large. (A busy outbox holds 14 days of finished jobs: eight or more per confirmed visit.)
--
-- Jobs finish in no order of their pages (each update writes the row's new version wherever
-- there is room), so a BRIN index would not narrow anything: a btree holds the finished ones,
-- by status and finishing time. Jobs are inserted waiting, so a booking's jobs never enter it;
-- a job enters it when it finishes (again, if queued again after failing). Replies are few
-- beside the other tables' rows (one per text a patient sends), so a btree costs their writes
-- nothing worth counting and finds exactly the old ones (a BRIN index, as the sync log has,
-- read a block range of young rows each round: 1.3 ms). Both prunes become PL/pgSQL with their
-- cutoffs as values, for the reason 20261220020000 gives (a SQL function's statement is planned
-- with the cutoff unknown).

create index jobs_finished_idx on scheduling_private.jobs (status, updated_at)
where status in ('done', 'cancelled', 'failed');

create index sms_replies_received_idx on scheduling_private.sms_replies (received_at);

create or replace function scheduling_private.prune_finished_jobs(
    done_for interval default '14 days', failed_for interval default '90 days', batch_size integer default 10000
) returns integer
language plpgsql
set search_path = ''
as $$
declare
    done_before constant timestamptz := now() - done_for;
    failed_before constant timestamptz := now() - failed_for;
    pruned integer;
begin
    delete from scheduling_private.jobs as j
    where j.id in (
        select f.id from scheduling_private.jobs as f
        where
            (f.status in ('done', 'cancelled') and f.updated_at < done_before)
            or (f.status = 'failed' and f.updated_at < failed_before)
        limit batch_size
        for update skip locked
    );
    get diagnostics pruned = row_count;
    return pruned;
end
$$;

create or replace function scheduling_private.prune_sms_replies(
    kept_for interval default scheduling_private.kept_for('scheduling.sms_replies_kept_for', '30 days'),
    batch_size integer default 10000
) returns integer
language plpgsql
set search_path = ''
as $$
declare
    cutoff constant timestamptz := now() - kept_for;
    pruned integer;
begin
    delete from scheduling_private.sms_replies as r
    where r.message_sid in (
        select o.message_sid from scheduling_private.sms_replies as o
        where o.received_at < cutoff
        limit batch_size
        for update skip locked
    );
    get diagnostics pruned = row_count;
    return pruned;
end
$$;

revoke execute on all functions in schema scheduling_private from public;
