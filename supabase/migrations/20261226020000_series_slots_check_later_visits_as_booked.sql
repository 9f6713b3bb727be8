-- A series' later visits are searched as book_appointment_series books them: with the first
-- visit's length and place.
--
-- get_available_series_slots (20261205080000) matched each first-visit slot against the slots
-- of later weeks as a one-visit search offers them, each window's own length and location.
-- Since weekly hours can change from a date (20261223010000) a later week may have other
-- windows: a 45-minute first slot was not found when a later week's window offered 15-minute
-- slots, though the series books there (a 45-minute visit fits its 15-minute grid); and a first
-- slot offered anywhere was found when a later week took video visits only, as a series that
-- books anywhere, though booking it in person is refused. Now later weeks are searched with the
-- first slot's length and location; a first slot offered anywhere takes the one location its
-- later weeks require, if any (returned as the slot's location_type), and is not offered when
-- they require two.

create or replace function scheduling_private.get_available_series_slots(
    clinician_id uuid, range_start timestamptz, range_end timestamptz, occurrences integer,
    interval_weeks integer, appointment_type text, location_type text, duration_minutes integer
) returns table (slot_start timestamptz, slot_end timestamptz, offered_location_type text)
language plpgsql stable security definer
set search_path = ''
as $$
#variable_conflict use_column
declare
    caller uuid := auth.uid();
    patient uuid;
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
    patient := case when caller is distinct from get_available_series_slots.clinician_id then caller end;

    return query
    with first_visits as materialized (
        select s.slot_start, s.slot_end, s.offered_location_type
        from scheduling_private.slot_candidates(
            get_available_series_slots.clinician_id, range_start, range_end,
            get_available_series_slots.appointment_type, get_available_series_slots.location_type,
            get_available_series_slots.duration_minutes, now(), null, patient
        ) as s
    ),

    -- Each length and location the first visits have, searched over every week as booked.
    kinds as (
        select distinct f.slot_end - f.slot_start as length, f.offered_location_type as location
        from first_visits as f
    ),

    offered as materialized (
        select k.length, k.location, s.slot_start, s.offered_location_type
        from kinds as k
        cross join lateral scheduling_private.slot_candidates(
            get_available_series_slots.clinician_id, range_start, range_end + last_offset + interval '1 day',
            get_available_series_slots.appointment_type, k.location,
            (extract(epoch from k.length) / 60)::integer, now(), null, patient
        ) as s
    )

    -- Each repetition at the first visit's wall-clock time: days added to the local time.
    select f.slot_start, f.slot_end, coalesce(f.offered_location_type, min(r.offered_location_type))
    from first_visits as f
    cross join generate_series(0, occurrences - 1) as k (visit)
    inner join offered as r
        on r.length = f.slot_end - f.slot_start
        and r.location is not distinct from f.offered_location_type
        and r.slot_start = ((f.slot_start at time zone zone) + make_interval(days => 7 * interval_weeks * k.visit))
        at time zone zone
    group by f.slot_start, f.slot_end, f.offered_location_type
    having count(*) = occurrences and count(distinct r.offered_location_type) <= 1
    order by f.slot_start;
end
$$;
comment on function scheduling_private.get_available_series_slots(
    uuid, timestamptz, timestamptz, integer, integer, text, text, integer
) is
'First-visit slots in the range whose every repetition (occurrences, every interval_weeks weeks, same local time) is offered too, with the first visit''s length and location; a first slot offered anywhere gets the one location its repetitions require. SECURITY DEFINER: as get_available_slots.';
