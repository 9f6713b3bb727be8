-- Accepting a waitlist offer marks its entry fulfilled before booking, so the two can no longer
-- deadlock with a cancellation.
--
-- Looking for a waitlist entry to offer freed time to (`offer_freed_time`, run when an
-- appointment is cancelled or moved) takes `for update skip locked` on the best active entry.
-- Under read committed, an entry that another transaction has just offered is still active in
-- that statement's snapshot; it is locked, found no longer active, and passed over, but stays
-- locked until the cancellation commits. Accepting that entry's offer booked first (taking the
-- clinician day's statistics mark, among others) and then waited for the entry, while the
-- cancellation, holding the entry, waited for the statistics mark: deadlock (seen in
-- tests/test_concurrent_changes.py, "while locking tuple ... in relation appointment_waitlist").
-- Taking the entry before anything the booking locks breaks the cycle: a cancellation never
-- waits for an entry (it skips locked ones), so whoever holds the entry never waits for the
-- acceptance.
create or replace function scheduling_private.respond_to_offer(
    slot_id uuid, action text, selected_time_index integer, counter_options jsonb
) returns public.appointment_time_slots
language plpgsql security definer
set search_path = ''
as $$
declare
    caller uuid := auth.uid();
    offer public.appointment_time_slots;
    chosen jsonb;
    appointment public.appointments;
begin
    offer := scheduling_private.lock_visible_offer(slot_id);
    if caller = offer.offered_by then
        raise exception 'only the person the times were offered to can answer'
            using errcode = '42501', hint = 'Use cancel_offer to withdraw your own offer.';
    end if;
    if offer.status = 'expired' or (offer.status = 'pending' and offer.expires_at <= now()) then
        raise exception 'offer expired' using errcode = 'PT410',
            hint = 'Ask for new times in the conversation.';
    end if;
    if offer.status <> 'pending' then
        raise exception 'offer already %', offer.status using errcode = 'PT409';
    end if;

    if action = 'accept' then
        chosen := offer.time_options -> selected_time_index;
        if selected_time_index is null or selected_time_index < 0 or chosen is null then
            perform scheduling_private.raise_bad_argument(
                format('selected_time_index must be 0 to %s', jsonb_array_length(offer.time_options) - 1),
                'Pass the 0-based position of the option you pick.');
        end if;
        if (chosen ->> 'start')::timestamptz <= now() then
            raise exception 'that option has already started' using errcode = 'PT410',
                hint = 'Pick a later option.';
        end if;
        -- The waitlist entry first, before the booking takes its locks (see the top of this file).
        update public.appointment_waitlist as w set status = 'fulfilled' where w.id = offer.waitlist_entry_id;
        -- Offered by the clinician, or the clinician accepting a request: either way approved.
        appointment := scheduling_private.insert_appointment(
            offer.clinician_id, offer.patient_id, (chosen ->> 'start')::timestamptz,
            (chosen ->> 'end')::timestamptz, offer.appointment_type, offer.location_type, 'confirmed',
            caller, taken_hint => 'That time was taken meanwhile: pick another option, or ask for new times.'
        );
        update public.appointment_time_slots as s
        set status = 'accepted', selected_time_index = respond_to_offer.selected_time_index,
            responded_at = now(), appointment_id = appointment.id
        where s.id = offer.id
        returning * into offer;
        return offer;
    elsif action = 'decline' then
        update public.appointment_time_slots as s set status = 'declined', responded_at = now()
        where s.id = offer.id
        returning * into offer;
        perform scheduling_private.pass_on_waitlist_offer(offer);
        return offer;
    elsif action = 'counter' then
        if counter_options is null then
            perform scheduling_private.raise_bad_argument(
                'a counter-offer needs counter_options', 'Send the times you propose instead.');
        end if;
        update public.appointment_time_slots as s set status = 'declined', responded_at = now()
        where s.id = offer.id
        returning * into offer;
        perform scheduling_private.pass_on_waitlist_offer(offer);
        return scheduling_private.create_offer(
            offer.clinician_id, offer.patient_id, caller, offer.offered_by, 'counter_offer',
            counter_options, offer.appointment_type, offer.location_type, offer.conversation_id,
            null, null, offer.id
        );
    end if;
    perform scheduling_private.raise_bad_argument(
        format('action is accept, decline or counter, not %s', coalesce(action, 'nothing')),
        'Pass one of accept, decline, counter.');
    return null;
end
$$;
