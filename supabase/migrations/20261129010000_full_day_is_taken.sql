-- A slot lost to the day's limit is taken (409), not "never open" (400).
--
-- When patients raced for the last places of a day with `max_appointments_per_day`, the losers
-- were told their slot "is not an available slot" (22023): the one-slot check answered only yes
-- or no, and the refusal, asked why afterwards, could tell an appointment or busy time in the
-- way but not a day filled meanwhile. The check now says why it refuses, and the refusal follows
-- that answer: 'busy' and 'day_full' are PT409 (pick another slot), 'closed' is 22023 (the time
-- was never offered: hours, grid, notice, horizon, type, location).

-- Why a patient cannot have this slot, or null when the slot search would offer it. Appointments
-- overlapping the slot are left to the exclusion constraints (the insert or update meets them).
create function scheduling_private.slot_refusal(
    clinician_id uuid, slot_start timestamptz, slot_end timestamptz,
    appointment_type text, location_type text, ignore_appointment_id uuid
) returns text
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
    select c.* into clinician from public.clinicians as c where c.clinician_id = slot_refusal.clinician_id;
    if not found
        or slot_start < now() + make_interval(mins => clinician.min_notice_minutes)
        or slot_start > now() + make_interval(days => clinician.booking_horizon_days) then
        return 'closed';
    end if;
    -- A slot lies inside one window, and a window inside one local date: the start's date.
    local_date := (slot_start at time zone clinician.timezone)::date;

    select o.* into override
    from public.clinician_date_overrides as o
    where o.clinician_id = slot_refusal.clinician_id and o.override_date = local_date;
    if found then
        -- An override replaces the day's weekly hours and has no daily limit.
        if not (override.is_available and scheduling_private.slot_fits_window(
            slot_start, slot_end, local_date, clinician.timezone,
            override.start_time, override.end_time, override.slot_duration_minutes,
            override.appointment_types, override.location_type, appointment_type, location_type
        )) then
            return 'closed';
        end if;
    else
        -- Weekly windows of one day never overlap: at most one holds the slot.
        select r.max_appointments_per_day into day_limit
        from public.clinician_availability as r
        where r.clinician_id = slot_refusal.clinician_id
            and r.day_of_week = extract(dow from local_date)::smallint
            and r.is_active
            and scheduling_private.slot_fits_window(
                slot_start, slot_end, local_date, clinician.timezone,
                r.start_time, r.end_time, r.slot_duration_minutes,
                r.appointment_types, r.location_type,
                slot_refusal.appointment_type, slot_refusal.location_type
            );
        if not found then
            return 'closed';
        end if;
    end if;

    -- Nested so that days without a limit run no query (an expression with a subquery is
    -- planned and started as a query even when its first half is false).
    if day_limit is not null then
        if day_limit <= (
            select count(*) from public.appointments as a
            where a.clinician_id = slot_refusal.clinician_id
                and a.status in ('requested', 'confirmed', 'in_progress')
                and a.id is distinct from ignore_appointment_id
                and a.scheduled_start >= local_date::timestamp at time zone clinician.timezone
                and a.scheduled_start < (local_date + 1)::timestamp at time zone clinician.timezone
        ) then
            return 'day_full';
        end if;
    end if;

    if exists (
        select from public.calendar_busy_blocks as b
        where b.user_id = slot_refusal.clinician_id
            and tstzrange(b.starts_at, b.ends_at)
            && tstzrange(slot_start, slot_end + make_interval(mins => clinician.buffer_minutes))
    ) then
        return 'busy';
    end if;
    return null;
end
$$;

-- Raises the error for a refusal from slot_refusal.
create function scheduling_private.raise_slot_refused(refusal text, slot_start timestamptz, slot_end timestamptz)
returns void
language plpgsql
set search_path = ''
as $$
begin
    if refusal = 'busy' then
        raise exception 'that time is no longer free'
            using errcode = 'PT409', hint = 'Choose another slot from get_available_slots.';
    elsif refusal = 'day_full' then
        raise exception 'that day is fully booked'
            using errcode = 'PT409', hint = 'Choose a slot on another day from get_available_slots.';
    end if;
    perform scheduling_private.raise_bad_argument(
        format('%s is not an available %s-minute slot', slot_start, extract(epoch from slot_end - slot_start)::integer / 60),
        'Patients book the slots get_available_slots returns (working hours, notice, horizon and daily limit apply).');
