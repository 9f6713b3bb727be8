-- Clinician statistics per local date: volumes, durations, utilisation, cancellation and no-show
-- rates. An appointment change marks its days dirty (cheap, in the booking transaction); the
-- worker recomputes dirty days every minute, and refresh_appointment_statistics rebuilds any range.

create table scheduling_private.statistics_dirty (
    clinician_id uuid not null,
    stat_date date not null,
    primary key (clinician_id, stat_date)
);
comment on table scheduling_private.statistics_dirty is
'Clinician days whose appointment_statistics row is out of date.';

-- ============================================================================================
-- Computing one day
-- ============================================================================================

-- Minutes the clinician is open on a local date: weekly hours (or the override's), minus busy
-- blocks, as instants in the clinician's zone (so a DST day has its real length).
create function scheduling_private.available_minutes(clinician_id uuid, day date) returns integer
language plpgsql stable
set search_path = ''
as $$
declare
    zone text := (select c.timezone from public.clinicians as c where c.clinician_id = available_minutes.clinician_id);
    open_time tstzmultirange;
    busy tstzmultirange;
begin
    select coalesce(range_agg(tstzrange((day + w.start_time) at time zone zone, (day + w.end_time) at time zone zone)), '{}')
    into open_time
    from (
        select r.start_time, r.end_time
        from public.clinician_availability as r
        where r.clinician_id = available_minutes.clinician_id
            and r.is_active
            and r.day_of_week = extract(dow from day)
            and not exists (
                select from public.clinician_date_overrides as o
                where o.clinician_id = available_minutes.clinician_id and o.override_date = day
            )
        union all
        select o.start_time, o.end_time
        from public.clinician_date_overrides as o
        where o.clinician_id = available_minutes.clinician_id and o.override_date = day and o.is_available
    ) as w;
    select coalesce(range_agg(tstzrange(b.starts_at, b.ends_at)), '{}')
    into busy
    from public.calendar_busy_blocks as b
    where b.user_id = available_minutes.clinician_id
        and tstzrange(b.starts_at, b.ends_at) && tstzrange(day::timestamp at time zone zone, (day + 1)::timestamp at time zone zone);
    return coalesce((
        select sum(extract(epoch from upper(part) - lower(part)))::integer / 60
        from unnest(open_time - busy) as part
    ), 0);
end
$$;

create function scheduling_private.refresh_day_statistics(clinician_id uuid, day date) returns void
language plpgsql
set search_path = ''
as $$
declare
    zone text := (select c.timezone from public.clinicians as c where c.clinician_id = refresh_day_statistics.clinician_id);
begin
    insert into public.appointment_statistics as s (
        clinician_id, stat_date, total_appointments, completed_appointments, cancelled_appointments,
        no_show_appointments, video_appointments, in_person_appointments, average_duration_minutes,
        booked_minutes, available_minutes, utilization_rate, cancellation_rate, no_show_rate
    )
    select
        refresh_day_statistics.clinician_id, day, d.total, d.completed, d.cancelled, d.no_show, d.video,
        d.in_person, d.average_duration, d.booked, d.available,
        round(d.booked::numeric / nullif(d.available, 0), 4),
        round(d.cancelled::numeric / nullif(d.total, 0), 4),
        round(d.no_show::numeric / nullif(d.total - d.cancelled, 0), 4)
    from (
        select
            count(*)::integer as total,
            count(*) filter (where a.status = 'completed')::integer as completed,
            count(*) filter (where a.status = 'cancelled')::integer as cancelled,
            count(*) filter (where a.status = 'no_show')::integer as no_show,
            count(*) filter (where a.status <> 'cancelled' and a.location_type = 'video')::integer as video,
            count(*) filter (where a.status <> 'cancelled' and a.location_type = 'in_person')::integer as in_person,
            round(avg(a.duration_minutes) filter (where a.status <> 'cancelled'), 2) as average_duration,
            coalesce(sum(a.duration_minutes) filter (where a.status <> 'cancelled'), 0)::integer as booked,
            scheduling_private.available_minutes(refresh_day_statistics.clinician_id, day) as available
        from public.appointments as a
        where a.clinician_id = refresh_day_statistics.clinician_id
            and a.scheduled_start >= day::timestamp at time zone zone
            and a.scheduled_start < (day + 1)::timestamp at time zone zone
    ) as d
    on conflict on constraint appointment_statistics_one_per_day do update
    set total_appointments = excluded.total_appointments,
        completed_appointments = excluded.completed_appointments,
        cancelled_appointments = excluded.cancelled_appointments,
        no_show_appointments = excluded.no_show_appointments,
        video_appointments = excluded.video_appointments,
        in_person_appointments = excluded.in_person_appointments,
        average_duration_minutes = excluded.average_duration_minutes,
        booked_minutes = excluded.booked_minutes,
        available_minutes = excluded.available_minutes,
        utilization_rate = excluded.utilization_rate,
        cancellation_rate = excluded.cancellation_rate,
        no_show_rate = excluded.no_show_rate;
end
$$;
comment on function scheduling_private.refresh_day_statistics(uuid, date) is
'Recomputes one clinician day. Utilisation = minutes booked in non-cancelled appointments / minutes open (hours or override, minus busy blocks); cancellation rate = cancelled / all; no-show rate = no-shows / not cancelled.';

-- Run by the worker every minute; returns how many days it recomputed.
create function scheduling_private.refresh_dirty_statistics() returns integer
language plpgsql
set search_path = ''
as $$
declare
    dirty record;
    refreshed integer := 0;
begin
    for dirty in
        delete from scheduling_private.statistics_dirty as d
        where (d.clinician_id, d.stat_date) in (
            select x.clinician_id, x.stat_date from scheduling_private.statistics_dirty as x
            for update skip locked
        )
        returning d.clinician_id, d.stat_date
    loop
        perform scheduling_private.refresh_day_statistics(dirty.clinician_id, dirty.stat_date);
        refreshed := refreshed + 1;
    end loop;
    return refreshed;
end
$$;

create function scheduling_private.tg_appointments__mark_statistics_dirty() returns trigger
language plpgsql security definer
set search_path = ''
as $$
begin
    insert into scheduling_private.statistics_dirty (clinician_id, stat_date)
    select a.clinician_id, (a.scheduled_start at time zone a.timezone)::date
    from (select old.* union all select new.*) as a
    where a.clinician_id is not null
    on conflict do nothing;
    return null;
end
$$;
comment on function scheduling_private.tg_appointments__mark_statistics_dirty() is
'Marks the days an appointment change touches; SECURITY DEFINER because no API role writes the private schema.';

create trigger _800_mark_statistics_dirty after insert or update or delete on public.appointments
for each row execute function scheduling_private.tg_appointments__mark_statistics_dirty();

-- ============================================================================================
-- The RPC: rebuild a range
-- ============================================================================================

create function scheduling_private.refresh_appointment_statistics(clinician_id uuid, from_date date, to_date date)
returns integer
language plpgsql security definer
set search_path = ''
as $$
declare
    day date;
begin
    if not (scheduling_private.is_system_caller() or auth.uid() = clinician_id) then
        raise exception 'only the clinician can refresh their statistics' using errcode = '42501';
    end if;
    if from_date is null or to_date is null or to_date < from_date or to_date - from_date > 366 then
        perform scheduling_private.raise_bad_argument(
            'from_date to to_date must be a range of at most 366 days', 'Refresh a year at a time.');
    end if;
    for day in select d::date from generate_series(from_date, to_date, interval '1 day') as d loop
        perform scheduling_private.refresh_day_statistics(clinician_id, day);
    end loop;
    return to_date - from_date + 1;
end
$$;

revoke execute on all functions in schema scheduling_private from public;
grant execute on function scheduling_private.refresh_appointment_statistics(uuid, date, date)
to authenticated, service_role;
grant execute on function scheduling_private.refresh_dirty_statistics() to service_role;

create function public.refresh_appointment_statistics(clinician_id uuid, from_date date, to_date date)
returns integer
language sql
begin atomic
    select scheduling_private.refresh_appointment_statistics(
        refresh_appointment_statistics.clinician_id, refresh_appointment_statistics.from_date,
        refresh_appointment_statistics.to_date
    );
end;
comment on function public.refresh_appointment_statistics(uuid, date, date) is
'Rebuild a clinician''s daily statistics for local dates from..to (at most 366 days); returns the days rebuilt. Errors: 42501 not the clinician, 22023 bad range.';

revoke execute on function public.refresh_appointment_statistics(uuid, date, date) from public, anon;
grant execute on function public.refresh_appointment_statistics(uuid, date, date) to authenticated, service_role;
