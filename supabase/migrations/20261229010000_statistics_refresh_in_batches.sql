-- The worker's statistics round recomputes at most `batch` days a call (default 1,000), and the
-- worker calls it again at once while a call fills its batch.
--
-- Until now one call took every marked day and every queued schedule change whole: a time zone
-- change queues all of a clinician's days, a weekly window's change every later day of its
-- weekday, so a clinic changing many clinicians' hours or zone at once left one call of minutes
-- (about 0.3 ms a day on the seeded database). Under the worker's statement time limit
-- (SCHEDULING_STATEMENT_TIMEOUT_SECONDS) such a call would be cancelled, its work undone, and
-- tried again every minute for ever.
--
-- Marks first (a booking's or a move's day, the freshest), then queued changes in the order
-- they came, each giving its days with statistics in date order: a change with more days than
-- the batch has left keeps its row, starting after the last day taken. Nothing is inserted
-- (the marks are shared with the bookings, whose trigger inserts them: see
-- 20261201010000), and the days of a batch are still recomputed in clinician and date order, so
-- two workers that meet on a day wait for each other in the same order.
-- Every round's check of its batch argument.
create function scheduling_private.check_batch(batch integer) returns void
language plpgsql
immutable
set search_path = ''
as $$
begin
    if batch is null or batch < 1 then
        raise exception 'batch must be a positive whole number, not %', coalesce(batch::text, 'null')
            using errcode = '22023';
    end if;
end
$$;

drop function scheduling_private.refresh_dirty_statistics();

create type scheduling_private.clinician_day as (clinician_id uuid, stat_date date);
comment on type scheduling_private.clinician_day is 'One clinician''s statistics day, as the round collects them.';

create function scheduling_private.refresh_dirty_statistics(batch integer default 1000) returns integer
language plpgsql
set search_path = ''
as $$
declare
    days scheduling_private.clinician_day [];
    change record;
    change_days scheduling_private.clinician_day [];
    due record;
    refreshed integer := 0;
begin
    perform scheduling_private.check_batch(batch);
    with marks as (
        delete from scheduling_private.statistics_dirty as d
        where (d.clinician_id, d.stat_date) in (
            select x.clinician_id, x.stat_date from scheduling_private.statistics_dirty as x
            order by x.clinician_id, x.stat_date
            limit batch
            for update skip locked
        )
        returning d.clinician_id, d.stat_date
    )
    select coalesce(array_agg(row(m.clinician_id, m.stat_date)::scheduling_private.clinician_day), '{}')
    into days
    from marks as m;

    for change in
        select q.id, q.clinician_id, q.from_date, q.to_date, q.weekday
        from scheduling_private.statistics_schedule_changes as q
        order by q.id
        for update skip locked
    loop
        exit when pg_catalog.cardinality(days) >= batch;
        select coalesce(array_agg(row(s.clinician_id, s.stat_date)::scheduling_private.clinician_day), '{}')
        into change_days
        from (
            select s.clinician_id, s.stat_date
            from public.appointment_statistics as s
            where
                s.clinician_id = change.clinician_id
                and s.stat_date between change.from_date and change.to_date
                and (change.weekday is null or extract(dow from s.stat_date) = change.weekday)
                -- a day taken already (marked, or in an earlier change) takes no room twice
                and row(s.clinician_id, s.stat_date)::scheduling_private.clinician_day <> all(days)
            order by s.stat_date
            limit batch - pg_catalog.cardinality(days) + 1
        ) as s;
        if pg_catalog.cardinality(change_days) > batch - pg_catalog.cardinality(days) then
            -- More than this batch holds: take its share, and the change waits from the next day.
            change_days := change_days[1:batch - pg_catalog.cardinality(days)];
            update scheduling_private.statistics_schedule_changes as q
            set from_date = change_days[pg_catalog.cardinality(change_days)].stat_date + 1
            where q.id = change.id;
        else
            delete from scheduling_private.statistics_schedule_changes as q where q.id = change.id;
        end if;
        days := days || change_days;
    end loop;

    for due in
        select d.clinician_id, d.stat_date from pg_catalog.unnest(days) as d
        order by d.clinician_id, d.stat_date
    loop
        perform scheduling_private.refresh_day_statistics(due.clinician_id, due.stat_date);
        refreshed := refreshed + 1;
    end loop;
    return refreshed;
end
$$;
comment on function scheduling_private.refresh_dirty_statistics(integer) is
'The worker''s round: recomputes up to `batch` marked days and days of queued schedule changes, in clinician and date order; gives back how many. The worker calls it again at once while it fills its batch.';

revoke execute on all functions in schema scheduling_private from public;
grant execute on function scheduling_private.refresh_dirty_statistics(integer) to service_role;
