-- Which weekly times are free for a whole series.
--
-- book_appointment_series books every visit or none, so a patient (who may book only offered
-- slots) or a clinician picking a time from get_available_slots learned only by failing that the
-- seventh week was taken. This search offers the first visit's slots whose every repetition, at
-- the same local time, is offered too.

-- The checks and errors of a slot search, for the one-visit search and the series search alike
-- (the series search used to run a whole one-visit search just to raise them).
create function scheduling_private.check_slot_search(
    clinician_id uuid, range_start timestamptz, range_end timestamptz,
    appointment_type text, location_type text, duration_minutes integer
) returns void
language plpgsql stable
set search_path = ''
as $$
begin
    if range_start is null or range_end is null or range_end <= range_start then
        perform scheduling_private.raise_bad_argument(
            'range_end must be after range_start', 'Pass a range such as the next 7 days.');
    end if;
    if range_end - range_start > interval '62 days' then
        perform scheduling_private.raise_bad_argument(
            'a slot search covers at most 62 days', 'Search month by month.');
    end if;
    if duration_minutes is not null and duration_minutes not between 5 and 480 then
        perform scheduling_private.raise_bad_argument(
            format('a visit lasts 5 to 480 minutes, not %s', duration_minutes),
            'Leave duration_minutes out to use the clinician''s slot length.');
    end if;
    perform appointment_type::public.appointment_type, location_type::public.location_type;
    if not exists (
        select from public.clinicians as c where c.clinician_id = check_slot_search.clinician_id
    ) then
        raise exception 'no clinician %', clinician_id using errcode = 'PT404';
    end if;
    if not (
        scheduling_private.is_system_caller()
        or auth.uid() = clinician_id
        or scheduling_private.is_connected(clinician_id, auth.uid())
    ) then
        raise exception 'you are not connected to this clinician'
            using errcode = '42501', hint = 'Only the clinician''s patients can see their free time.';
    end if;
end
$$;

-- As in 20261125060000, with its checks in check_slot_search.
create or replace function scheduling_private.get_available_slots(
    clinician_id uuid, range_start timestamptz, range_end timestamptz,
    appointment_type text, location_type text, duration_minutes integer
) returns table (slot_start timestamptz, slot_end timestamptz, offered_location_type text)
language plpgsql stable security definer
set search_path = ''
set plan_cache_mode = force_generic_plan
as $$
declare
    caller uuid := auth.uid();
begin
    perform scheduling_private.check_slot_search(
        clinician_id, range_start, range_end, appointment_type, location_type, duration_minutes);
    return query
    select s.slot_start, s.slot_end, s.offered_location_type
    from scheduling_private.slot_candidates(
        clinician_id, range_start, range_end, appointment_type, location_type, duration_minutes,
        now(), null, case when caller is distinct from clinician_id then caller end
    ) as s;
end
$$;

create function scheduling_private.get_available_series_slots(
    clinician_id uuid, range_start timestamptz, range_end timestamptz, occurrences integer,
    interval_weeks integer, appointment_type text, location_type text, duration_minutes integer
) returns table (slot_start timestamptz, slot_end timestamptz, offered_location_type text)
language plpgsql stable security definer
set search_path = ''
as $$
#variable_conflict use_column
declare
    caller uuid := auth.uid();
    zone text;
    last_offset interval;
begin
    perform scheduling_private.check_series_arguments(occurrences, interval_weeks);
    -- A one-visit search's checks and errors, over the first visit's range.
    perform scheduling_private.check_slot_search(
        clinician_id, range_start, range_end, appointment_type, location_type, duration_minutes);
    select c.timezone into zone from public.clinicians as c
    where c.clinician_id = get_available_series_slots.clinician_id;
    last_offset := make_interval(days => 7 * interval_weeks * (occurrences - 1));

    return query
    with offered as materialized (
        select s.slot_start, s.slot_end, s.offered_location_type
        from scheduling_private.slot_candidates(
            get_available_series_slots.clinician_id, range_start, range_end + last_offset + interval '1 day',
            get_available_series_slots.appointment_type, get_available_series_slots.location_type,
            get_available_series_slots.duration_minutes, now(), null,
            case when caller is distinct from get_available_series_slots.clinician_id then caller end
        ) as s
    )
    -- Each repetition at the first visit's wall-clock time: days added to the local time.
    select f.slot_start, f.slot_end, f.offered_location_type
    from offered as f
    cross join generate_series(0, occurrences - 1) as k (visit)
    inner join offered as r
        on r.slot_start = ((f.slot_start at time zone zone) + make_interval(days => 7 * interval_weeks * k.visit))
        at time zone zone
        and r.slot_end - r.slot_start = f.slot_end - f.slot_start
    where f.slot_start >= range_start and f.slot_end <= range_end
    group by f.slot_start, f.slot_end, f.offered_location_type
    having count(*) = occurrences
    order by f.slot_start;
end
$$;
comment on function scheduling_private.get_available_series_slots(
    uuid, timestamptz, timestamptz, integer, integer, text, text, integer
) is
'First-visit slots in the range whose every repetition (occurrences, every interval_weeks weeks, same local time) is offered too. SECURITY DEFINER: as get_available_slots.';
revoke execute on function scheduling_private.get_available_series_slots(
    uuid, timestamptz, timestamptz, integer, integer, text, text, integer
) from public;
grant execute on function scheduling_private.get_available_series_slots(
    uuid, timestamptz, timestamptz, integer, integer, text, text, integer
) to authenticated, service_role;

create function public.get_available_series_slots(
    clinician_id uuid,
    range_start timestamptz,
    range_end timestamptz,
    occurrences integer,
    interval_weeks integer default 1,
    appointment_type text default null,
    location_type text default null,
    duration_minutes integer default null
) returns table (slot_start timestamptz, slot_end timestamptz, location_type text)
language sql stable
begin atomic
    select
        s.slot_start,
        s.slot_end,
        s.offered_location_type
    from scheduling_private.get_available_series_slots(
        get_available_series_slots.clinician_id, get_available_series_slots.range_start,
        get_available_series_slots.range_end, get_available_series_slots.occurrences,
        get_available_series_slots.interval_weeks, get_available_series_slots.appointment_type,
        get_available_series_slots.location_type, get_available_series_slots.duration_minutes
    ) as s;
end;
comment on function public.get_available_series_slots(
    uuid, timestamptz, timestamptz, integer, integer, text, text, integer
) is
'Slots for the first visit of a series (between two instants, at most 62 days) whose every repetition is free too, ordered by start. Errors: as get_available_slots; 22023 a count or interval out of range.';
revoke execute on function public.get_available_series_slots(
    uuid, timestamptz, timestamptz, integer, integer, text, text, integer
) from public, anon;
grant execute on function public.get_available_series_slots(
    uuid, timestamptz, timestamptz, integer, integer, text, text, integer
) to authenticated, service_role;
