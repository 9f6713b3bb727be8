-- Freed time goes to the waitlist only within the clinician's hours, and slot by slot when no
-- entry takes it whole.
--
-- A cancelled or moved visit's time went whole to one entry (one waiting for a visit of the
-- same type, or one to move a visit of that type earlier that fits in it: 20261209020000),
-- wherever that time lay. Two ways that went wrong:
-- - A clinician off sick closes the day with an override and cancels its visits: each
--   cancelled time was offered to the waitlist, and a patient accepting it got a confirmed
--   visit on the closed day (the override being older than the offer, the acceptance was not
--   refused: 20261211030000). A visit the clinician had booked after hours on purpose offered
--   that late time to anyone waiting, too. Freed time is now offered whole only when it lies
--   inside that date's hours (the override's, else the weekly windows', in the clinician's zone).
-- - A cancelled hour-long new-patient visit reached nobody who waited for a half-hour
--   follow-up, and of a cancelled hour offered to a half-hour visit to move, the other half
--   hour was not offered on. Both stayed free for whoever happened to search.
--
-- offer_freed_time still offers the freed time whole to the best match first. What that offer
-- leaves (all of the time when nobody matched, the rest after a shorter visit's part) goes to
-- offer_opened_time, which offers each waiting entry the first slot that fits it as the search
-- would offer it to that patient (its type, location, preferred dates and times of day; on the
-- clinician's grid, inside their hours), clear of the offers still out. A decline or expiry
-- passes on through offer_freed_time, so the same applies to the time passed on. The patient
-- who gave the time up (by cancelling, moving or declining) is not offered any of it, as
-- offer_freed_time already did for its whole match: offer_opened_time takes that patient to
-- leave out.
--
-- offer_freed_time is as in 20261209020000 and offer_opened_time as in 20261209030000 except
-- for these.

-- Whether a time lies inside the hours of its date now: its override's, else one weekly window
-- of its weekday, compared on the clinician's wall clock. The override or the one window is read
-- by its key, as the booking's single-slot check reads them: building the date's hours as
-- instants (hours_of_date) cost each offer about 0.2 ms more when 20261212020000 used it for
-- every offer (bench/opened_hours.py: 50 offers made in one change took 83 ms against 72 ms).
create function scheduling_private.within_hours(
    clinician_id uuid, starts timestamptz, ends timestamptz, zone text
) returns boolean
language plpgsql stable
set search_path = ''
as $$
declare
    local_start timestamp := starts at time zone zone;
    local_end timestamp := ends at time zone zone;
    local_date date := local_start::date;
    override public.clinician_date_overrides;
begin
    select o.* into override from public.clinician_date_overrides as o
    where o.clinician_id = within_hours.clinician_id and o.override_date = local_date;
    if found then
        return override.is_available
            and local_start >= local_date + override.start_time and local_end <= local_date + override.end_time;
    end if;
    return exists (
        select from public.clinician_availability as r
        where r.clinician_id = within_hours.clinician_id
            and r.day_of_week = extract(dow from local_date)
            and r.is_active
            and local_start >= local_date + r.start_time
            and local_end <= local_date + r.end_time
    );
end
$$;

drop function scheduling_private.offer_opened_time(uuid, tstzmultirange);

create function scheduling_private.offer_opened_time(
    clinician_id uuid, freed tstzmultirange, excluded_patient_id uuid default null
) returns integer
language plpgsql
set search_path = ''
as $$
declare
    settings public.clinicians;
    buffer interval;
    candidates scheduling_private.opened_slot [];
    entry public.appointment_waitlist;
    visit_minutes integer;
    visit_start timestamptz;
    patient_busy tstzmultirange;
    slot scheduling_private.opened_slot;
    taken tstzmultirange;
    offers integer := 0;
begin
    if isempty(freed) then
        return 0;
    end if;
    -- The clinician's half of lock_booking, as offer_freed_time takes it: nothing is booked for
    -- this clinician between the search below and the offers.
    perform pg_catalog.pg_advisory_xact_lock(1, pg_catalog.hashtext(clinician_id::text));
    select c.* into settings from public.clinicians as c where c.clinician_id = offer_opened_time.clinician_id;
    if not found then
        return 0;  -- the clinician's account is being removed, with their blocks
    end if;
    buffer := make_interval(mins => settings.buffer_minutes);

    -- The opened slots of each kind of visit someone waits for, searched once over the whole
    -- span rather than per entry: opened weekly hours span every such weekday to the horizon,
    -- and a search per entry and date took most of a second with fifty people waiting.
    select array_agg(
        row(
            k.appointment_type, k.location_type, k.minutes, s.slot_start, s.slot_end, s.offered_location_type
        )::scheduling_private.opened_slot
        order by s.slot_start
    )
    into candidates
    from (
        select distinct
            w.appointment_type::text as appointment_type,
            w.location_type::text as location_type,
            extract(epoch from v.scheduled_end - v.scheduled_start)::integer / 60 as minutes
        from public.appointment_waitlist as w
        left join public.appointments as v on v.id = w.appointment_id
        where w.clinician_id = offer_opened_time.clinician_id and w.status = 'active'
    ) as k
    cross join lateral scheduling_private.slot_candidates(
        offer_opened_time.clinician_id, lower(freed), upper(freed), k.appointment_type, k.location_type,
        k.minutes
    ) as s
    -- Between the freed parts lies time that stayed as it was (a block's remaining part, the
    -- weekdays of other windows): only the freed parts are offered.
    where tstzrange(s.slot_start, s.slot_end) <@ freed and s.slot_start > now();
    if candidates is null then
        return 0;
    end if;

    -- Time someone on the waitlist is offered already (say a visit after hours cancelled, then
    -- the hours widened over it) is theirs until they answer.
    select coalesce(range_agg(tstzrange(
        (o.time_options -> 0 ->> 'start')::timestamptz, (o.time_options -> 0 ->> 'end')::timestamptz + buffer
    )), '{}')
    into taken
    from public.appointment_time_slots as o
    where o.clinician_id = offer_opened_time.clinician_id
        and o.waitlist_entry_id is not null
        and o.status = 'pending';

    for entry in
        select w.* from public.appointment_waitlist as w
        where w.clinician_id = offer_opened_time.clinician_id
            and w.status = 'active'
            and (w.expires_at is null or w.expires_at > now())
            and w.patient_id is distinct from excluded_patient_id
            and scheduling_private.is_connected(w.clinician_id, w.patient_id)
        order by w.priority desc, w.created_at, w.id
        for update skip locked
    loop
        visit_minutes := null;
        visit_start := null;
        if entry.appointment_id is not null then
            select extract(epoch from v.scheduled_end - v.scheduled_start)::integer / 60, v.scheduled_start
            into visit_minutes, visit_start
            from public.appointments as v
            where v.id = entry.appointment_id and v.status in ('requested', 'confirmed');
            continue when not found;
        end if;
        select coalesce(range_agg(tstzrange(a.scheduled_start, a.scheduled_end)), '{}')
        into patient_busy
        from public.appointments as a
        where a.patient_id = entry.patient_id
            and a.status in ('requested', 'confirmed', 'in_progress')
            and tstzrange(a.scheduled_start, a.scheduled_end) && tstzrange(lower(freed), upper(freed));

        select c.* into slot
        from unnest(candidates) as c
        where c.appointment_type = entry.appointment_type::text
            and c.location_type is not distinct from entry.location_type::text
            and c.minutes is not distinct from visit_minutes
            and (visit_start is null or c.slot_start < visit_start)
            and not patient_busy && tstzrange(c.slot_start, c.slot_end)
            and not taken && tstzrange(c.slot_start, c.slot_end + buffer)
            and scheduling_private.entry_takes_start(entry, c.slot_start, settings.timezone)
        order by c.slot_start
        limit 1;
        continue when not found;

        -- Neither the entry nor the hours naming a place: a visit at the clinic.
        continue when scheduling_private.offer_time_to_entry(
            entry, slot.slot_start, slot.slot_end, entry.appointment_type,
            coalesce(entry.location_type, slot.offered_location_type, 'in_person'), settings.waitlist_offer_minutes
        ) is null;
        taken := taken + tstzmultirange(tstzrange(slot.slot_start, slot.slot_end + buffer));
        offers := offers + 1;
    end loop;
    return offers;
end
$$;
comment on function scheduling_private.offer_opened_time(uuid, tstzmultirange, uuid) is
'Offers each waiting entry of the clinician (but the excluded patient''s) the first slot of the freed time that fits it, no two entries the same time; gives back how many offers it made.';

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
    offer_id uuid;
    offered_end timestamptz := freed_start;
begin
    -- The clinician's half of lock_booking: bookings, moves and confirmations for this
    -- clinician wait until the offer is made, so the time cannot be taken between the check
    -- below and create_offer's.
    perform pg_catalog.pg_advisory_xact_lock(1, pg_catalog.hashtext(clinician_id::text));
    if freed_end <= now() then
        return null;
    end if;
    select c.* into settings from public.clinicians as c where c.clinician_id = offer_freed_time.clinician_id;

    -- The whole time, to the best entry that takes it as it is, when it lies inside the day's
    -- hours and is all free. Time partly taken again (a block over part of it) is left to the
    -- slot-by-slot offers below.
    if freed_start > now()
        and scheduling_private.within_hours(clinician_id, freed_start, freed_end, settings.timezone)
        and scheduling_private.clinician_is_free(clinician_id, freed_start, freed_end) then
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

        if found then
            offered_end := freed_end;
            if entry.appointment_id is not null then
                select freed_start + (v.scheduled_end - v.scheduled_start) into offered_end
                from public.appointments as v where v.id = entry.appointment_id;
            end if;
            offer_id := scheduling_private.offer_time_to_entry(
                entry, freed_start, offered_end, appointment_type, coalesce(entry.location_type, location_type),
                settings.waitlist_offer_minutes
            );
            if offer_id is null then
                offered_end := freed_start;
            end if;
        end if;
    end if;

    -- What the whole match left: every slot of it that fits someone else waiting.
    if offered_end < freed_end then
        perform scheduling_private.offer_opened_time(
            clinician_id, tstzmultirange(tstzrange(offered_end, freed_end)), excluded_patient_id
        );
    end if;
    return offer_id;
end
$$;

revoke execute on all functions in schema scheduling_private from public;
