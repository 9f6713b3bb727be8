-- Changes of working hours, date overrides and busy blocks now bring the statistics of the days
-- they change up to date.
--
-- A day's available minutes, and so its utilisation, come from the clinician's hours (or that
-- date's override) minus their busy blocks. Until now only appointment changes marked a day
-- dirty, so a day's utilisation stayed as it was when a clinician changed their hours or a
-- calendar pull brought a busy block, until someone rebuilt it.
--
-- Which days: only days that already have a statistics row (a row exists for every day an
-- appointment touched, or that was rebuilt; a day with none stays without one, as before). A
-- change of weekly hours covers the days of its weekday from the clinician's today on: the hours
-- keep no history, so a past day keeps the hours it was computed with (a later change of one of
-- its appointments recomputes it with the hours of that moment). An override or a busy block
-- covers its own dates, past ones included.
--
-- How: a schedule change appends what it covers to a queue, and the worker's round recomputes
-- the days of the queued changes along with the marked days. The worker sees a change only once
-- it has committed, so it cannot recompute a day without it; appending waits for no one, and the
-- round takes queued changes as it takes marks (skip locked), so it waits for no change under
-- way either. Marking days directly in the trigger would not do: a calendar pull imports busy
-- blocks and, in the same transaction, may move an appointment, which takes the clinician's
-- booking turn. A pull holding a day's mark and waiting for the turn, and a booking holding the
-- turn and waiting for that mark, would deadlock (reasoned from the lock order, not seen).

create table scheduling_private.statistics_schedule_changes (
    id bigint generated always as identity primary key,
    clinician_id uuid not null,
    from_date date not null,
    to_date date not null,
    weekday smallint check (weekday between 0 and 6)
);
comment on table scheduling_private.statistics_schedule_changes is
'Schedule changes whose statistics days are not yet marked dirty: the clinician''s days from..to, only those on weekday (0 = Sunday) when it is set.';

-- In these row triggers OLD is null on insert and NEW on delete; the joins drop the null half.
-- SECURITY DEFINER because no API role writes the private schema.

create function scheduling_private.tg_clinician_availability__queue_statistics() returns trigger
language plpgsql security definer
set search_path = ''
as $$
begin
    insert into scheduling_private.statistics_schedule_changes (clinician_id, from_date, to_date, weekday)
    select w.clinician_id, (now() at time zone c.timezone)::date, date 'infinity', w.day_of_week
    from (
        select old.clinician_id, old.day_of_week
        union
        select new.clinician_id, new.day_of_week
    ) as w
    join public.clinicians as c on c.clinician_id = w.clinician_id;
    return null;
end
$$;

create function scheduling_private.tg_clinician_date_overrides__queue_statistics() returns trigger
language plpgsql security definer
set search_path = ''
as $$
begin
    insert into scheduling_private.statistics_schedule_changes (clinician_id, from_date, to_date)
    select o.clinician_id, o.override_date, o.override_date
    from (
        select old.clinician_id, old.override_date
        union
        select new.clinician_id, new.override_date
    ) as o
    where o.clinician_id is not null;
    return null;
end
$$;

create function scheduling_private.tg_calendar_busy_blocks__queue_statistics() returns trigger
language plpgsql security definer
set search_path = ''
as $$
begin
    -- A patient's block queues nothing: only clinicians have statistics.
    insert into scheduling_private.statistics_schedule_changes (clinician_id, from_date, to_date)
    select b.user_id, (b.starts_at at time zone c.timezone)::date, (b.ends_at at time zone c.timezone)::date
    from (
        select old.user_id, old.starts_at, old.ends_at
        union
        select new.user_id, new.starts_at, new.ends_at
    ) as b
    join public.clinicians as c on c.clinician_id = b.user_id;
    return null;
end
$$;

create trigger _800_queue_statistics after insert or update or delete on public.clinician_availability
for each row execute function scheduling_private.tg_clinician_availability__queue_statistics();

create trigger _800_queue_statistics after insert or update or delete on public.clinician_date_overrides
for each row execute function scheduling_private.tg_clinician_date_overrides__queue_statistics();

create trigger _800_queue_statistics after insert or update or delete on public.calendar_busy_blocks
for each row execute function scheduling_private.tg_calendar_busy_blocks__queue_statistics();

-- The worker's round: the days of queued schedule changes that have statistics, and the
-- marked days, are recomputed. Each queued change and each mark goes to one worker (skip
-- locked), and the days are recomputed in clinician and date order, so two workers that meet on
-- a day wait for each other in the same order.
create or replace function scheduling_private.refresh_dirty_statistics() returns integer
language plpgsql
set search_path = ''
as $$
declare
    due record;
    refreshed integer := 0;
begin
    for due in
        with changes as (
            delete from scheduling_private.statistics_schedule_changes as q
            where q.id in (
                select x.id from scheduling_private.statistics_schedule_changes as x for update skip locked
            )
            returning q.clinician_id, q.from_date, q.to_date, q.weekday
        ),

        marks as (
            delete from scheduling_private.statistics_dirty as d
            where (d.clinician_id, d.stat_date) in (
                select x.clinician_id, x.stat_date from scheduling_private.statistics_dirty as x
                for update skip locked
            )
            returning d.clinician_id, d.stat_date
        )

        select s.clinician_id, s.stat_date
        from changes as c
        inner join public.appointment_statistics as s
            on
                c.clinician_id = s.clinician_id
                and s.stat_date between c.from_date and c.to_date
                and (c.weekday is null or extract(dow from s.stat_date) = c.weekday)
        union
        select m.clinician_id, m.stat_date from marks as m
        order by 1, 2
    loop
        perform scheduling_private.refresh_day_statistics(due.clinician_id, due.stat_date);
        refreshed := refreshed + 1;
    end loop;
    return refreshed;
end
$$;
