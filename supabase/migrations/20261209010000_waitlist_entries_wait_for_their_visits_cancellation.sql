-- An entry to move a visit earlier sees a cancellation of that visit that is under way.
--
-- 20261208010000 cancels such an entry when its offer ends and the visit is gone. But a
-- decline that met the visit's cancellation half done read the visit as still booked: the
-- cancellation holds the clinician's booking turn, and the decline set the entry `active` first
-- and only then waited for that turn (in offer_freed_time). The cancellation's own trigger
-- found the entry `offered`, so once both committed, the entry waited for a visit that was gone
-- (tests/test_waitlist_races.py). A person making such an entry `active` again (from
-- `cancelled` or `expired`) was not checked against the visit at all.
--
-- Both now take the clinician's turn before they read the visit, so they read it after any
-- cancellation or move under way has committed. Lock order stays as before: a decline,
-- withdrawal or expiry holds the offer's row, then the turn, then the entry (offer_freed_time
-- takes the same turn again); a person's update holds the entry's row, then the turn, and
-- whoever holds the turn never waits for an entry (they skip locked ones).
-- pass_on_waitlist_offer is as in 20261208010000 (its choice of status now a helper) and
-- tg_appointment_waitlist__protect_status as in 20261205030000 except for these.

-- What an entry becomes when its offer ends unaccepted: it waits again, unless it asked to move
-- a visit that is no longer requested or confirmed (20261208010000). Also used when the
-- waitlist withdraws an offer of time that closed (20261209030000).
create function scheduling_private.entry_status_after_offer(visit_id uuid) returns text
language sql stable
set search_path = ''
as $$
    select case
        when visit_id is null then 'active'
        when exists (
            select from public.appointments as a
            where a.id = visit_id and a.status in ('requested', 'confirmed')
        ) then 'active'
        else 'cancelled'
    end
$$;
revoke execute on function scheduling_private.entry_status_after_offer(uuid) from public;

create or replace function scheduling_private.pass_on_waitlist_offer(
    offer public.appointment_time_slots
) returns void
language plpgsql
set search_path = ''
as $$
begin
    if offer.waitlist_entry_id is null then
        return;
    end if;
    perform pg_catalog.pg_advisory_xact_lock(1, pg_catalog.hashtext(offer.clinician_id::text));
    update public.appointment_waitlist as w
    set status = scheduling_private.entry_status_after_offer(w.appointment_id)
    where w.id = offer.waitlist_entry_id and w.status = 'offered';
    perform scheduling_private.offer_freed_time(
        offer.clinician_id, (offer.time_options -> 0 ->> 'start')::timestamptz,
        (offer.time_options -> 0 ->> 'end')::timestamptz, offer.appointment_type, offer.location_type,
        offer.patient_id
    );
end
$$;

create or replace function scheduling_private.tg_appointment_waitlist__protect_status() returns trigger
language plpgsql
set search_path = ''
as $$
declare
    visit public.appointments;
begin
    -- The waitlist's own functions run as their owner; only a direct write runs as an API role.
    if current_user not in ('authenticated', 'anon') or new.status is not distinct from old.status then
        return new;
    end if;
    if new.status in ('offered', 'fulfilled', 'expired') then
        raise exception 'only the waitlist itself marks an entry %', new.status
            using errcode = '42501',
            hint = 'Set status to cancelled to leave the waitlist, or to active to join it again.';
    end if;
    if new.status = 'active' and old.status in ('offered', 'fulfilled') then
        raise exception 'a waitlist entry cannot go from % to active', old.status
            using errcode = '22023',
            hint = case when old.status = 'offered'
                then 'An offer is out for this entry: decline it and the entry is active again.'
                else 'This entry has its appointment; join the waitlist with a new entry.' end;
    end if;
    if new.status = 'active' and new.appointment_id is not null then
        -- The clinician's half of the booking turn (callable by anyone: it is pg_catalog's), so
        -- a cancellation of the visit under way is read once it has committed.
        perform pg_catalog.pg_advisory_xact_lock(1, pg_catalog.hashtext(new.clinician_id::text));
        select a.* into visit from public.appointments as a where a.id = new.appointment_id;
        if not found or visit.status not in ('requested', 'confirmed') or visit.scheduled_start <= now() then
            raise exception 'only a requested or confirmed visit still to come can be moved earlier, not this % one',
                coalesce(visit.status, 'removed')
                using errcode = '22023',
                hint = 'Join the waitlist with a new entry, without appointment_id, to wait for a new visit.';
        end if;
    end if;
    return new;
end
$$;
