-- Freed time is never offered back to the patient who gave it up, however many declines it
-- passes through.
--
-- A cancelled or moved visit's time is offered to the waitlist leaving out the visit's patient
-- (offer_freed_time's excluded_patient_id). A declined offer is passed on leaving out the
-- patient who declined, and only them: so a patient who cancelled Thursday 10:00, and waited on
-- the list for a visit of that kind, could be offered Thursday 10:00 once the first patient
-- offered it declined. Every waitlist offer is made by offer_time_to_entry, which now makes
-- none to a patient who took their own visit with the clinician out of that time (cancelled or
-- moved it), as the appointments' audit log records; offer_freed_time and offer_opened_time
-- then go on to the next entry as they do when blocked time took a slot.
-- The audit log is read, not written: nothing is added to a booking's or a cancellation's
-- writes. offer_time_to_entry is otherwise as in 20261209020000.

-- Whether the patient had a visit with the clinician (requested or confirmed) over part of this
-- time and took it out of it themselves: cancelled it, or moved or shortened it. A visit the
-- clinician cancelled or moved (a day closed when they were ill, then opened again), or a
-- request that lapsed, was not given up: its patient may well want the time back.
create function scheduling_private.patient_gave_up(
    clinician_id uuid, patient_id uuid, slot_start timestamptz, slot_end timestamptz
) returns boolean
language plpgsql stable
set search_path = ''
as $$
begin
    return exists (
        select from public.appointments as a
        join public.appointment_audit_log as l on l.appointment_id = a.id
        where a.patient_id = patient_gave_up.patient_id
            and a.clinician_id = patient_gave_up.clinician_id
            and l.operation = 'UPDATE'
            -- Their own change through the API, or their X by text (the web service's, whose
            -- cancellation names them as its canceller).
            and (l.changed_by = a.patient_id or (l.new_values ->> 'cancelled_by')::uuid = a.patient_id)
            and l.old_values ->> 'status' in ('requested', 'confirmed')
            and tstzrange(
                (l.old_values ->> 'scheduled_start')::timestamptz, (l.old_values ->> 'scheduled_end')::timestamptz
            ) && tstzrange(slot_start, slot_end)
            and (
                l.new_values ->> 'status' = 'cancelled'
                or (l.new_values ->> 'scheduled_start')::timestamptz
                <> (l.old_values ->> 'scheduled_start')::timestamptz
                or (l.new_values ->> 'scheduled_end')::timestamptz
                <> (l.old_values ->> 'scheduled_end')::timestamptz
            )
    );
end
$$;
comment on function scheduling_private.patient_gave_up(uuid, uuid, timestamptz, timestamptz) is
'Whether the patient cancelled, moved or shortened a visit with the clinician that was in part of this time (read from the audit log).';

create or replace function scheduling_private.offer_time_to_entry(
    entry public.appointment_waitlist, slot_start timestamptz, slot_end timestamptz,
    appointment_type text, location_type text, offer_minutes integer
) returns uuid
language plpgsql
set search_path = ''
as $$
declare
    offer public.appointment_time_slots;
begin
    if scheduling_private.patient_gave_up(entry.clinician_id, entry.patient_id, slot_start, slot_end) then
        return null;
    end if;
    begin
        offer := scheduling_private.create_offer(
            entry.clinician_id, entry.patient_id, entry.clinician_id, entry.patient_id, 'offer',
            jsonb_build_array(jsonb_build_object(
                'start', slot_start, 'end', slot_end,
                'duration', extract(epoch from slot_end - slot_start)::integer / 60
            )),
            appointment_type, location_type, null, null,
            least(now() + make_interval(mins => offer_minutes), slot_start), null, entry.id
        );
    exception when invalid_parameter_value then
        if scheduling_private.clinician_is_free(entry.clinician_id, slot_start, slot_end) then
            raise;
        end if;
        return null;
    end;
    update public.appointment_waitlist as w set status = 'offered' where w.id = entry.id;
    return offer.id;
end
$$;

revoke execute on all functions in schema scheduling_private from public;
