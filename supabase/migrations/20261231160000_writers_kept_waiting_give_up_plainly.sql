-- A writer that lets go of its locks and tries again gives up after about a minute, saying so.
--
-- close_dates_and_cancel_visits and the clinician's statements on their hours, date overrides
-- and blocked time (take_turn_and_waitlist_offers) take their rows and turns without waiting,
-- and when another change holds one they let go of all they took and pause before trying again
-- (pause_before_retry, 20261226010000): 10 ms, doubling to at most 200 ms. The doubling is
-- computed before the cap, and 2 ^ attempt overflows at attempt 1024: a writer kept from its
-- locks for about 200 s failed with 22003 "value out of range: overflow", which says nothing of
-- what happened. Now the 300th attempt (about a minute of trying, long before the overflow)
-- gives up with 55P03 (lock_not_available), saying why. A request through
-- Supabase's API is ended sooner by its 8 s statement_timeout; this limit is for the workers
-- and the back office, which have none.
create or replace function scheduling_private.pause_before_retry(attempt integer) returns integer
language plpgsql
set search_path = ''
as $$
begin
    if attempt >= 300 then
        raise exception 'gave up after % tries in about a minute: another change kept holding what this one needs',
            attempt
            using errcode = '55P03',
            hint = 'Try again in a moment; if it keeps happening, look for a transaction left open.';
    end if;
    perform pg_catalog.pg_sleep(least(0.01 * 2 ^ attempt, 0.2));
    return attempt + 1;
end
$$;
comment on function scheduling_private.pause_before_retry(integer) is
'Sleeps 10 ms doubling with each attempt, at most 200 ms, before a writer that let go of its locks tries again; returns the next attempt. Gives up (55P03) at the 300th, about a minute of trying.';

revoke execute on all functions in schema scheduling_private from public;
