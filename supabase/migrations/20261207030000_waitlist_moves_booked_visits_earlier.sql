-- A waitlist entry can ask to move a visit already booked to earlier time.
--
-- Patients on a waitlist often have a visit booked already and want it sooner. Until now they
-- joined as anyone else, and accepting an offer booked a second visit beside the later one.
-- `appointment_waitlist.appointment_id` names the visit to move: such an entry takes the
-- visit's type and location, is matched only by freed time that starts before the visit and
-- has its length, and accepting the offer moves that visit (confirming it, if it was still a
-- request: the clinic offered the time). The visit's old time is then freed like any other
-- move, so it goes to the next match on the waitlist in the same transaction.
-- offer_freed_time is as in 20261202020000 and respond_to_offer as in 20261201030000 except
-- for these.

-- No foreign key, on purpose. A foreign key's check takes a KEY SHARE lock on the visit when an
-- entry the same transaction already changed is changed again, as expire_offers does while it
-- holds clinicians' booking turns; a cancellation holding the visit (FOR UPDATE) and waiting for
-- the turn then deadlocked with it (seen in tests/test_concurrent_changes.py). The insert
-- trigger below checks the visit instead; an entry whose visit is later deleted (a DBA's act:
-- the API never deletes appointments) is simply never offered again.
alter table public.appointment_waitlist add column appointment_id uuid;
comment on column public.appointment_waitlist.appointment_id is
'The patient''s booked visit this entry asks to move earlier; null: the entry asks for a new visit.';
-- One entry at a time per visit: two would be offered the same wish twice.
create unique index appointment_waitlist_one_open_entry_per_visit on public.appointment_waitlist (appointment_id)
where status in ('active', 'offered');
grant insert (appointment_id) on table public.appointment_waitlist to authenticated;

-- SECURITY INVOKER: the patient names a visit they can see, and the errors are raised here
-- (a signed-in user may not call the private helpers).
create function scheduling_private.tg_appointment_waitlist__take_the_visits_kind() returns trigger
language plpgsql
set search_path = ''
as $$
declare
    visit public.appointments;
begin
    select a.* into visit from public.appointments as a where a.id = new.appointment_id;
    if not found or visit.patient_id <> new.patient_id or visit.clinician_id <> new.clinician_id then
        raise exception 'appointment_id must be one of your own visits with this clinician'
            using errcode = '22023', hint = 'Leave appointment_id out to wait for a new visit.';
    end if;
    if visit.status not in ('requested', 'confirmed') or visit.scheduled_start <= now() then
        raise exception 'only a requested or confirmed visit still to come can be moved earlier, not this % one',
            visit.status
            using errcode = '22023', hint = 'Leave appointment_id out to wait for a new visit.';
    end if;
    new.appointment_type := visit.appointment_type;
    new.location_type := visit.location_type;
    return new;
end
$$;
comment on function scheduling_private.tg_appointment_waitlist__take_the_visits_kind() is
'An entry to move a visit earlier: the visit must be the patient''s own, active and to come; the entry takes its type and location.';

create trigger _200_take_the_visits_kind before insert on public.appointment_waitlist
for each row when (new.appointment_id is not null)
execute function scheduling_private.tg_appointment_waitlist__take_the_visits_kind();

-- Moves the visit to the accepted time and confirms it; an empty row when there is no visit to
-- move (no id, or it is no longer requested or confirmed). Locks as reschedule_appointment
-- does (the visit, then the booking turn), so it cannot deadlock with a change of the visit.
create function scheduling_private.move_visit_earlier(
    visit_id uuid, new_start timestamptz, new_end timestamptz
) returns public.appointments
language plpgsql
set search_path = ''
as $$
declare
    visit public.appointments;
    violated text;
begin
    select a.* into visit from public.appointments as a
    where a.id = visit_id and a.status in ('requested', 'confirmed')
    for update;
    if not found then
        return visit;
    end if;
    perform scheduling_private.lock_booking(visit.clinician_id, visit.patient_id);
    begin
        -- The move alone first, so the old time is freed (and offered on) as a move.
        update public.appointments as a
        set scheduled_start = new_start, scheduled_end = new_end
        where a.id = visit.id
        returning * into visit;
    exception when exclusion_violation then
        get stacked diagnostics violated = constraint_name;
        perform scheduling_private.raise_time_taken(
            violated, true, 'That time was taken meanwhile: your visit stays where it was.');
    end;
    if visit.status = 'requested' then
        update public.appointments as a set status = 'confirmed'
        where a.id = visit.id
        returning * into visit;
    end if;
    return visit;
end
$$;
revoke execute on function scheduling_private.move_visit_earlier(uuid, timestamptz, timestamptz) from public;

