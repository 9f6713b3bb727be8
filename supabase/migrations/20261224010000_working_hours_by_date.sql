-- get_working_hours: a clinician's hours on each date of a range, as the search reads them.
--
-- Since weekly hours apply from and until a date (20261223010000), what a clinician works on a
-- date is the override of that date if there is one (closed, or its own hours), else the active
-- weekly windows of its weekday whose dates hold it, in the clinician's zone. A dashboard that
-- shows a week (the clinician's diary, a patient's view of when the clinic is open) had to
-- repeat those rules in the browser, DST included. The call answers them from the database.
--
-- The rule itself is written once here (working_hours_on_dates), and the readers that wrote it
-- out again each (a date's hours for the waitlist and for offers, statistics' open minutes,
-- whether an offered time lies within the hours, schedule_conflicts) are restated to read it.

-- The one statement of the rule, for every reader of a date's hours but the two hot paths (the
-- search's open_windows and the one-slot check, which read it in plans of their own). PL/pgSQL
-- keeps its plan for the session; as a SQL function it was planned at every call, and the
-- check of an offered time took 25 times as long.
create function scheduling_private.working_hours_on_dates(clinician_id uuid, zone text, from_date date, to_date date)
returns table (
    work_date date,
    source text,
    starts_at timestamptz,
    ends_at timestamptz,
    start_time time,
    end_time time,
    slot_duration_minutes integer,
    appointment_types public.appointment_type[],
    location_type public.location_type,
    max_appointments_per_day integer,
    availability_id uuid,
    override_id uuid,
    reason text
)
language plpgsql stable
set search_path = ''
as $$
begin
    return query
    with days as (
        select d::date as local_date
        from generate_series(from_date, to_date, interval '1 day') as d
    ),

    hours as (
        -- Weekly windows that apply on dates without an override...
        select
            days.local_date, 'weekly' as source, r.start_time, r.end_time, r.slot_duration_minutes,
            r.appointment_types, r.location_type, r.max_appointments_per_day,
            r.id as availability_id, null::uuid as override_id, null as reason
        from days
        inner join public.clinician_availability as r
            on r.clinician_id = working_hours_on_dates.clinician_id
            and r.is_active
            and r.day_of_week = extract(dow from days.local_date)
            and daterange(r.effective_from, r.effective_until, '[]') @> days.local_date
        where not exists (
            select from public.clinician_date_overrides as o
            where o.clinician_id = working_hours_on_dates.clinician_id and o.override_date = days.local_date
        )
        union all
        -- ...and each override in the range: its own hours, or the date closed.
        select
            o.override_date, case when o.is_available then 'override' else 'closed' end,
            o.start_time, o.end_time, case when o.is_available then o.slot_duration_minutes end,
            o.appointment_types, o.location_type, null, null, o.id, o.reason
        from public.clinician_date_overrides as o
        where o.clinician_id = working_hours_on_dates.clinician_id
            and o.override_date between from_date and to_date
    )

    -- Wall-clock hours become instants per date, so DST days get their real hours.
    select
        h.local_date,
        h.source,
        (h.local_date + h.start_time) at time zone zone,
        (h.local_date + h.end_time) at time zone zone,
        h.start_time,
        h.end_time,
        h.slot_duration_minutes,
        h.appointment_types,
        h.location_type,
        h.max_appointments_per_day,
        h.availability_id,
        h.override_id,
        h.reason
    from hours as h
    order by h.local_date, h.start_time nulls first;
end
$$;
comment on function scheduling_private.working_hours_on_dates(uuid, text, date, date) is
'The clinician''s hours on each local date from from_date to to_date, in their zone: an override''s (or the date closed), else the active weekly windows that apply then.';

create function scheduling_private.get_working_hours(clinician_id uuid, from_date date, to_date date)
returns table (
    work_date date,
    source text,
    starts_at timestamptz,
    ends_at timestamptz,
    start_time time,
    end_time time,
    slot_duration_minutes integer,
    appointment_types public.appointment_type[],
    location_type public.location_type,
    max_appointments_per_day integer,
    availability_id uuid,
    override_id uuid,
    reason text
)
language plpgsql stable
security definer
set search_path = ''
as $$
declare
    zone text;
