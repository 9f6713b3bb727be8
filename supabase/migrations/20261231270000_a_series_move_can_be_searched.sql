-- The times a whole series can move to: get_series_move_slots(series_id, range_start, range_end).
--
-- reschedule_appointment_series moves every visit to come by one shift of the wall clock, each
-- as reschedule_appointment moves it. Nothing searched for such a move: get_available_series_slots
-- searches for a new series, so the series' own visits hid their own times, the slots around
-- them (the clinician's buffer) and, where the clinician keeps a daily limit, the whole day;
-- and it asked for a count and an interval the series already has. The new search takes the
-- series and gives the new times of its first visit to come whose every visit, shifted as the
-- move shifts it, is offered, with the series' own visits to come hiding nothing.
--
-- The series' visits never meet each other in a move (they are weeks apart and the move goes
-- last first or first first, see 20261206020000), so the search may ignore all of them at
-- once: slot_candidates and open_windows take ignore_series_id, last and default null. Both are
-- dropped and made again with it (a new argument is a new function); their callers pass the
-- arguments before it and are unchanged. Bodies as in 20261126010000 (slot_candidates) and
-- 20261223010000 (open_windows), the series' visits to come left out where the one ignored
-- appointment is.

drop function scheduling_private.slot_candidates(
    uuid, timestamptz, timestamptz, text, text, integer, timestamptz, uuid, uuid
);
drop function scheduling_private.open_windows(uuid, text, date, date, text, text, integer, uuid);

-- SQL without SET clauses, inlined into its caller (see 20261126010000).
create function scheduling_private.open_windows(
    clinician_id uuid,
    zone text,
    first_date date,
    last_date date,
    appointment_type text,
    location_type text,
    duration_minutes integer,
    ignore_appointment_id uuid,
    ignore_series_id uuid default null
) returns table (
    window_start timestamptz,
    window_end timestamptz,
    slot_length interval,
    step interval,
    offered_location_type text
)
language sql stable
as $$
    with days as (
        select d::date as local_date
        from generate_series(first_date, last_date, interval '1 day') as d
    ),
    windows as (
        -- Weekly hours that apply on the date, on days that have no override...
        select
            days.local_date, r.start_time, r.end_time, r.slot_duration_minutes,
            r.appointment_types, r.location_type, r.max_appointments_per_day
        from days
        inner join public.clinician_availability as r
            on r.clinician_id = open_windows.clinician_id
            and r.is_active
            and r.day_of_week = extract(dow from days.local_date)
            and daterange(r.effective_from, r.effective_until, '[]') @> days.local_date
        where not exists (
            select from public.clinician_date_overrides as o
            where o.clinician_id = open_windows.clinician_id and o.override_date = days.local_date
        )
        union all
        -- ...and the hours of an override that opens its day instead.
        select
            o.override_date, o.start_time, o.end_time, o.slot_duration_minutes,
            o.appointment_types, o.location_type, null
        from public.clinician_date_overrides as o
        where o.clinician_id = open_windows.clinician_id
            and o.is_available
            and o.override_date between first_date and last_date
    )
    -- Wall-clock hours become instants per date, so DST days get their real hours.
    select
        (w.local_date + w.start_time) at time zone zone,
        (w.local_date + w.end_time) at time zone zone,
        make_interval(mins => coalesce(open_windows.duration_minutes, w.slot_duration_minutes)),
        make_interval(mins => w.slot_duration_minutes),
        coalesce(w.location_type, open_windows.location_type)
    from windows as w
    where (
        open_windows.appointment_type is null
        or w.appointment_types is null
        or open_windows.appointment_type = any(w.appointment_types::text [])
    )
    and (
        open_windows.location_type is null
        or w.location_type is null
        or w.location_type = open_windows.location_type
    )
    and (
        w.max_appointments_per_day is null
        or w.max_appointments_per_day > (
            select count(*) from public.appointments as a
            where a.clinician_id = open_windows.clinician_id
                and a.status in ('requested', 'confirmed', 'in_progress')
                and a.id is distinct from open_windows.ignore_appointment_id
                -- The ignored series' visits to come (those its move moves).
                and (
                    open_windows.ignore_series_id is null
                    or a.series_id is distinct from open_windows.ignore_series_id
                    or a.status = 'in_progress' or a.scheduled_start <= pg_catalog.now()
                )
                and a.scheduled_start >= w.local_date::timestamp at time zone zone
                and a.scheduled_start < (w.local_date + 1)::timestamp at time zone zone
        )
    )
$$;
comment on function scheduling_private.open_windows(uuid, text, date, date, text, text, integer, uuid, uuid) is
'The clinician''s open windows on local dates first_date..last_date that offer this type and location and are under their daily limit (not counting the ignored appointment or series); no busy time removed.';

