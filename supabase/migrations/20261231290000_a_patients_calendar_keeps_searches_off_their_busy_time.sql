-- A search made for a patient leaves out the times their own calendars say they are busy.
--
-- A patient's connected calendars are pulled as a clinician's are: their events become busy
-- blocks (20261126020000), up to 90 days ahead. Nothing read them: the patient searching, or
-- the clinician searching for them (patient_id, moving_appointment_id, a series), was given
-- times their calendar showed taken, and the time only came back as a decline or a missed
-- visit. slot_candidates now leaves out, for the patient it searches for, their busy blocks as
-- well as their visits, without the clinician's buffer (a patient's visits have none). Every
-- search for a patient goes through it: get_available_slots, get_next_available_slots,
-- get_available_series_slots and get_series_move_slots.
--
-- The search spares the patient; it does not bind them. Booking, moving and accepting an offer
-- still take such a time: an event in a person's own calendar is theirs to move (a meeting they
-- would shift for an earlier visit), and a patient or clinician who picks the time knows what
-- they are picking. The waitlist's offers are left as they were for the same reason: a patient
-- waiting for an earlier time is asked, not assumed to be unable.
--
-- The clinician learns from the search that the patient is busy at a time (never what, nor
-- where: the blocks stay readable by their owner alone), as they learned it of the patient's
-- visits with other clinicians (20261231250000).
--
-- slot_candidates as in 20261231270000, the patient's busy blocks read with their visits.

create or replace function scheduling_private.slot_candidates(
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
    -- The patient's visits with any clinician, and their own calendars' busy time.
    select coalesce(range_agg(busy.period), '{}')
    into patient_busy
    from (
        select tstzrange(a.scheduled_start, a.scheduled_end) as period
        from public.appointments as a
        where a.patient_id = slot_candidates.for_patient_id
            and a.status in ('requested', 'confirmed', 'in_progress')
            and a.id is distinct from slot_candidates.ignore_appointment_id
            and (
                slot_candidates.ignore_series_id is null
                or a.series_id is distinct from slot_candidates.ignore_series_id
                or a.status = 'in_progress' or a.scheduled_start <= now()
            )
            and tstzrange(a.scheduled_start, a.scheduled_end) && tstzrange(earliest, range_end)
        union all
        select tstzrange(b.starts_at, b.ends_at)
        from public.calendar_busy_blocks as b
        where b.user_id = slot_candidates.for_patient_id
            and tstzrange(b.starts_at, b.ends_at) && tstzrange(earliest, range_end)
    ) as busy;

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
'Free slots of a clinician in a range (hours, overrides, notice, horizon, daily limit, buffer, busy blocks), clear of for_patient_id''s visits and busy blocks too; the ignored appointment, and the ignored series'' visits to come, hide nothing. No check of the caller.';