begin
    if from_date is null or to_date is null then
        perform scheduling_private.raise_bad_argument(
            format('%s is required', case when from_date is null then 'from_date' else 'to_date' end),
            'Pass the first and the last local date to read, such as a week.');
    end if;
    if to_date < from_date then
        perform scheduling_private.raise_bad_argument(
            format('to_date (%s) is before from_date (%s)', to_date, from_date),
            'Pass the first date as from_date and the last as to_date.');
    end if;
    if to_date - from_date >= 366 then
        perform scheduling_private.raise_bad_argument(
            format('working hours are read at most 366 days at a time, not %s', to_date - from_date + 1),
            'Read them a month or a year at a time.');
    end if;
    select c.timezone into zone from public.clinicians as c where c.clinician_id = get_working_hours.clinician_id;
    if not found then
        raise exception 'no clinician %', clinician_id using errcode = 'PT404';
    end if;
    if not (
        scheduling_private.is_system_caller()
        or auth.uid() = clinician_id
        or scheduling_private.is_connected(clinician_id, auth.uid())
    ) then
        raise exception 'you are not connected to this clinician'
            using errcode = '42501', hint = 'Only the clinician''s patients can see their hours.';
    end if;
    return query
    select * from scheduling_private.working_hours_on_dates(clinician_id, zone, from_date, to_date);
end
$$;
comment on function scheduling_private.get_working_hours(uuid, date, date) is
'The clinician''s hours on each local date from from_date to to_date: an override''s (or the date closed), else the weekly windows that apply then. SECURITY DEFINER: the caller is the clinician, a connected patient or a worker.';

-- ============================================================================================
-- The readers of a date's hours that wrote the rule out again, now reading it from above
-- ============================================================================================

-- As in 20261209040000 (in PL/pgSQL, whose plan is kept: see above).
create or replace function scheduling_private.hours_of_date(clinician_id uuid, local_date date, zone text)
returns tstzmultirange
language plpgsql stable
set search_path = ''
as $$
begin
    return (
        select coalesce(range_agg(tstzrange(h.starts_at, h.ends_at)), '{}')
        from scheduling_private.working_hours_on_dates(clinician_id, zone, local_date, local_date) as h
        where h.source <> 'closed'
    );
end
$$;

-- As in 20261223010000.
create or replace function scheduling_private.available_minutes(clinician_id uuid, day date) returns integer
language plpgsql stable
set search_path = ''
as $$
declare
    zone text := (select c.timezone from public.clinicians as c where c.clinician_id = available_minutes.clinician_id);
    open_time tstzmultirange := scheduling_private.hours_of_date(clinician_id, day, zone);
    busy tstzmultirange;
begin
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

-- As in 20261223010000: inside one window of the date, compared as wall-clock times.
create or replace function scheduling_private.within_hours(
    clinician_id uuid, starts timestamptz, ends timestamptz, zone text
) returns boolean
language plpgsql stable
set search_path = ''
as $$
declare
    local_start timestamp := starts at time zone zone;
    local_end timestamp := ends at time zone zone;
    local_date date := local_start::date;
begin
    return exists (
        select from scheduling_private.working_hours_on_dates(clinician_id, zone, local_date, local_date) as h
        where h.source <> 'closed'
            and local_start >= local_date + h.start_time
            and local_end <= local_date + h.end_time
    );
end
$$;

-- As in 20261223010000.
create or replace function scheduling_private.schedule_conflicts(range_start timestamptz, range_end timestamptz)
returns table (
    appointment_id uuid,
    scheduled_start timestamptz,
    scheduled_end timestamptz,
    status text,
    patient_id uuid,
    conflict text,
    detail text
)
language plpgsql stable
security definer
set search_path = ''
as $$
#variable_conflict use_column
declare
    me uuid := auth.uid();
    zone text;
