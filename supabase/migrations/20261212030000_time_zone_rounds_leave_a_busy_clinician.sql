-- The worker's time zone round leaves a clinician whose booking turn is taken for its next round.
--
-- The round restamps a clinician's appointments one by one in one transaction. An active one
-- takes both booking turns (trigger _050), which the round tried without waiting; a cancelled
-- or past one takes none, but its update still marks its day's statistics (trigger _800), a row
-- lock held until commit. A change under way for the clinician (a series moving its visits one
-- by one) holds its turn and the marks of the days it touched: the round, having restamped a
-- cancelled visit of one day, waited for the change's mark on another, and the change, moving
-- its next visit into the round's day, waited for the round's: a deadlock, which the
-- concurrency test met now and then as 40P01 for the series move
-- (tests/test_time_zone_change_concurrency.py shows the round's wait: lock timeout before this).
--
-- Whoever changes an active appointment holds the clinician's turn while it marks, so a round
-- that holds that turn first, tried without waiting, never meets their marks; one that cannot
-- take it skips the clinician, all of whose appointments wait for the next round (a minute
-- later). follow_time_zone_changes is as in 20261204020000 except for this.

create or replace function scheduling_private.follow_time_zone_changes(batch integer default 500) returns integer
language plpgsql
set search_path = ''
as $$
declare
    changed record;
    zone text;
    due record;
    restamped integer := 0;
begin
    for changed in
        select q.clinician_id from scheduling_private.time_zone_changes as q
        order by q.changed_at
        for update skip locked
    loop
        -- The clinician's turn (lock_booking's first key), tried without waiting, before any of
        -- their appointments is touched: see the top.
        continue when not pg_catalog.pg_try_advisory_xact_lock(1, pg_catalog.hashtext(changed.clinician_id::text));
        -- Read now that the queued row is locked: a change committed since the loop's query
        -- began is seen, and one still under way waits for this round to end.
        zone := (select c.timezone from public.clinicians as c where c.clinician_id = changed.clinician_id);
        for due in
            select a.id, a.patient_id, a.status
            from public.appointments as a
            where a.clinician_id = changed.clinician_id and a.timezone <> zone
            -- Visits to come first: their reminders, invites and feed show the zone soonest.
            order by a.scheduled_end < now(), a.scheduled_start
            limit batch - restamped
            for update skip locked
        loop
            -- An active appointment's update takes the patient's turn too (trigger _050):
            -- tried without waiting, else left for the next round.
            continue when due.status in ('requested', 'confirmed', 'in_progress')
            and not pg_catalog.pg_try_advisory_xact_lock(2, pg_catalog.hashtext(due.patient_id::text));
            update public.appointments as a set timezone = zone where a.id = due.id;
            restamped := restamped + 1;
        end loop;
        if not exists (
            select from public.appointments as a where a.clinician_id = changed.clinician_id and a.timezone <> zone
        ) then
            delete from scheduling_private.time_zone_changes as q where q.clinician_id = changed.clinician_id;
        end if;
        exit when restamped >= batch;
    end loop;
    return restamped;
end
$$;

revoke execute on all functions in schema scheduling_private from public;
grant execute on function scheduling_private.follow_time_zone_changes(integer) to service_role;
