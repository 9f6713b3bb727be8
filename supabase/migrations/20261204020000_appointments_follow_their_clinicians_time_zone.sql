-- A clinician's change of time zone now reaches their appointments and statistics.
--
-- Each appointment keeps the zone it was booked in (`appointments.timezone`), and reminders,
-- email and SMS wording, invites, the calendar feed, statistics marks and the trend views show
-- its local times in that zone. A clinician who corrects a zone set wrongly (or moves) used to
-- leave every appointment booked so far in the old zone: a patient without a zone of their own
-- was reminded of their visit at the old zone's wall-clock time, and a day's statistics were
-- marked by one zone and recomputed by the other.
--
-- Now the appointments of a clinician always come to carry the clinician's zone, past ones
-- included, so everything that shows or counts local days agrees with the statistics, which
-- are recomputed in the clinician's zone:
-- - The change queues the clinician (`time_zone_changes`), and queues every statistics day of
--   theirs for recomputing (days with no appointment change their available minutes too).
-- - The worker's round (`follow_time_zone_changes`, every minute) restamps the appointments,
--   visits to come first, at most `batch` a round. Each restamp is an appointment update, so it
--   is audited and marks its old and new statistics days.
--
-- Why the worker and not the change's own transaction: restamping means updating many of the
-- clinician's appointments, and every other writer of one locks the appointment's row first and
-- then takes its booking turn (trigger _050). One transaction taking several rows and turns
-- would deadlock with those; the worker takes rows with SKIP LOCKED and turns without waiting,
-- as lapse_unconfirmed_requests does, and leaves what is busy for its next round.
--
-- Why the change takes the clinician's booking turn: a booking under way read the old zone.
-- Taking the turn waits for it to commit, so the worker (which sees the change only once it has
-- committed) sees that booking too; and a booking that starts later waits for the change and
-- reads the new zone.

create table scheduling_private.time_zone_changes (
    clinician_id uuid primary key references public.clinicians (clinician_id) on delete cascade,
    changed_at timestamptz not null default now()
);
comment on table scheduling_private.time_zone_changes is
'Clinicians whose appointments do not all carry their time zone yet; the worker restamps them.';

create function scheduling_private.tg_clinicians__follow_time_zone() returns trigger
language plpgsql security definer
set search_path = ''
as $$
begin
    -- A round of the worker holding this clinician's row makes the change wait for its commit;
    -- the row is then updated, or inserted afresh if the round has removed it.
    insert into scheduling_private.time_zone_changes (clinician_id) values (new.clinician_id)
    on conflict (clinician_id) do update set changed_at = excluded.changed_at;
    -- lock_booking's clinician key
    perform pg_catalog.pg_advisory_xact_lock(1, pg_catalog.hashtext(new.clinician_id::text));
    insert into scheduling_private.statistics_schedule_changes (clinician_id, from_date, to_date)
    values (new.clinician_id, '-infinity', 'infinity');
    return null;
end
$$;
comment on function scheduling_private.tg_clinicians__follow_time_zone() is
'AFTER UPDATE OF timezone on clinicians: queues the restamp of their appointments and the recompute of their statistics days.';

-- After _200_validate_timezone (a BEFORE trigger), so an unknown zone is refused first.
create trigger _500_follow_time_zone after update of timezone on public.clinicians
for each row when (old.timezone is distinct from new.timezone)
execute function scheduling_private.tg_clinicians__follow_time_zone();

create function scheduling_private.follow_time_zone_changes(batch integer default 500) returns integer
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
            -- An active appointment's update takes both booking turns (trigger _050): tried
            -- without waiting (lock_booking's keys), else left for the next round.
            continue when due.status in ('requested', 'confirmed', 'in_progress') and not (
                pg_catalog.pg_try_advisory_xact_lock(1, pg_catalog.hashtext(changed.clinician_id::text))
                and pg_catalog.pg_try_advisory_xact_lock(2, pg_catalog.hashtext(due.patient_id::text))
            );
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
comment on function scheduling_private.follow_time_zone_changes(integer) is
'Gives up to `batch` appointments of clinicians who changed time zone the clinician''s zone; gives back how many. Run by the worker every minute.';
revoke execute on function scheduling_private.follow_time_zone_changes(integer) from public;
grant execute on function scheduling_private.follow_time_zone_changes(integer) to service_role;

comment on column public.appointments.timezone is
'The clinician''s time zone, for showing local times: set at booking, and restamped by the worker after the clinician changes zone.';
