-- Time a clinician unblocks is offered to the waitlist.
--
-- Freed time went to the waitlist only when a visit was cancelled or moved. A clinician who
-- removed a block they had made (the meeting called off, back early from leave), or shortened
-- or moved it, opened slots that nobody waiting heard of. Each entry that waits for the
-- clinician is now offered, in the same transaction, the first slot of the freed time that
-- fits it, as the search would offer it to that patient: the entry's type and location, its
-- preferred dates and times of day, the visit's length and only before the visit for an entry
-- to move one; free of appointments, buffers and busy time, inside notice, horizon and daily
-- limit; in person when neither the entry nor the hours name a place. Entries go in the
-- waitlist's order (priority, then longest waiting), each taking a slot clear of the slots
-- offered before it, or to anyone on the waitlist still to answer, buffer included, so two
-- people are never offered the same time. An entry is never offered the same time twice.
--
-- Only manual blocks: an imported one is the connected calendar's, and is replaced as pulls
-- see fit. A decline or expiry passes the slot on as any waitlist offer (pass_on_waitlist_offer).
--
-- The other way round, time that becomes busy (a block added, or moved or lengthened, by hand or
-- by a calendar pull) withdraws the waitlist's offers of it that wait for an answer, and their
-- entries wait again: the waitlist offered what the clinician has since taken back (say an
-- unblocking undone a minute later). The clinician's own offers in a conversation stay theirs
-- to withdraw; accepting one in blocked time is refused (20261209050000).

-- A slot of opened time, for one kind of visit waited for (type, location, length).
create type scheduling_private.opened_slot as (
    appointment_type text,
    location_type text,
    minutes integer,
    slot_start timestamptz,
    slot_end timestamptz,
    offered_location_type text
);

create function scheduling_private.offer_opened_time(
    clinician_id uuid, freed tstzmultirange
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
comment on function scheduling_private.offer_opened_time(uuid, tstzmultirange) is
'Offers each waiting entry of the clinician the first slot of the freed time that fits it, no two entries the same time; gives back how many offers it made.';
revoke execute on function scheduling_private.offer_opened_time(uuid, tstzmultirange) from public;

-- Withdraws the waitlist's pending offers of the clinician whose time, with `buffer` after it,
-- overlaps the closed time; their entries wait again (or, to move a visit that is gone, end:
-- entry_status_after_offer). The time is not offered on: it is closed.
create function scheduling_private.withdraw_waitlist_offers(
    clinician_id uuid, closed tstzmultirange, buffer interval default '0 minutes'
) returns void
language plpgsql
set search_path = ''
as $$
begin
    if isempty(closed) then
        return;
    end if;
    with gone as (
        update public.appointment_time_slots as s set status = 'cancelled'
        where s.clinician_id = withdraw_waitlist_offers.clinician_id
            and s.waitlist_entry_id is not null
            and s.status = 'pending'
            and tstzrange(
                (s.time_options -> 0 ->> 'start')::timestamptz,
                (s.time_options -> 0 ->> 'end')::timestamptz + buffer
            ) && closed
        returning s.waitlist_entry_id
    )
    update public.appointment_waitlist as w
    set status = scheduling_private.entry_status_after_offer(w.appointment_id)
    from gone
    where w.id = gone.waitlist_entry_id and w.status = 'offered';
end
$$;
comment on function scheduling_private.withdraw_waitlist_offers(uuid, tstzmultirange, interval) is
'Withdraws the clinician''s pending waitlist offers in the closed time; their entries wait again.';
revoke execute on function scheduling_private.withdraw_waitlist_offers(uuid, tstzmultirange, interval) from public;

-- Both ways for a block, withdrawing first (the offers' rows) and offering after (the
-- clinician's turn), the order in which an acceptance takes them. Any block closes the time it
-- newly covers; only a manual one opens the time it no longer covers (see the top).
create function scheduling_private.tg_calendar_busy_blocks__waitlist() returns trigger
language plpgsql security definer
set search_path = ''
as $$
declare
    covered_before tstzmultirange := '{}';
    covered_after tstzmultirange := '{}';
    block public.calendar_busy_blocks := case when tg_op = 'DELETE' then old else new end;
begin
    if tg_op <> 'INSERT' then
        covered_before := tstzmultirange(tstzrange(old.starts_at, old.ends_at));
    end if;
    if tg_op <> 'DELETE' then
        covered_after := tstzmultirange(tstzrange(new.starts_at, new.ends_at));
    end if;
    -- A block within the buffer after an offered time takes it too, as it would a booking.
    perform scheduling_private.withdraw_waitlist_offers(
        block.user_id, covered_after - covered_before,
        coalesce((select make_interval(mins => c.buffer_minutes) from public.clinicians as c
            where c.clinician_id = block.user_id), '0 minutes')
    );
    if block.source = 'manual' then
        perform scheduling_private.offer_opened_time(block.user_id, covered_before - covered_after);
    end if;
    return null;
end
$$;
comment on function scheduling_private.tg_calendar_busy_blocks__waitlist() is
'Withdraws the waitlist''s offers of time a block newly covers, and offers the time a manual block no longer covers; SECURITY DEFINER: offers are the waitlist''s own act.';

create trigger _620_waitlist after insert or update of starts_at, ends_at or delete
on public.calendar_busy_blocks
for each row execute function scheduling_private.tg_calendar_busy_blocks__waitlist();
