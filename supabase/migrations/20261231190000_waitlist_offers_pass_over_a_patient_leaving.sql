-- Time offered to the waitlist passes over a waiting patient whose account is being deleted at
-- that moment, instead of meeting the delete in a deadlock.
--
-- A cancellation (or a lapsed offer passed on, hours opened, time unblocked) locks the
-- waitlist place it chooses, with the clinician's booking turn, and then writes the offer and
-- its notice, whose foreign keys hold the waiting patient's account. Supabase's soft delete
-- holds that account from its start, and letting go (20261231130000) then waits for the
-- person's waitlist places and their clinicians' turns: if the patient's delete began between
-- the choice and the offer, each waited for the other (a deadlock, one of the two failed with
-- 40P01). The waiting patient's account cannot be held before the place is chosen (the
-- request cannot know whom it will choose), so the offer now tries to hold it without
-- waiting: an account held for update (a delete, or a phone number changed at that instant) means
-- that entry is passed over for this time, which goes to the next patient waiting, as for an
-- entry someone else has locked. offer_time_to_entry is as in 20261221020000 except for this.

-- Holds the person's account as hold_accounts does, unless another transaction holds it for
-- update; whether it is held.
create function scheduling_private.try_hold_account(person uuid) returns boolean
language plpgsql
set search_path = ''
as $$
begin
    perform from auth.users as u where u.id = person for key share skip locked;
    return found;
end
$$;
comment on function scheduling_private.try_hold_account(uuid) is
'Holds the person''s account FOR KEY SHARE, as their rows'' foreign keys would, unless a delete (or a change of phone number) holds it now: false then, without waiting.';

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
    -- A patient leaving at this moment: their delete holds the account and may wait for the
    -- place this request has locked (see the top of this file).
    if not scheduling_private.try_hold_account(entry.patient_id) then
        return null;
    end if;
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
