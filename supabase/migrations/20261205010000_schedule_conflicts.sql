-- The visits a clinician's schedule no longer has room for.
--
-- A clinician who closes a date for a holiday, shortens a day, or adds an event in their own
-- calendar over a booked visit changes what is offered from then on, but the visits already
-- booked stay where they are (nobody's appointment is cancelled behind their back). This lists
-- them, so the dashboard can ask the clinician to move or cancel each one.

create function scheduling_private.schedule_conflicts(range_start timestamptz, range_end timestamptz)
returns table (
    appointment_id uuid,
    scheduled_start timestamptz,
    scheduled_end timestamptz,
    status text,
    patient_id uuid,
    conflict text,
    detail text
)
language plpgsql stable security definer
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

    days as (
        select v.*, o.is_available as override_open, o.reason as override_reason,
            o.id is not null as overridden
        from visits as v
        left join public.clinician_date_overrides as o
            on o.clinician_id = me and o.override_date = v.local_date
    ),

    -- The open hours of each visit's date: the override's, or else the weekly ones.
    hours as (
        select d.id, o.start_time, o.end_time
        from days as d
        inner join public.clinician_date_overrides as o
            on o.clinician_id = me and o.override_date = d.local_date and o.is_available
        union all
        select d.id, r.start_time, r.end_time
        from days as d
        inner join public.clinician_availability as r
            on r.clinician_id = me
            and r.is_active
            and r.day_of_week = extract(dow from d.local_date)
            and not d.overridden
    )

    select d.id, d.scheduled_start, d.scheduled_end, d.status, d.patient_id, 'day_closed', d.override_reason
    from days as d
    where d.overridden and not d.override_open

    union all
    -- Wall-clock hours become instants on the visit's own date, so DST days get their real hours.
    select d.id, d.scheduled_start, d.scheduled_end, d.status, d.patient_id, 'outside_hours',
        coalesce(
            (
                select 'open ' || string_agg(
                    to_char(h.start_time, 'HH24:MI') || '-' || to_char(h.end_time, 'HH24:MI'), ', '
                    order by h.start_time
                ) || ' that day'
                from hours as h
                where h.id = d.id
            ),
            'no working hours that day'
        )
    from days as d
    where (not d.overridden or d.override_open)
        and not exists (
            select from hours as h
            where h.id = d.id
                and (d.local_date + h.start_time) at time zone zone <= d.scheduled_start
                and (d.local_date + h.end_time) at time zone zone >= d.scheduled_end
        )

    union all
    select d.id, d.scheduled_start, d.scheduled_end, d.status, d.patient_id, 'calendar_busy',
        coalesce(b.summary, 'busy in your calendar')
    from days as d
    inner join public.calendar_busy_blocks as b
        on b.user_id = me
        and tstzrange(b.starts_at, b.ends_at) && tstzrange(d.scheduled_start, d.scheduled_end)

    order by 2, 6;
end
$$;
comment on function scheduling_private.schedule_conflicts(timestamptz, timestamptz) is
'The signed-in clinician''s requested and confirmed visits starting in the range that lie on a closed date, outside the day''s hours, or over busy time in their calendar. SECURITY DEFINER: it reads only the caller''s own rows (auth.uid()), and calls private helpers.';
revoke execute on function scheduling_private.schedule_conflicts(timestamptz, timestamptz) from public;
grant execute on function scheduling_private.schedule_conflicts(timestamptz, timestamptz)
to authenticated, service_role;

create function public.schedule_conflicts(
    range_start timestamptz default now(), range_end timestamptz default now() + interval '90 days'
)
returns table (
    appointment_id uuid,
    scheduled_start timestamptz,
    scheduled_end timestamptz,
    status text,
    patient_id uuid,
    conflict text,
    detail text
)
language sql stable
begin atomic
    select
        c.appointment_id,
        c.scheduled_start,
        c.scheduled_end,
        c.status,
        c.patient_id,
        c.conflict,
        c.detail
    from scheduling_private.schedule_conflicts(
        schedule_conflicts.range_start, schedule_conflicts.range_end
    ) as c;
end;
comment on function public.schedule_conflicts(timestamptz, timestamptz) is
'For the signed-in clinician: visits to move or cancel because their date is closed (day_closed, with the override''s reason), they lie outside that day''s hours (outside_hours), or the clinician is busy then in a connected calendar (calendar_busy, with the event''s summary). Errors: 42501 not a clinician, 22023 a range that ends before it starts or spans more than 366 days.';
revoke execute on function public.schedule_conflicts(timestamptz, timestamptz) from public, anon;
grant execute on function public.schedule_conflicts(timestamptz, timestamptz) to authenticated, service_role;
