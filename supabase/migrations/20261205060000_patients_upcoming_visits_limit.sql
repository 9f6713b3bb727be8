-- A clinician may limit how many visits to come a patient books with them.
--
-- A patient booking for themselves could take every offered slot of the horizon (as requests,
-- each one holding the time until the clinician declined it or it lapsed): one person, or one
-- stolen account, could empty a clinician's diary. `clinicians.max_upcoming_per_patient` (null,
-- the default: no limit) caps the requested and confirmed visits still to come that a patient
-- holds with the clinician when booking for themselves. The clinician's own bookings, offers
-- the clinician made and moves of a visit are not counted against it.

alter table public.clinicians
add column max_upcoming_per_patient integer check (max_upcoming_per_patient between 1 and 100);
comment on column public.clinicians.max_upcoming_per_patient is
'At most this many requested or confirmed visits to come a patient may hold with this clinician when booking for themselves; null: no limit.';
grant update (max_upcoming_per_patient) on table public.clinicians to authenticated;

-- Refuses a patient's booking that would hold more visits to come than the clinician allows.
create function scheduling_private.check_upcoming_limit(clinician_id uuid, patient_id uuid, allowed integer)
returns void
language plpgsql stable
set search_path = ''
as $$
declare
    upcoming integer;
begin
    select count(*) into upcoming
    from public.appointments as a
    where a.patient_id = check_upcoming_limit.patient_id
        and a.clinician_id = check_upcoming_limit.clinician_id
        and a.status in ('requested', 'confirmed')
        and a.scheduled_start > now();
    if upcoming >= allowed then
        raise exception 'you already have % upcoming % with this clinician, the most they allow',
            upcoming, case when upcoming = 1 then 'visit' else 'visits' end
            using errcode = '42501',
            hint = 'Cancel or attend one first, or ask the clinic to book it for you.';
    end if;
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
        -- Counted under the patient's booking turn, so two bookings at once cannot both pass.
        if settings.max_upcoming_per_patient is not null then
            perform scheduling_private.check_upcoming_limit(
                clinician_id, patient_id, settings.max_upcoming_per_patient);
        end if;
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
