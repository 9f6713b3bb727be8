-- Booking checks one slot instead of searching a range.
--
-- A patient's booking used to run the whole slot search over the slot's own interval: four
-- queries, two of them gathering every busy period, to answer one yes/no question whose
-- appointment half the exclusion constraints answer anyway. Now the open hours are one function,
-- `open_windows`, shared by the search and by `slot_is_offered`; a booking asks only whether the
-- slot lies on the clinician's grid (hours, override, type, location, notice, horizon, daily
-- limit) and clear of their busy blocks, and lets the constraints refuse overlapping
-- appointments. The insert uses ON CONFLICT DO NOTHING instead of an exception block, which
-- cost every booking a subtransaction.

-- ============================================================================================
-- Open hours, shared by the search and the single-slot check
-- ============================================================================================

-- SQL without SET clauses so the planner inlines it into its callers' queries (a SET clause,
-- even search_path, forbids inlining); every name is schema-qualified and both callers pin
-- search_path, so inlined text is resolved under their empty path. test_01 lists it as the one
-- private function allowed to leave search_path alone.
create function scheduling_private.open_windows(
    clinician_id uuid,
    zone text,
    first_date date,
    last_date date,
    appointment_type text,
    location_type text,
    duration_minutes integer,
    ignore_appointment_id uuid
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
        -- Weekly hours, on days that have no override...
        select
            days.local_date, r.start_time, r.end_time, r.slot_duration_minutes,
            r.appointment_types, r.location_type, r.max_appointments_per_day
        from days
        inner join public.clinician_availability as r
            on r.clinician_id = open_windows.clinician_id
            and r.is_active
            and r.day_of_week = extract(dow from days.local_date)
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
                and a.scheduled_start >= w.local_date::timestamp at time zone zone
                and a.scheduled_start < (w.local_date + 1)::timestamp at time zone zone
        )
    )
$$;
comment on function scheduling_private.open_windows(uuid, text, date, date, text, text, integer, uuid) is
'The clinician''s open windows on local dates first_date..last_date that offer this type and location and are under their daily limit; no busy time removed.';

