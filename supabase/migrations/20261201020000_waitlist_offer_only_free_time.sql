-- Time freed for the waitlist is offered only while it is still free, even when a booking
-- takes it between the check and the offer.
--
-- offer_freed_time checked that the time was free, then create_offer checked it again, each in
-- a statement of its own, so with its own snapshot. A booking committed between the two made
-- create_offer refuse with 22023 "option 1 (...) is not free in your diary", and that failed
-- whatever had freed the time: the worker's expire_offers (every expiry of that call undone), a
-- patient declining an offer, or a clinician withdrawing one (seen in
-- tests/test_concurrent_changes.py). Now a time taken meanwhile is not offered, as when the
-- first check finds it taken. The subtransaction this needs is entered only when a waitlist
-- entry matches, never on a booking.
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
        and scheduling_private.is_connected(w.clinician_id, w.patient_id)
        and not exists (
            select from public.appointments as a
            where a.patient_id = w.patient_id
                and a.status in ('requested', 'confirmed', 'in_progress')
                and tstzrange(a.scheduled_start, a.scheduled_end) && tstzrange(freed_start, freed_end)
        )
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
        -- Taken since the check above: offer nothing. Any other refusal is a fault, and raised.
        if scheduling_private.clinician_is_free(clinician_id, freed_start, freed_end) then
            raise;
        end if;
        return null;
    end;
    update public.appointment_waitlist as w set status = 'offered' where w.id = entry.id;
    return offer.id;
end
$$;
