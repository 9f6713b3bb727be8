-- An entry to move a visit earlier takes freed time longer than its visit, too.
--
-- 20261207030000 matched such an entry only with freed time of exactly its visit's length, so a
-- cancelled hour went to nobody who wanted a half-hour visit sooner. The entry now matches freed
-- time at least as long as its visit, and is offered the visit's length from the freed start
-- (an hour freed at 10:00 offers a 30-minute visit 10:00-10:30). The rest of that hour stays
-- free to book; it is not offered on. An entry for a new visit is offered the freed time whole,
-- as before. offer_freed_time is as in 20261207030000 except for these, and for two helpers
-- it now shares with the offers of opened time (20261209030000): what an entry's preferences
-- allow, and making the offer.

-- Whether an entry may be offered a time starting then: its preferred dates and times of day
-- (in the clinician's zone) allow it, and it was never offered that start before.
create function scheduling_private.entry_takes_start(
    entry public.appointment_waitlist, slot_start timestamptz, zone text
) returns boolean
language sql stable
set search_path = ''
as $$
    select
        (
            coalesce(cardinality(entry.preferred_dates), 0) = 0
            or (slot_start at time zone zone)::date = any(entry.preferred_dates)
        )
        and (
            coalesce(cardinality(entry.preferred_times), 0) = 0
            or scheduling_private.part_of_day((slot_start at time zone zone)::time) = any(entry.preferred_times)
        )
        and not exists (
            select from public.appointment_time_slots as earlier
            where earlier.waitlist_entry_id = entry.id
                and (earlier.time_options -> 0 ->> 'start')::timestamptz = slot_start
        )
$$;
revoke execute on function scheduling_private.entry_takes_start(public.appointment_waitlist, timestamptz, text)
from public;

-- Offers one time to a waitlist entry, from its clinician, expiring after their
-- waitlist_offer_minutes and before the time starts; the entry becomes `offered`. The caller has
-- taken the clinician's turn and found the time free; null when a calendar's busy time (which
-- takes no turn) took it since. Any other refusal is a fault, and raised.
create function scheduling_private.offer_time_to_entry(
    entry public.appointment_waitlist, slot_start timestamptz, slot_end timestamptz,
    appointment_type text, location_type text, offer_minutes integer
) returns uuid
language plpgsql
set search_path = ''
as $$
declare
    offer public.appointment_time_slots;
begin
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
revoke execute on function scheduling_private.offer_time_to_entry(
    public.appointment_waitlist, timestamptz, timestamptz, text, text, integer
) from public;

create or replace function scheduling_private.offer_freed_time(
    clinician_id uuid, freed_start timestamptz, freed_end timestamptz, appointment_type text,
    location_type text, excluded_patient_id uuid default null
) returns uuid
language plpgsql
set search_path = ''
as $$
declare
    settings public.clinicians;
    entry public.appointment_waitlist;
    offered_end timestamptz := freed_end;
begin
    -- The clinician's half of lock_booking: bookings, moves and confirmations for this
    -- clinician wait until the offer is made, so the time cannot be taken between the check
    -- below and create_offer's.
    perform pg_catalog.pg_advisory_xact_lock(1, pg_catalog.hashtext(clinician_id::text));
    if freed_start <= now() or not scheduling_private.clinician_is_free(clinician_id, freed_start, freed_end) then
        return null;
    end if;
    select c.* into settings from public.clinicians as c where c.clinician_id = offer_freed_time.clinician_id;

    select w.* into entry
    from public.appointment_waitlist as w
    where w.clinician_id = offer_freed_time.clinician_id
        and w.status = 'active'
        and (w.expires_at is null or w.expires_at > now())
        and w.appointment_type = offer_freed_time.appointment_type
        and (w.location_type is null or w.location_type = offer_freed_time.location_type)
        and scheduling_private.entry_takes_start(w, freed_start, settings.timezone)
        and w.patient_id is distinct from excluded_patient_id
        -- An entry to move a booked visit earlier takes only earlier time its visit fits in.
        and (w.appointment_id is null or exists (
            select from public.appointments as v
            where v.id = w.appointment_id
                and v.status in ('requested', 'confirmed')
                and v.scheduled_start > freed_start
                and v.scheduled_end - v.scheduled_start <= freed_end - freed_start
        ))
        and scheduling_private.is_connected(w.clinician_id, w.patient_id)
        -- Patients busy at that time, gathered once rather than asked per entry: see 20261202020000.
        and w.patient_id <> all (array(
            select a.patient_id from public.appointments as a
            where a.status in ('requested', 'confirmed', 'in_progress')
                and tstzrange(a.scheduled_start, a.scheduled_end) && tstzrange(freed_start, freed_end)
        ))
    order by w.priority desc, w.created_at, w.id
    limit 1
    for update skip locked;
    if not found then
        return null;
    end if;

    if entry.appointment_id is not null then
        select freed_start + (v.scheduled_end - v.scheduled_start) into offered_end
        from public.appointments as v where v.id = entry.appointment_id;
    end if;

    return scheduling_private.offer_time_to_entry(
        entry, freed_start, offered_end, appointment_type, coalesce(entry.location_type, location_type),
        settings.waitlist_offer_minutes
    );
end
$$;