end
$$;

create or replace function scheduling_private.book_appointment(
    clinician_id uuid, patient_id uuid, scheduled_start timestamptz, duration_minutes integer,
    appointment_type text, location_type text, title text, description text, patient_notes text
) returns public.appointments
language plpgsql security definer
set search_path = ''
set plan_cache_mode = force_generic_plan
as $$
declare
    caller uuid := auth.uid();
    booked_by_patient boolean := caller = patient_id and caller <> clinician_id;
    scheduled_end timestamptz;
    settings public.clinicians;
    initial_status text;
    refusal text;
begin
    perform scheduling_private.check_booking_arguments(
        scheduled_start, duration_minutes, appointment_type, location_type);
    scheduled_end := scheduled_start + make_interval(mins => duration_minutes);

    select c.* into settings from public.clinicians as c where c.clinician_id = book_appointment.clinician_id;
    if not found then
        raise exception 'no clinician %', clinician_id using errcode = 'PT404';
    end if;
    if not (booked_by_patient or caller = clinician_id or scheduling_private.is_system_caller()) then
        raise exception 'you can book only for yourself, or as their clinician for a patient'
            using errcode = '42501';
    end if;
    if not scheduling_private.is_connected(clinician_id, patient_id) then
        raise exception '%', case when booked_by_patient
            then 'you are not connected to this clinician'
            else 'this patient is not connected to the clinician' end
            using errcode = '42501', hint = 'A care relationship must exist before booking.';
    end if;

    perform scheduling_private.lock_booking(clinician_id, patient_id);
    if booked_by_patient then
        refusal := scheduling_private.slot_refusal(
            clinician_id, scheduled_start, scheduled_end, appointment_type, location_type, null);
        if refusal is not null then
            perform scheduling_private.raise_slot_refused(refusal, scheduled_start, scheduled_end);
        end if;
        initial_status := case when settings.auto_confirm then 'confirmed' else 'requested' end;
    else
        initial_status := 'confirmed';
    end if;

    return scheduling_private.insert_appointment(
        clinician_id, patient_id, scheduled_start, scheduled_end, appointment_type, location_type,
        initial_status, caller, title, description, patient_notes
    );
end
$$;

create or replace function scheduling_private.reschedule_appointment(
    appointment_id uuid, new_start timestamptz, duration_minutes integer
) returns public.appointments
language plpgsql security definer
set search_path = ''
set plan_cache_mode = force_generic_plan
as $$
declare
    appointment public.appointments := scheduling_private.lock_visible_appointment(appointment_id);
    minutes integer := coalesce(duration_minutes, appointment.duration_minutes);
    by_patient boolean := not scheduling_private.acts_as_clinician(appointment);
    new_end timestamptz;
    refusal text;
    violated text;
begin
    if appointment.status not in ('requested', 'confirmed') then
        perform scheduling_private.raise_bad_argument(
            format('a %s appointment cannot be rescheduled', appointment.status),
            'Only requested or confirmed appointments can move; book a new one instead.');
    end if;
    perform scheduling_private.check_booking_arguments(
        new_start, minutes, appointment.appointment_type, appointment.location_type);
    new_end := new_start + make_interval(mins => minutes);
    perform scheduling_private.lock_booking(appointment.clinician_id, appointment.patient_id);
    if by_patient then
        refusal := scheduling_private.slot_refusal(
            appointment.clinician_id, new_start, new_end,
            appointment.appointment_type, appointment.location_type, appointment.id);
        if refusal is not null then
            perform scheduling_private.raise_slot_refused(refusal, new_start, new_end);
        end if;
    end if;
    begin
        update public.appointments as a
        set scheduled_start = new_start, scheduled_end = new_end
        where a.id = appointment.id
        returning * into appointment;
    exception when exclusion_violation then
        get stacked diagnostics violated = constraint_name;
        perform scheduling_private.raise_time_taken(violated, by_patient);
    end;
    return appointment;
end
$$;

drop function scheduling_private.raise_slot_not_offered(uuid, uuid, timestamptz, timestamptz, uuid);
drop function scheduling_private.slot_is_offered(uuid, timestamptz, timestamptz, text, text, uuid);
