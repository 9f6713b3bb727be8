-- Pruning the sync log and in-app notifications reads their old end through the BRIN indexes
-- made for it, not the whole table.
--
-- Both functions were SQL functions comparing created_at with `now() - kept_for`. PostgreSQL
-- (before 18) plans a SQL function's statement with its arguments unknown, and for "earlier than
-- some time" it guesses a third of the table. While the table's pages run in time order that
-- plan still took the BRIN index; once pruning has freed pages at the old end and new rows have
-- filled them (the correlation statistic of created_at at -0.34 in bench/prunes.py), it read the
-- whole table: 110 ms an hourly round for 1,000,000 rows none old enough, against 0.3 ms for the
-- same DELETE with its cutoff written in. The cutoff is now a PL/pgSQL value, whose plan is made
-- knowing it: 0.27 ms there.

create or replace function scheduling_private.prune_calendar_sync_log(
    kept_for interval default scheduling_private.kept_for('scheduling.sync_log_kept_for', '90 days'),
    batch_size integer default 10000
) returns integer
language plpgsql
set search_path = ''
as $$
declare
    cutoff constant timestamptz := now() - kept_for;
    pruned integer;
begin
    delete from public.calendar_sync_log as l
    where l.id in (
        select o.id from public.calendar_sync_log as o
        where o.created_at < cutoff
        limit batch_size
        for update skip locked
    );
    get diagnostics pruned = row_count;
    return pruned;
end
$$;

create or replace function scheduling_private.prune_notifications(
    kept_for interval default scheduling_private.kept_for('scheduling.notifications_kept_for', '180 days'),
    batch_size integer default 10000
) returns integer
language plpgsql
set search_path = ''
as $$
declare
    cutoff constant timestamptz := now() - kept_for;
    pruned integer;
begin
    delete from public.notifications as n
    where n.id in (
        select o.id from public.notifications as o
        where o.created_at < cutoff
        limit batch_size
        for update skip locked
    );
    get diagnostics pruned = row_count;
    return pruned;
end
$$;

revoke execute on all functions in schema scheduling_private from public;
