-- Offering freed time to the waitlist takes the clinician's booking turn first.
--
-- 20261201020000 let offer_freed_time offer nothing when create_offer found the time taken
-- since its own check, and re-raised when a second check found the time free (any other 22023
-- being a fault). The worker's expire_offers still failed whole with "option 1 (...) is not
-- free in your diary", in 1 of 150 runs of tests/test_concurrent_changes.py's offers scenario:
-- the second check found the time free again. The likely way, not seen directly: the time was
-- taken and freed again between the checks (a booking, then its cancellation). With the
-- clinician's turn held from before the first check, bookings, moves, confirmations and
-- cancellations for the clinician wait, and both checks see the same appointments (none such
-- failure in the 1,500 offers runs since).
--
-- Lock order: a cancellation or move calls this with its turn already taken (the trigger of
-- 20261202010000, before its row was rewritten); expire_offers, a decline or a withdrawal calls
-- it with the offer's row locked, as an acceptance books after locking its offer.
--
-- Also: the patients busy at the freed time are gathered in one scan, no longer asked per
-- waitlist entry by a correlated NOT EXISTS. That NOT EXISTS rescanned the patient exclusion
-- constraint's GiST index once per entry, each scan stopped at its first match. In the
-- concurrent offers test (PostgreSQL 15.18 and 17.10) the index lost the entry of a live
-- appointment in about 1 run in 120 (the row then no longer kept its patient from being
-- double-booked), and only in that scenario, the one place we found where a GiST scan of
-- appointments was rescanned so. PostgreSQL's WAL showed the entry written; the later records
-- on that index were a page split and two GiST cleanups of entries marked dead. GiST keeps the
-- dead entries a scan saw, for marking later, and in the source we read a rescan does not
-- clear that list, so we suspect a defect there; see the README ("Concurrency findings").
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

-- Passing on expired offers now takes each clinician's turn; taking them in clinician order
-- keeps two workers expiring offers at once from taking two clinicians' turns in opposite orders.
create or replace function scheduling_private.expire_offers(at timestamptz default now()) returns integer
language plpgsql
set search_path = ''
as $$
declare
    offer public.appointment_time_slots;
    expired integer := 0;
begin
    for offer in
        select s.* from public.appointment_time_slots as s
        where s.status = 'pending' and s.expires_at <= at
        order by s.clinician_id, s.expires_at
        for update skip locked
    loop
        update public.appointment_time_slots as s set status = 'expired' where s.id = offer.id
        returning * into offer;
        perform scheduling_private.pass_on_waitlist_offer(offer);
        expired := expired + 1;
    end loop;
    return expired;
end
$$;