create or replace function scheduling_private.offer_freed_time(
    clinician_id uuid, freed_start timestamptz, freed_end timestamptz, appointment_type text,
    location_type text, excluded_patient_id uuid default null
) returns uuid
language plpgsql
set search_path = ''
as $$
declare
    settings public.clinicians;
    local_start timestamp;
    entry public.appointment_waitlist;
    offer public.appointment_time_slots;
begin
    -- The clinician's half of lock_booking: bookings, moves and confirmations for this
    -- clinician wait until the offer is made, so the time cannot be taken between the check
    -- below and create_offer's.
    perform pg_catalog.pg_advisory_xact_lock(1, pg_catalog.hashtext(clinician_id::text));
    if freed_start <= now() or not scheduling_private.clinician_is_free(clinician_id, freed_start, freed_end) then
        return null;
    end if;
    select c.* into settings from public.clinicians as c where c.clinician_id = offer_freed_time.clinician_id;
    local_start := freed_start at time zone settings.timezone;

    select w.* into entry
    from public.appointment_waitlist as w
    where w.clinician_id = offer_freed_time.clinician_id
        and w.status = 'active'
        and (w.expires_at is null or w.expires_at > now())
        and w.appointment_type = offer_freed_time.appointment_type
        and (w.location_type is null or w.location_type = offer_freed_time.location_type)
        and (coalesce(cardinality(w.preferred_dates), 0) = 0 or local_start::date = any(w.preferred_dates))
        and (
            coalesce(cardinality(w.preferred_times), 0) = 0
            or scheduling_private.part_of_day(local_start::time) = any(w.preferred_times)
        )
        and w.patient_id is distinct from excluded_patient_id
        -- An entry to move a booked visit earlier takes only earlier time of that visit's length.
        and (w.appointment_id is null or exists (
            select from public.appointments as v
            where v.id = w.appointment_id
                and v.status in ('requested', 'confirmed')
                and v.scheduled_start > freed_start
                and v.scheduled_end - v.scheduled_start = freed_end - freed_start
        ))
        and scheduling_private.is_connected(w.clinician_id, w.patient_id)
        -- Patients busy at that time, gathered once rather than asked per entry: see the top.
        and w.patient_id <> all (array(
            select a.patient_id from public.appointments as a
            where a.status in ('requested', 'confirmed', 'in_progress')
                and tstzrange(a.scheduled_start, a.scheduled_end) && tstzrange(freed_start, freed_end)
        ))
        and not exists (
            select from public.appointment_time_slots as earlier
            where earlier.waitlist_entry_id = w.id
                and (earlier.time_options -> 0 ->> 'start')::timestamptz = freed_start
        )
    order by w.priority desc, w.created_at, w.id
    limit 1
    for update skip locked;
    if not found then
        return null;
    end if;

    begin
        offer := scheduling_private.create_offer(
            clinician_id, entry.patient_id, clinician_id, entry.patient_id, 'offer',
            jsonb_build_array(jsonb_build_object(
                'start', freed_start, 'end', freed_end,
                'duration', extract(epoch from freed_end - freed_start)::integer / 60
            )),
            appointment_type, coalesce(entry.location_type, location_type), null, null,
            least(now() + make_interval(mins => settings.waitlist_offer_minutes), freed_start),
            null, entry.id
        );
    exception when invalid_parameter_value then
        -- Made busy since the check above, by a calendar's busy time (which takes no turn):
        -- offer nothing. Any other refusal is a fault, and raised.
        if scheduling_private.clinician_is_free(clinician_id, freed_start, freed_end) then
            raise;
        end if;
        return null;
    end;
    update public.appointment_waitlist as w set status = 'offered' where w.id = entry.id;
    return offer.id;
end
$$;

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

-- A visit that is cancelled, or starts, or is otherwise over, has nothing left to move: its
-- waiting entry is cancelled with it. An entry another transaction holds (an acceptance under
-- way) is skipped rather than waited for, so this never waits while holding the visit; an
-- entry with an offer out keeps it (accepting then books the time as a new visit).
create function scheduling_private.tg_appointments__close_entries_to_move() returns trigger
language plpgsql security definer
set search_path = ''
as $$
begin
    update public.appointment_waitlist as w set status = 'cancelled'
    where w.id in (
        select o.id from public.appointment_waitlist as o
        where o.appointment_id = new.id and o.status = 'active'
        for update skip locked
    );
    return null;
end
$$;
comment on function scheduling_private.tg_appointments__close_entries_to_move() is
'Cancels the waiting entry to move a visit earlier once the visit is no longer requested or confirmed; SECURITY DEFINER because the waitlist''s own step is not the caller''s.';

create trigger _610_close_entries_to_move after update of status on public.appointments
for each row when (
    old.status in ('requested', 'confirmed') and new.status not in ('requested', 'confirmed')
)
execute function scheduling_private.tg_appointments__close_entries_to_move();