create function scheduling_private.slot_candidates(
    clinician_id uuid,
    range_start timestamptz,
    range_end timestamptz,
    appointment_type text default null,
    location_type text default null,
    duration_minutes integer default null,
    at timestamptz default now(),
    ignore_appointment_id uuid default null,
    for_patient_id uuid default null,
    ignore_series_id uuid default null
) returns table (slot_start timestamptz, slot_end timestamptz, offered_location_type text)
-- PL/pgSQL with a generic plan: the plan is made once per session. A SQL function with its own
-- search_path, or custom plans (what PostgreSQL picks once the tables have statistics), would
-- plan this query again on every call, which costs ten times more than running it.
language plpgsql stable
set search_path = ''
set plan_cache_mode = force_generic_plan
as $$
#variable_conflict use_column
declare
    zone text;
    buffer interval;
    earliest timestamptz;
    latest_start timestamptz;
    clinician_busy tstzmultirange;
    patient_busy tstzmultirange;
begin
    select
        c.timezone,
        make_interval(mins => c.buffer_minutes),
        greatest(range_start, at + make_interval(mins => c.min_notice_minutes)),
        at + make_interval(days => c.booking_horizon_days)
    into zone, buffer, earliest, latest_start
    from public.clinicians as c
    where c.clinician_id = slot_candidates.clinician_id;
    if not found or earliest >= range_end or earliest > latest_start then
        return;
    end if;

    -- What blocks the clinician (appointments with their buffer, busy blocks) and the patient,
    -- gathered once as multiranges: each candidate is then one overlap test, not a join.
    select coalesce(range_agg(busy.period), '{}')
    into clinician_busy
    from (
        select tstzrange(a.scheduled_start, a.blocked_until) as period
        from public.appointments as a
        where a.clinician_id = slot_candidates.clinician_id
            and a.status in ('requested', 'confirmed', 'in_progress')
            and a.id is distinct from slot_candidates.ignore_appointment_id
            -- The ignored series' visits to come, those its move moves (as in open_windows).
            and (
                slot_candidates.ignore_series_id is null
                or a.series_id is distinct from slot_candidates.ignore_series_id
                or a.status = 'in_progress' or a.scheduled_start <= now()
            )
            and tstzrange(a.scheduled_start, a.blocked_until) && tstzrange(earliest, range_end + buffer)
        union all
        select tstzrange(b.starts_at, b.ends_at)
        from public.calendar_busy_blocks as b
        where b.user_id = slot_candidates.clinician_id
            and tstzrange(b.starts_at, b.ends_at) && tstzrange(earliest, range_end + buffer)
    ) as busy;
    select coalesce(range_agg(tstzrange(a.scheduled_start, a.scheduled_end)), '{}')
    into patient_busy
    from public.appointments as a
    where a.patient_id = slot_candidates.for_patient_id
        and a.status in ('requested', 'confirmed', 'in_progress')
        and a.id is distinct from slot_candidates.ignore_appointment_id
        and (
            slot_candidates.ignore_series_id is null
            or a.series_id is distinct from slot_candidates.ignore_series_id
            or a.status = 'in_progress' or a.scheduled_start <= now()
        )
        and tstzrange(a.scheduled_start, a.scheduled_end) && tstzrange(earliest, range_end);

    return query
    with candidates as (
        select s.slot_start, s.slot_start + w.slot_length as slot_end, w.offered_location_type
        from scheduling_private.open_windows(
            slot_candidates.clinician_id, zone,
            (earliest at time zone zone)::date, (range_end at time zone zone)::date,
            slot_candidates.appointment_type, slot_candidates.location_type,
            slot_candidates.duration_minutes, slot_candidates.ignore_appointment_id,
            slot_candidates.ignore_series_id
        ) as w
        cross join generate_series(w.window_start, w.window_end - w.slot_length, w.step) as s (slot_start)
    )
    select cand.slot_start, cand.slot_end, cand.offered_location_type
    from candidates as cand
    where cand.slot_start >= earliest
        and cand.slot_start <= latest_start
        and cand.slot_end <= slot_candidates.range_end
        and not clinician_busy && tstzrange(cand.slot_start, cand.slot_end + buffer)
        and not patient_busy && tstzrange(cand.slot_start, cand.slot_end)
    order by cand.slot_start;
end
$$;
comment on function scheduling_private.slot_candidates(
    uuid, timestamptz, timestamptz, text, text, integer, timestamptz, uuid, uuid, uuid
) is
'Free slots of a clinician in a range (hours, overrides, notice, horizon, daily limit, buffer, busy blocks), clear of for_patient_id''s visits too; the ignored appointment, and the ignored series'' visits to come, hide nothing. No check of the caller.';

