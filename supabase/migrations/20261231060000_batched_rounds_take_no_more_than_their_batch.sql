-- Batched rounds take no more than their batch.
--
-- Claiming jobs and the worker's rounds (expiring waitlist places, pruning, refreshing
-- statistics, sending deferred notices) chose their rows with
-- `where id in (select ... limit batch for update skip locked)`. Nothing holds such a statement
-- to one run of the subquery: PostgreSQL may run it again (as the inner side of a semi-join), and
-- a run after the statement has changed some rows can take others. A test run here saw a round
-- take more than its batch: expire_waitlist_entries(2) expired three places, in the pgTAP run
-- next to the seed's rows (the plan there differs from the tests' own database). A worker
-- claiming more jobs than its batch could also hold some past their lease, for another worker to
-- claim again. Each now chooses its rows once: in `= any(array(select ...))`, whose subquery
-- PostgreSQL runs once per statement (an InitPlan), the rows then found by their key's index.
-- (Joined to a MATERIALIZED common table expression instead, the generic plan a function's
-- statement gets hash-joins the whole table: 57 ms for a claim of ten beside 100,000 jobs, against
-- 1.5 ms.) The statistics marks, named by two columns in a table that holds only marks still
-- waiting, are chosen in a MATERIALIZED common table expression. The functions are otherwise as
-- they were (20261220010000, 20261229020000, 20261220020000, 20261221010000, 20261229010000,
-- 20261208030000).

create or replace function scheduling_private.claim_jobs(
    worker text, kinds text[], batch_size integer default 10, lease interval default '5 minutes',
    at timestamptz default now()
) returns setof scheduling_private.jobs
language sql
set search_path = ''
as $$
    update scheduling_private.jobs as j
    set status = 'running', attempts = j.attempts + 1, locked_by = worker, locked_until = at + lease
    where j.id = any(array(
        select claimable.id
        from (
            select due.id, due.run_after as waiting_since
            from unnest(kinds) as k (kind)
            cross join lateral (
                select c.id, c.run_after from scheduling_private.jobs as c
                where c.kind = k.kind and c.status = 'queued' and c.run_after <= at
                order by c.run_after, c.id
                limit batch_size
                for update skip locked
            ) as due
            union all
            select leased.id, leased.locked_until
            from (
                select c.id, c.locked_until from scheduling_private.jobs as c
                where c.kind = any(kinds) and c.status = 'running' and c.locked_until < at
                order by c.locked_until, c.id
                limit batch_size
                for update skip locked
            ) as leased
        ) as claimable
        order by claimable.waiting_since, claimable.id
        limit batch_size
    ))
    returning j.*
$$;

create or replace function scheduling_private.expire_waitlist_entries(batch integer default 500) returns integer
language plpgsql
set search_path = ''
as $$
declare
    expired integer;
begin
    perform scheduling_private.check_batch(batch);
    update public.appointment_waitlist as w set status = 'expired'
    where w.id = any(array(
        select x.id from public.appointment_waitlist as x
        where x.status = 'active' and x.expires_at <= now()
        order by x.expires_at, x.id
        limit batch
        for update skip locked
    ));
    get diagnostics expired = row_count;
    return expired;
end
$$;

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
    where l.id = any(array(
        select o.id from public.calendar_sync_log as o
        where o.created_at < cutoff
        limit batch_size
        for update skip locked
    ));
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
    where n.id = any(array(
        select o.id from public.notifications as o
        where o.created_at < cutoff
        limit batch_size
        for update skip locked
    ));
    get diagnostics pruned = row_count;
    return pruned;
end
$$;

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
    where j.id = any(array(
        select f.id from scheduling_private.jobs as f
        where
            (f.status in ('done', 'cancelled') and f.updated_at < done_before)
            or (f.status = 'failed' and f.updated_at < failed_before)
        limit batch_size
        for update skip locked
    ));
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
    where r.message_sid = any(array(
        select o.message_sid from scheduling_private.sms_replies as o
        where o.received_at < cutoff
        limit batch_size
        for update skip locked
    ));
    get diagnostics pruned = row_count;
    return pruned;
end
$$;

create or replace function scheduling_private.refresh_dirty_statistics(batch integer default 1000) returns integer
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
    with chosen as materialized (
        select x.clinician_id, x.stat_date from scheduling_private.statistics_dirty as x
        order by x.clinician_id, x.stat_date
        limit batch
        for update skip locked
    ),

    marks as (
        delete from scheduling_private.statistics_dirty as d
        using chosen
        where d.clinician_id = chosen.clinician_id and d.stat_date = chosen.stat_date
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

create or replace function scheduling_private.send_deferred_notices(batch_size integer default 500) returns integer
language plpgsql
set search_path = ''
as $$
declare
    notice record;
    sent integer := 0;
begin
    for notice in
        with taken as (
            delete from scheduling_private.deferred_notices as d
            where d.id = any(array(
                select q.id from scheduling_private.deferred_notices as q
                order by q.id
                limit batch_size
                for update skip locked
            ))
            returning d.user_id, d.kind, d.title, d.appointment_id
        )
        select t.* from taken as t
        where exists (
            select from public.appointments as a
            where a.id = t.appointment_id
                and a.status = 'requested'
        )
    loop
        perform scheduling_private.notify(array[notice.user_id], notice.kind, notice.title, notice.appointment_id);
        sent := sent + 1;
    end loop;
    return sent;
end
$$;

revoke execute on all functions in schema scheduling_private from public;
