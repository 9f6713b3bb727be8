-- Accepting an offer checks the clinician's busy time.
--
-- An offer's times must be free in the clinician's diary when it is made (create_offer), but
-- accepting it checked only appointments (the exclusion constraints). A patient accepting a
-- time the clinician had blocked since (a meeting added by hand, an event in a connected
-- calendar) got a confirmed visit inside it. (A waitlist offer of such time is withdrawn when
-- the block is made, 20261209030000; an offer in a conversation stays the clinician's.) The
-- patient's acceptance now gets PT409 "that time is no longer free" then, the offer staying
-- pending, as when the time was booked meanwhile. A clinician accepting a patient's proposal
-- may still take blocked time, as they may book into it. respond_to_offer is as in
-- 20261207030000 except for this check.

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
    visit_to_move uuid;
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
        -- The patient takes the clinician's offer: time the clinician has blocked since, by hand
        -- or in a connected calendar, is no longer theirs to give. A clinician taking a
        -- patient's proposal knows their own diary, as when they book.
        if caller <> offer.clinician_id and exists (
            select from public.calendar_busy_blocks as b
            join public.clinicians as c on c.clinician_id = b.user_id
            where b.user_id = offer.clinician_id
                and tstzrange(b.starts_at, b.ends_at) && tstzrange(
                    (chosen ->> 'start')::timestamptz,
                    (chosen ->> 'end')::timestamptz + make_interval(mins => c.buffer_minutes)
                )
        ) then
            raise exception 'that time is no longer free' using errcode = 'PT409',
                detail = 'The clinician has blocked that time since offering it.',
                hint = 'Pick another option, or ask for new times.';
        end if;
        -- The waitlist entry first, before the booking takes its locks (see 20261201030000).
        update public.appointment_waitlist as w set status = 'fulfilled' where w.id = offer.waitlist_entry_id
        returning w.appointment_id into visit_to_move;
        -- An entry to move a visit earlier moves it; if that visit is no longer active, or the
        -- offer is any other, the time is booked. Offered by the clinician, or the clinician
        -- accepting a request: either way approved.
        appointment := scheduling_private.move_visit_earlier(
            visit_to_move, (chosen ->> 'start')::timestamptz, (chosen ->> 'end')::timestamptz);
        if appointment.id is null then
            appointment := scheduling_private.insert_appointment(
                offer.clinician_id, offer.patient_id, (chosen ->> 'start')::timestamptz,
                (chosen ->> 'end')::timestamptz, offer.appointment_type, offer.location_type, 'confirmed',
                caller, taken_hint => 'That time was taken meanwhile: pick another option, or ask for new times.'
            );
        end if;
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
