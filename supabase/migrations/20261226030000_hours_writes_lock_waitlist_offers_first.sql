-- A plain write to a clinician's weekly hours takes the clinician's booking turn and locks their
-- waitlist's pending offers before it changes a row.
--
-- Each window a statement changes tells the waitlist in its own row trigger (20261223020000):
-- it withdraws the offers of time it closed, then offers the time it opened, which takes the
-- clinician's booking turn. A statement changing two windows (a weekday whose hours change
-- from a date has two) withdrew the second window's offers while holding the turn the first
-- one took, and a patient accepting one of those offers holds it while waiting for that turn:
-- deadlock (seen in 3 of 27 offers runs of tests/test_concurrent_changes.py once it changed
-- hours more often). Locking the offers first and waiting for them was not enough (3 of 27
-- still deadlocked, the write holding the turn and waiting for an offer a patient held; an
-- offer made after that lock and before the turn is the likely reading, not seen). Now the statement's turn trigger takes the booking turn and locks every pending
-- waitlist offer of the clinician without waiting for either, and when one is held lets go of
-- both and tries again a moment later, as close_dates_and_cancel_visits does (20261225010000):
-- once it has them, no offer can be made or accepted until the statement's transaction ends.
-- set_weekly_hours withdraws once, after its writes and before it offers, and needs no more;
-- writers without a signed-in user (workers, a DBA) take no turn, as before.

create or replace function scheduling_private.tg_clinician_availability__take_hours_turn() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
    attempt integer := 0;
begin
    if auth.uid() is null then
        return null;
    end if;
    perform pg_catalog.pg_advisory_xact_lock(5, pg_catalog.hashtext(auth.uid()::text));
    if coalesce(pg_catalog.current_setting('scheduling.weekly_hours_rewrite', true), '') <> '' then
        return null;
    end if;
    loop
        begin
            if not pg_catalog.pg_try_advisory_xact_lock(1, pg_catalog.hashtext(auth.uid()::text)) then
                raise exception 'the clinician''s booking turn is taken' using errcode = 'lock_not_available';
            end if;
            perform from public.appointment_time_slots as s
            where s.clinician_id = auth.uid() and s.waitlist_entry_id is not null and s.status = 'pending'
            order by s.id
            for update nowait;
            exit;
        exception when lock_not_available then
            attempt := scheduling_private.pause_before_retry(attempt);
        end;
    end loop;
    return null;
end
$$;
comment on function scheduling_private.tg_clinician_availability__take_hours_turn() is
'Takes the signed-in user''s weekly hours turn (advisory lock class 5) before a write to clinician_availability; for a plain write (not set_weekly_hours'') also their booking turn and their pending waitlist offers, which the rows'' triggers withdraw and offer under that turn, without waiting while holding either. SECURITY DEFINER: writers may not lock offers.';

revoke execute on all functions in schema scheduling_private from public;