begin
    select c.timezone into zone from public.clinicians as c where c.clinician_id = me;
    if not found then
        raise exception 'only a clinician has a schedule to check' using errcode = '42501';
    end if;
    if range_end <= range_start or range_end - range_start > interval '366 days' then
        perform scheduling_private.raise_bad_argument(
            format('cannot check %s to %s', range_start, range_end),
            'The range must end after it starts and span at most 366 days.');
    end if;

    return query
    with visits as (
        -- Visits that can still be moved or cancelled, on their local date in the clinician's
        -- current zone: the zone their hours are written in.
        select a.id, a.scheduled_start, a.scheduled_end, a.status::text as status, a.patient_id,
            (a.scheduled_start at time zone zone)::date as local_date
        from public.appointments as a
        where a.clinician_id = me
            and a.status in ('requested', 'confirmed')
            and a.scheduled_start >= range_start
            and a.scheduled_start < range_end
    ),

    -- Each visit's date's hours: a row per window, or one for the date closed.
    hours as (
        select v.id, h.source, h.starts_at, h.ends_at, h.start_time, h.end_time, h.reason
        from visits as v
        cross join lateral scheduling_private.working_hours_on_dates(me, zone, v.local_date, v.local_date) as h
    )

    select v.id, v.scheduled_start, v.scheduled_end, v.status, v.patient_id, 'day_closed', h.reason
    from visits as v
    inner join hours as h on h.id = v.id and h.source = 'closed'

    union all
    select v.id, v.scheduled_start, v.scheduled_end, v.status, v.patient_id, 'outside_hours',
        coalesce(
            (
                select 'open ' || string_agg(
                    to_char(h.start_time, 'HH24:MI') || '-' || to_char(h.end_time, 'HH24:MI'), ', '
                    order by h.start_time
                ) || ' that day'
                from hours as h
                where h.id = v.id
            ),
            'no working hours that day'
        )
    from visits as v
    where not exists (select from hours as h where h.id = v.id and h.source = 'closed')
        and not exists (
            select from hours as h
            where h.id = v.id and h.starts_at <= v.scheduled_start and h.ends_at >= v.scheduled_end
        )

    union all
    select v.id, v.scheduled_start, v.scheduled_end, v.status, v.patient_id,
        case when b.source = 'manual' then 'time_blocked' else 'calendar_busy' end,
        coalesce(b.summary, case when b.source = 'manual' then 'time you blocked' else 'busy in your calendar' end)
    from visits as v
    inner join public.calendar_busy_blocks as b
        on b.user_id = me
        and tstzrange(b.starts_at, b.ends_at) && tstzrange(v.scheduled_start, v.scheduled_end)

    order by 2, 6;
end
$$;

revoke execute on all functions in schema scheduling_private from public;
grant execute on function scheduling_private.get_working_hours(uuid, date, date) to authenticated, service_role;

create function public.get_working_hours(clinician_id uuid, from_date date, to_date date)
returns table (
    work_date date,
    source text,
    starts_at timestamptz,
    ends_at timestamptz,
    start_time time,
    end_time time,
    slot_duration_minutes integer,
    appointment_types public.appointment_type[],
    location_type public.location_type,
    max_appointments_per_day integer,
    availability_id uuid,
    override_id uuid,
    reason text
)
language sql stable
begin atomic
    select
        h.work_date,
        h.source,
        h.starts_at,
        h.ends_at,
        h.start_time,
        h.end_time,
        h.slot_duration_minutes,
        h.appointment_types,
        h.location_type,
        h.max_appointments_per_day,
        h.availability_id,
        h.override_id,
        h.reason
    from
        scheduling_private.get_working_hours(
            get_working_hours.clinician_id,
            scheduling_private.finite(get_working_hours.from_date, 'from_date'),
            scheduling_private.finite(get_working_hours.to_date, 'to_date')
        ) as h
    order by h.work_date, h.start_time nulls first;
end;
comment on function public.get_working_hours(uuid, date, date) is
'A clinician''s working hours on each of their local dates from from_date to to_date (at most 366): a row per window (source weekly or override, local times and instants) and a row per closed date (source closed). Errors: 42501 not the clinician or a connected patient, PT404 no such clinician, 22023 a missing, infinite or too long range.';
revoke execute on function public.get_working_hours(uuid, date, date) from public, anon;
grant execute on function public.get_working_hours(uuid, date, date) to authenticated, service_role;