create or replace function scheduling_private.slot_candidates(
    clinician_id uuid,
    range_start timestamptz,
    range_end timestamptz,
    appointment_type text default null,
    location_type text default null,
    duration_minutes integer default null,
    at timestamptz default now(),
    ignore_appointment_id uuid default null,
    for_patient_id uuid default null
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
        and tstzrange(a.scheduled_start, a.scheduled_end) && tstzrange(earliest, range_end);

    return query
    with candidates as (
        select s.slot_start, s.slot_start + w.slot_length as slot_end, w.offered_location_type
        from scheduling_private.open_windows(
            slot_candidates.clinician_id, zone,
            (earliest at time zone zone)::date, (range_end at time zone zone)::date,
            slot_candidates.appointment_type, slot_candidates.location_type,
            slot_candidates.duration_minutes, slot_candidates.ignore_appointment_id
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

-- ============================================================================================
-- One slot
-- ============================================================================================

-- Whether the search would offer this exact slot, leaving appointments aside (the exclusion
-- constraints refuse those at insert): on the grid of an open window of its local date, within
-- notice and horizon, and clear of the clinician's busy blocks and buffer.
create function scheduling_private.slot_is_offered(
    clinician_id uuid, slot_start timestamptz, slot_end timestamptz,
    appointment_type text, location_type text, ignore_appointment_id uuid
) returns boolean
language plpgsql stable
set search_path = ''
set plan_cache_mode = force_generic_plan
as $$
begin
    return exists (
        select
        from public.clinicians as c
        -- A slot lies inside one window, and a window inside one local date: the start's date.
        cross join lateral scheduling_private.open_windows(
            c.clinician_id, c.timezone,
            (slot_start at time zone c.timezone)::date, (slot_start at time zone c.timezone)::date,
            appointment_type, location_type,
            (extract(epoch from slot_end - slot_start) / 60)::integer, ignore_appointment_id
        ) as w
        where c.clinician_id = slot_is_offered.clinician_id
            and slot_start >= now() + make_interval(mins => c.min_notice_minutes)
            and slot_start <= now() + make_interval(days => c.booking_horizon_days)
            and slot_start >= w.window_start
            and slot_end <= w.window_end
            and slot_end - slot_start = w.slot_length
            and extract(epoch from slot_start - w.window_start)::bigint
            % extract(epoch from w.step)::bigint = 0
            and not exists (
                select from public.calendar_busy_blocks as b
                where b.user_id = c.clinician_id
                    and tstzrange(b.starts_at, b.ends_at)
                    && tstzrange(slot_start, slot_end + make_interval(mins => c.buffer_minutes))
            )
    );
end
$$;
comment on function scheduling_private.slot_is_offered(uuid, timestamptz, timestamptz, text, text, uuid) is
'Whether a patient may take this slot as far as hours, grid, notice, horizon, daily limit and busy blocks go; overlapping appointments are left to the exclusion constraints.';

-- A patient may only take a time the search offers them. When it is not offered, say whether it
-- was taken meanwhile (409) or never open (400). Overlaps with appointments that appear after
-- this check are refused by the insert's constraints, also as 409.
create or replace function scheduling_private.require_offered_slot(
    clinician_id uuid, patient_id uuid, slot_start timestamptz, slot_end timestamptz,
    appointment_type text, location_type text, ignore_appointment_id uuid default null
) returns void
language plpgsql stable
set search_path = ''
as $$
begin
    if scheduling_private.slot_is_offered(
        clinician_id, slot_start, slot_end, appointment_type, location_type, ignore_appointment_id
    ) then
        return;
    end if;
    if not scheduling_private.clinician_is_free(clinician_id, slot_start, slot_end, ignore_appointment_id)
        or exists (
            select from public.appointments as a
            where a.patient_id = require_offered_slot.patient_id
                and a.status in ('requested', 'confirmed', 'in_progress')
                and a.id is distinct from ignore_appointment_id
                and tstzrange(a.scheduled_start, a.scheduled_end) && tstzrange(slot_start, slot_end)
        ) then
        raise exception 'that time is no longer free'
            using errcode = 'PT409', hint = 'Choose another slot from get_available_slots.';
    end if;
    perform scheduling_private.raise_bad_argument(
        format('%s is not an available %s-minute slot', slot_start, extract(epoch from slot_end - slot_start) / 60),
        'Patients book the slots get_available_slots returns (working hours, notice, horizon and daily limit apply).');
end
$$;

-- ============================================================================================
-- The insert, without a subtransaction
-- ============================================================================================

create or replace function scheduling_private.insert_appointment(
    clinician_id uuid, patient_id uuid, scheduled_start timestamptz, scheduled_end timestamptz,
    appointment_type text, location_type text, status text, booked_by uuid,
    title text default null, description text default null, patient_notes text default null,
    taken_hint text default null
) returns public.appointments
language plpgsql
set search_path = ''
as $$
declare
    booked public.appointments;
begin
    perform scheduling_private.lock_booking(clinician_id, patient_id);
    -- DO NOTHING without a target covers the exclusion constraints: a clash inserts no row.
    insert into public.appointments (
        clinician_id, patient_id, scheduled_start, scheduled_end, appointment_type, location_type,
        status, title, description, patient_notes, booked_by, confirmed_at
    ) values (
        clinician_id, patient_id, scheduled_start, scheduled_end, appointment_type, location_type,
        status, title, description, patient_notes, booked_by,
        case when status = 'confirmed' then now() end
    )
    on conflict do nothing
    returning * into booked;
    if found then
        return booked;
    end if;
    -- Name the clash the way the constraint would have.
    perform scheduling_private.raise_time_taken(
        case when exists (
            select from public.appointments as a
            where a.patient_id = insert_appointment.patient_id
                and a.status in ('requested', 'confirmed', 'in_progress')
                and tstzrange(a.scheduled_start, a.scheduled_end)
                && tstzrange(insert_appointment.scheduled_start, insert_appointment.scheduled_end)
        ) then 'appointments_no_patient_overlap' else 'appointments_no_clinician_overlap' end,
        booked_by = patient_id, taken_hint
    );
    return null;
end
$$;
