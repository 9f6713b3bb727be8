-- A plain write to a clinician's date overrides takes the clinician's booking turn and locks
-- their waitlist's pending offers before it changes a row, as writes to the weekly hours do
-- (20261226030000).
--
-- Each override a statement changes tells the waitlist in its own row trigger
-- (_620_offer_opened_hours, 20261209040000): it withdraws the offers of time it closed, then
-- offers the time it opened, which takes the booking turn. One statement writing two dates (a bulk upsert from
-- the dashboard: a longer evening on one date, another date closed) withdrew the second
-- date's offers while holding the turn the first one took, and a patient accepting one of
-- those offers holds it while waiting for that turn: deadlock (40P01, seen in
-- tests/test_waitlist_races.py on the old code).
--
-- The hours trigger's loop is now one function, take_turn_and_waitlist_offers, called by both
-- statement triggers. close_dates_and_cancel_visits writes its closed dates while holding the
-- turn: the trigger then finds the turn its own, and must find every pending waitlist offer its
-- own too, or it would retry for an offer a patient holds while waiting for that turn until the
-- statement timed out. So the closing call locks all of the clinician's pending waitlist
-- offers, not only those of the closed dates (20261225010000), before and after it takes the turn.

-- Locks every pending waitlist offer of the clinician without waiting (55P03 when another
-- transaction holds one): the offers a change of hours or dates may withdraw, and, with the
-- booking turn held, no offer is made or accepted until the transaction ends.
create function scheduling_private.lock_waitlist_offers(clinician_id uuid) returns void
language plpgsql
set search_path = ''
as $$
begin
    perform from public.appointment_time_slots as s
    where s.clinician_id = lock_waitlist_offers.clinician_id
        and s.waitlist_entry_id is not null
        and s.status = 'pending'
    order by s.id
    for update nowait;
end
$$;
comment on function scheduling_private.lock_waitlist_offers(uuid) is
'Locks, without waiting (55P03 when another transaction holds one), every pending waitlist offer of the clinician.';

-- Takes the clinician's booking turn and locks their pending waitlist offers, holding neither
-- while it waits for the other: when one is held elsewhere it lets go of both and tries again
-- a moment later.
create function scheduling_private.take_turn_and_waitlist_offers(clinician_id uuid) returns void
language plpgsql
set search_path = ''
as $$
declare
    attempt integer := 0;
begin
    loop
        begin
            if not pg_catalog.pg_try_advisory_xact_lock(1, pg_catalog.hashtext(clinician_id::text)) then
                raise exception 'the clinician''s booking turn is taken' using errcode = 'lock_not_available';
            end if;
            perform scheduling_private.lock_waitlist_offers(clinician_id);
            exit;
        exception when lock_not_available then
            attempt := scheduling_private.pause_before_retry(attempt);
        end;
    end loop;
end
$$;
comment on function scheduling_private.take_turn_and_waitlist_offers(uuid) is
'Takes the clinician''s booking turn (advisory lock class 1) and locks their pending waitlist offers, never waiting for one while holding the other: on 55P03 lets go of both, pauses and tries again.';

create or replace function scheduling_private.tg_clinician_availability__take_hours_turn() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
    if auth.uid() is null then
        return null;
    end if;
    perform pg_catalog.pg_advisory_xact_lock(5, pg_catalog.hashtext(auth.uid()::text));
    if coalesce(pg_catalog.current_setting('scheduling.weekly_hours_rewrite', true), '') = '' then
        perform scheduling_private.take_turn_and_waitlist_offers(auth.uid());
    end if;
    return null;
end
$$;

-- The statement trigger of each table whose rows tell the waitlist (this one; blocked time's,
-- 20261227020000). Writers without a signed-in user (workers, a DBA) take no turn, as for the
-- weekly hours.
create function scheduling_private.tg_take_turn_and_waitlist_offers() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
    if auth.uid() is not null then
        perform scheduling_private.take_turn_and_waitlist_offers(auth.uid());
    end if;
    return null;
end
$$;
comment on function scheduling_private.tg_take_turn_and_waitlist_offers() is
'Before a write by a signed-in user to a table whose rows tell the waitlist (date overrides, blocked time), takes their booking turn and their pending waitlist offers, which the rows'' triggers withdraw and offer under that turn, without waiting while holding either. SECURITY DEFINER: writers may not lock offers.';

create trigger _050_take_booking_turn before insert or update or delete on public.clinician_date_overrides
for each statement execute function scheduling_private.tg_take_turn_and_waitlist_offers();

-- The closing call's locks: its visits to come on the dates (the waitlist offers move to
-- lock_offers_dates_close) ...
create or replace function scheduling_private.lock_rows_dates_close(
    clinician_id uuid, range_start timestamptz, range_end timestamptz
) returns table (visit_id uuid, patient_id uuid, scheduled_start timestamptz)
language plpgsql
set search_path = ''
as $$
begin
    return query
    select a.id, a.patient_id, a.scheduled_start from public.appointments as a
    where a.clinician_id = lock_rows_dates_close.clinician_id
        and a.status in ('requested', 'confirmed')
        and a.scheduled_start >= greatest(range_start, pg_catalog.now())
        and a.scheduled_start < range_end
    order by a.scheduled_start, a.id
    for update nowait;
end
$$;
comment on function scheduling_private.lock_rows_dates_close(uuid, timestamptz, timestamptz) is
'Locks, without waiting (55P03 when another transaction holds one), the clinician''s visits to come in the range, which close_dates_and_cancel_visits cancels, and returns them.';

-- ... and its offers: every pending waitlist offer (the closed dates' overrides withdraw
-- those of the dates; the others only so that the overrides' statement trigger finds them
-- all its own), and, returned, the offers in message threads it withdraws itself.
create or replace function scheduling_private.lock_offers_dates_close(
    clinician_id uuid, range_start timestamptz, range_end timestamptz
) returns setof uuid
language plpgsql
set search_path = ''
as $$
begin
    perform scheduling_private.lock_waitlist_offers(clinician_id);
    return query
    select s.id from public.appointment_time_slots as s
    where s.clinician_id = lock_offers_dates_close.clinician_id
        and s.offered_by = lock_offers_dates_close.clinician_id
        and s.waitlist_entry_id is null
        and s.status = 'pending'
        and s.expires_at > pg_catalog.now()
        and exists (
            select from pg_catalog.jsonb_array_elements(s.time_options) as o (option)
            where (o.option ->> 'start')::timestamptz >= range_start
                and (o.option ->> 'start')::timestamptz < range_end
        )
    order by s.id
    for update nowait;
end
$$;
comment on function scheduling_private.lock_offers_dates_close(uuid, timestamptz, timestamptz) is
'Locks, without waiting (55P03 when another transaction holds one), every pending waitlist offer of the clinician and their pending offers in message threads with a time starting in the range; returns the latter, which close_dates_and_cancel_visits withdraws.';

revoke execute on all functions in schema scheduling_private from public;
