-- The one-slot check asks for the one window that could hold the slot.
--
-- `slot_is_offered` used to run the search's `open_windows` over the slot's date: a plan of a
-- dozen nodes (a date series, a hash join, an anti join, a union) built and torn down on every
-- booking, 125 µs a call. A slot lies in at most one window (weekly windows of a day never
-- overlap; an override replaces the day), so the check now reads the clinician, the date's
-- override, and else the weekly window containing the slot, each by its index: about 30 µs.
-- `open_windows` still serves the search. `test_13_patient_slot_rules.sql` tests each rule of
-- this check through book_appointment, and the hypothesis test holds it and the search to the
-- same answer both ways.

-- Whether a slot lies on the grid of a window of its local date: inside the window's instants
-- (wall-clock hours made instants on that date, so DST days get their real hours) and a whole
-- number of steps from its start. Offered types and location as in `open_windows`.
-- SQL without SET clauses, so it is inlined into its callers (see `open_windows`).
create function scheduling_private.slot_fits_window(
    slot_start timestamptz, slot_end timestamptz, local_date date, zone text,
    window_start_time time, window_end_time time, step_minutes integer,
    offered_types public.appointment_type[], offered_location public.location_type,
    appointment_type text, location_type text
) returns boolean
language sql stable
as $$
    select slot_start >= (local_date + window_start_time) at time zone zone
        and slot_end <= (local_date + window_end_time) at time zone zone
        and extract(epoch from slot_start - (local_date + window_start_time) at time zone zone)::bigint
        % (step_minutes * 60) = 0
        and (appointment_type is null or offered_types is null or appointment_type = any(offered_types::text []))
        and (location_type is null or offered_location is null or offered_location::text = location_type)
$$;
comment on function scheduling_private.slot_fits_window(
    timestamptz, timestamptz, date, text, time, time, integer, public.appointment_type[], public.location_type, text, text
) is 'Whether the slot lies on the grid of this window of local_date and the window offers its type and location.';

create or replace function scheduling_private.slot_is_offered(
    clinician_id uuid, slot_start timestamptz, slot_end timestamptz,
    appointment_type text, location_type text, ignore_appointment_id uuid
) returns boolean
language plpgsql stable
set search_path = ''
set plan_cache_mode = force_generic_plan
as $$
declare
    clinician public.clinicians;
    local_date date;
    override public.clinician_date_overrides;
    day_limit integer;
begin
    select c.* into clinician from public.clinicians as c where c.clinician_id = slot_is_offered.clinician_id;
    if not found
        or slot_start < now() + make_interval(mins => clinician.min_notice_minutes)
        or slot_start > now() + make_interval(days => clinician.booking_horizon_days) then
        return false;
    end if;
    -- A slot lies inside one window, and a window inside one local date: the start's date.
    local_date := (slot_start at time zone clinician.timezone)::date;

    select o.* into override
    from public.clinician_date_overrides as o
    where o.clinician_id = slot_is_offered.clinician_id and o.override_date = local_date;
    if found then
        -- An override replaces the day's weekly hours and has no daily limit.
        if not (override.is_available and scheduling_private.slot_fits_window(
            slot_start, slot_end, local_date, clinician.timezone,
            override.start_time, override.end_time, override.slot_duration_minutes,
            override.appointment_types, override.location_type, appointment_type, location_type
        )) then
            return false;
        end if;
    else
        -- Weekly windows of one day never overlap: at most one holds the slot.
        select r.max_appointments_per_day into day_limit
        from public.clinician_availability as r
        where r.clinician_id = slot_is_offered.clinician_id
            and r.day_of_week = extract(dow from local_date)::smallint
            and r.is_active
            and scheduling_private.slot_fits_window(
                slot_start, slot_end, local_date, clinician.timezone,
                r.start_time, r.end_time, r.slot_duration_minutes,
                r.appointment_types, r.location_type,
                slot_is_offered.appointment_type, slot_is_offered.location_type
            );
        if not found then
            return false;
        end if;
    end if;

    -- Nested so that days without a limit run no query (an expression with a subquery is
    -- planned and started as a query even when its first half is false).
    if day_limit is not null then
        if day_limit <= (
            select count(*) from public.appointments as a
            where a.clinician_id = slot_is_offered.clinician_id
                and a.status in ('requested', 'confirmed', 'in_progress')
                and a.id is distinct from ignore_appointment_id
                and a.scheduled_start >= local_date::timestamp at time zone clinician.timezone
                and a.scheduled_start < (local_date + 1)::timestamp at time zone clinician.timezone
        ) then
            return false;
        end if;
    end if;

    return not exists (
        select from public.calendar_busy_blocks as b
        where b.user_id = slot_is_offered.clinician_id
            and tstzrange(b.starts_at, b.ends_at)
            && tstzrange(slot_start, slot_end + make_interval(mins => clinician.buffer_minutes))
    );
end
$$;

-- ============================================================================================
-- Fewer statements per booking
-- ============================================================================================
-- Each statement a function runs is planned once but started and ended as a query every time
-- (PERFORM included); at a booking's size that start-up is a large part of its cost.

-- Both locks in one statement, clinician first as before.
create or replace function scheduling_private.lock_booking(clinician_id uuid, patient_id uuid) returns void
language plpgsql
set search_path = ''
as $$
begin
    perform
        pg_catalog.pg_advisory_xact_lock(1, pg_catalog.hashtext(clinician_id::text)),
        pg_catalog.pg_advisory_xact_lock(2, pg_catalog.hashtext(patient_id::text));
end
$$;

-- A calendar push is queued only for people with a connected calendar, which most are not: the
-- loop reads the connections once and inserts nothing without them (an INSERT ... SELECT of no
-- rows would still fire the job table's statement trigger).
create or replace function scheduling_private.tg_appointments__calendar_push() returns trigger
language plpgsql security definer
set search_path = ''
as $$
declare
    connection record;
begin
    for connection in
        select c.id, c.provider
        from public.calendar_sync_connections as c
        where c.user_id in (new.clinician_id, new.patient_id)
            and c.sync_enabled
            and c.sync_direction in ('two_way', 'to_external')
    loop
        insert into scheduling_private.jobs (kind, payload)
        values (
            'calendar_push_' || connection.provider,
            jsonb_build_object('appointment_id', new.id, 'connection_id', connection.id)
        );
    end loop;
    return null;
end
$$;

-- The domains check the type and location as the values are assigned (same SQLSTATE 23514 and
-- message as the cast it replaces, without a query).
create or replace function scheduling_private.check_booking_arguments(
    scheduled_start timestamptz, duration_minutes integer, appointment_type text, location_type text
) returns void
language plpgsql stable
set search_path = ''
as $$
declare
    checked_type public.appointment_type;
    checked_location public.location_type;
begin
    if scheduled_start is null then
        perform scheduling_private.raise_bad_argument('a start time is required', 'Pass scheduled_start.');
    end if;
    if scheduled_start <= now() then
        perform scheduling_private.raise_bad_argument(
            format('%s is in the past', scheduled_start), 'Choose a time that has not started yet.');
    end if;
    if duration_minutes is null or duration_minutes not between 5 and 480 then
        perform scheduling_private.raise_bad_argument(
            format('a visit lasts 5 to 480 minutes, not %s', coalesce(duration_minutes::text, 'nothing')),
            'Pass duration_minutes between 5 and 480.');
    end if;
    checked_type := appointment_type;
    checked_location := location_type;
    if checked_type is null or checked_location is null then
        perform scheduling_private.raise_bad_argument(
            'appointment_type and location_type are required', 'See get_available_slots for what is offered.');
    end if;
end
$$;
