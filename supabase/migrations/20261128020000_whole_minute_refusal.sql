-- The refusal names the slot length in whole minutes (it said "30.0000000000000000-minute").
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
        format('%s is not an available %s-minute slot', slot_start, extract(epoch from slot_end - slot_start)::integer / 60),
        'Patients book the slots get_available_slots returns (working hours, notice, horizon and daily limit apply).');
end
$$;
