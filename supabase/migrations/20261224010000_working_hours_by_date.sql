-- get_working_hours: a clinician's hours on each date of a range, as the search reads them.
--
-- Since weekly hours apply from and until a date (20261223010000), what a clinician works on a
-- date is the override of that date if there is one (closed, or its own hours), else the active
-- weekly windows of its weekday whose dates hold it, in the clinician's zone. A dashboard that
-- shows a week (the clinician's diary, a patient's view of when the clinic is open) had to
-- repeat those rules in the browser, DST included. The call answers them from the database.

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
            on r.clinician_id = get_working_hours.clinician_id
            and r.is_active
            and r.day_of_week = extract(dow from days.local_date)
            and daterange(r.effective_from, r.effective_until, '[]') @> days.local_date
        where not exists (
            select from public.clinician_date_overrides as o
            where o.clinician_id = get_working_hours.clinician_id and o.override_date = days.local_date
        )
        union all
        -- ...and each override in the range: its own hours, or the date closed.
        select
            o.override_date, case when o.is_available then 'override' else 'closed' end,
            o.start_time, o.end_time, case when o.is_available then o.slot_duration_minutes end,
            o.appointment_types, o.location_type, null, null, o.id, o.reason
        from public.clinician_date_overrides as o
        where o.clinician_id = get_working_hours.clinician_id
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
    from hours as h;
end
$$;
comment on function scheduling_private.get_working_hours(uuid, date, date) is
'The clinician''s hours on each local date from from_date to to_date: an override''s (or the date closed), else the weekly windows that apply then. SECURITY DEFINER: the caller is the clinician, a connected patient or a worker.';

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
