-- A patient's slot is checked once, and explained only when refused.
--
-- `require_offered_slot` was called with PERFORM on every patient booking and move: a query and a
-- function call around `slot_is_offered` even when the slot was fine (about 0.035x of the
-- booking benchmark, five alternating rounds, higher in each). The booking and the move now ask
-- `slot_is_offered` directly, and `raise_slot_not_offered` says why only when it answers no.
-- The refusal also names the length in whole minutes (it said "30.0000000000000000-minute").

-- Why a patient cannot have this slot: taken meanwhile (409), or never open (400). Always raises.
create function scheduling_private.raise_slot_not_offered(
    clinician_id uuid, patient_id uuid, slot_start timestamptz, slot_end timestamptz,
    ignore_appointment_id uuid default null
) returns void
language plpgsql stable
set search_path = ''
as $$
begin
    if not scheduling_private.clinician_is_free(clinician_id, slot_start, slot_end, ignore_appointment_id)
        or exists (
            select from public.appointments as a
            where a.patient_id = raise_slot_not_offered.patient_id
                and a.status in ('requested', 'confirmed', 'in_progress')
                and a.id is distinct from ignore_appointment_id
                and tstzrange(a.scheduled_start, a.scheduled_end) && tstzrange(slot_start, slot_end)
        ) then
        raise exception 'that time is no longer free'
            using errcode = 'PT409', hint = 'Choose another slot from get_available_slots.';
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
        if not scheduling_private.slot_is_offered(
            clinician_id, scheduled_start, scheduled_end, appointment_type, location_type, null
        ) then
            perform scheduling_private.raise_slot_not_offered(clinician_id, patient_id, scheduled_start, scheduled_end);
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
    if by_patient and not scheduling_private.slot_is_offered(
        appointment.clinician_id, new_start, new_end,
        appointment.appointment_type, appointment.location_type, appointment.id
    ) then
        perform scheduling_private.raise_slot_not_offered(
            appointment.clinician_id, appointment.patient_id, new_start, new_end, appointment.id);
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

drop function scheduling_private.require_offered_slot(uuid, uuid, timestamptz, timestamptz, text, text, uuid);