create function scheduling_private.get_series_move_slots(
    series_id uuid, range_start timestamptz, range_end timestamptz
) returns table (slot_start timestamptz, slot_end timestamptz, offered_location_type text)
language plpgsql stable security definer
set search_path = ''
as $$
#variable_conflict use_column
declare
    visits public.appointments[];
    first_visit public.appointments;
    zone text;
begin
    -- The visits reschedule_series would move, as it picks them.
    visits := array(
        select a from public.appointments as a
        where a.series_id = get_series_move_slots.series_id
            and (scheduling_private.is_system_caller() or auth.uid() in (a.clinician_id, a.patient_id))
            and a.status in ('requested', 'confirmed')
            and a.scheduled_start > now()
        order by a.scheduled_start, a.id
    );
    if cardinality(visits) = 0 then
        perform scheduling_private.require_visible_series(series_id);
        perform scheduling_private.raise_bad_argument(
            'no visit of this series is still to come', 'Only requested or confirmed visits to come can move.');
    end if;
    first_visit := visits[1];
    perform scheduling_private.check_patient_may_change(v, 'move') from unnest(visits) as v;
    -- The range and the caller; no length asked for (each visit keeps its own).
    perform scheduling_private.check_slot_search(
        first_visit.clinician_id, range_start, range_end,
        first_visit.appointment_type::text, first_visit.location_type::text, null);
    zone := first_visit.timezone;

    return query
    with lengths as (
        select distinct v.duration_minutes from unnest(visits) as v
    ),

    -- Each length the visits have, offered from the range's start to past the last visit's
    -- shifted time (a day more for a change of clocks between).
    offered as materialized (
        select l.duration_minutes, s.slot_start, s.slot_end, s.offered_location_type
        from lengths as l
        cross join lateral scheduling_private.slot_candidates(
            first_visit.clinician_id, range_start,
            range_end + (visits[cardinality(visits)].scheduled_start - first_visit.scheduled_start)
            + interval '1 day',
            first_visit.appointment_type::text, first_visit.location_type::text, l.duration_minutes,
            now(), null, first_visit.patient_id, get_series_move_slots.series_id
        ) as s
    ),

    first_times as (
        select r.slot_start, r.slot_end, r.offered_location_type
        from offered as r
        where r.duration_minutes = first_visit.duration_minutes and r.slot_end <= range_end
    )

    -- Each visit shifted as reschedule_series shifts it: the wall clock in the series' zone.
    select f.slot_start, f.slot_end, f.offered_location_type
    from first_times as f
    cross join unnest(visits) as v
    inner join offered as r
        on r.duration_minutes = v.duration_minutes
        and r.slot_start = (
            (v.scheduled_start at time zone zone)
            + ((f.slot_start at time zone zone) - (first_visit.scheduled_start at time zone zone))
        ) at time zone zone
    group by f.slot_start, f.slot_end, f.offered_location_type
    having count(distinct v.id) = cardinality(visits)
    order by f.slot_start;
end
$$;
comment on function scheduling_private.get_series_move_slots(uuid, timestamptz, timestamptz) is
'New times in the range for the first visit to come of a series to which reschedule_appointment_series can move it: every visit to come, shifted by the same wall-clock time, is offered, the series'' own visits hiding nothing. SECURITY DEFINER: it reads the clinician''s appointments and busy time; the caller is checked first, as the move checks them.';

create function public.get_series_move_slots(
    series_id uuid,
    range_start timestamptz,
    range_end timestamptz
) returns table (slot_start timestamptz, slot_end timestamptz, location_type text)
language sql stable
begin atomic
    select
        s.slot_start,
        s.slot_end,
        s.offered_location_type
    from scheduling_private.get_series_move_slots(
        get_series_move_slots.series_id,
        scheduling_private.finite(get_series_move_slots.range_start, 'range_start'),
        scheduling_private.finite(get_series_move_slots.range_end, 'range_end')
    ) as s;
end;
comment on function public.get_series_move_slots(uuid, timestamptz, timestamptz) is
'New times (between two instants, at most 62 days) for the first visit to come of a series that reschedule_appointment_series moves the whole series to, ordered by start. Errors: 22023 bad range or no visit to come, 42501 not connected or within the cutoff, PT404 no series of yours.';

revoke execute on all functions in schema scheduling_private from public;
grant execute on function scheduling_private.get_series_move_slots(uuid, timestamptz, timestamptz)
to authenticated, service_role;
revoke execute on function public.get_series_move_slots(uuid, timestamptz, timestamptz) from public, anon;
grant execute on function public.get_series_move_slots(uuid, timestamptz, timestamptz)
to authenticated, service_role;
