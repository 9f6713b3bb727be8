-- A change's mark on its clinician day is now held until the change commits, so the worker can
-- no longer take the mark and recompute the day without the change.
--
-- The mark was `insert ... on conflict do nothing`, which leaves a mark that is already there
-- unlocked. The worker could then delete that mark and recompute the day while the change was
-- still uncommitted, so not counted; the change committed with no mark left, and its day stayed
-- wrong until someone rebuilt it (seen in tests/test_concurrent_changes.py). `do update ...
-- where false` locks the mark that is there until the change commits, without writing a new
-- version of it, and the worker's `for update skip locked` leaves a locked mark for its next
-- round. A mark the worker already holds makes the change wait for the worker's commit and then
-- write a fresh mark.
create or replace function scheduling_private.tg_appointments__mark_statistics_dirty() returns trigger
language plpgsql security definer
set search_path = ''
as $$
begin
    insert into scheduling_private.statistics_dirty (clinician_id, stat_date)
    select a.clinician_id, (a.scheduled_start at time zone a.timezone)::date
    from (select old.* union all select new.*) as a
    where a.clinician_id is not null
    -- A move within one day marks it once, and two days are always locked in the same order,
    -- so two moves cannot deadlock.
    group by 1, 2
    order by 1, 2
    on conflict (clinician_id, stat_date) do update set stat_date = excluded.stat_date where false;
    return null;
end
$$;
