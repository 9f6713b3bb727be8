-- Blocked time starts at most five years ahead, as a visit does (20261222010000).
--
-- A block is how a clinician keeps time from patients; one typed in 3027 instead of 2027 was
-- taken, and the time meant stayed open for booking while the clinician believed it blocked.
-- Now such a block is refused in words (22023), a new start only: blocks stored further ahead
-- stay, and can be changed and removed. An edit made in a synced calendar that moves our
-- blocked time's event that far is written back, as any edit a block cannot take
-- (workers/calendars/blocked_time.py). Blocks imported from calendars are not checked here:
-- they come only up to a day past the booking horizon.

-- As in 20261219010000, with the start's bound after the times' checks.
create or replace function scheduling_private.tg_calendar_busy_blocks__check_blocked_time() returns trigger
language plpgsql
set search_path = ''
as $$
begin
    if new.user_id is distinct from auth.uid() and auth.role() = 'authenticated' then
        raise exception 'you can block time only in your own schedule'
            using errcode = '42501', hint = 'Leave user_id out: it defaults to you.';
    end if;
    if not exists (select from public.clinicians as c where c.clinician_id = new.user_id) then
        raise exception 'only a clinician can block time in their schedule'
            using errcode = '42501',
                hint = 'Patients choose from the times a clinician offers; nothing of theirs needs blocking.';
    end if;
    if not (isfinite(new.starts_at) and isfinite(new.ends_at)) then
        raise exception 'blocked time starts and ends at a date and time, not % to %', new.starts_at, new.ends_at
            using errcode = '22023', hint = 'Send times with their UTC offset, such as 2027-03-01T09:00:00Z.';
    end if;
    if new.ends_at <= new.starts_at then
        raise exception 'blocked time must end after it starts (% to %)', new.starts_at, new.ends_at
            using errcode = '22023', hint = 'Send ends_at later than starts_at.';
    end if;
    -- Each day a block covers has its statistics recomputed: a typo in the year would queue centuries.
    if new.ends_at - new.starts_at > interval '366 days' then
        raise exception 'blocked time may last at most 366 days (% to %)', new.starts_at, new.ends_at
            using errcode = '22023',
                hint = 'Block a longer absence in parts, or close the dates with date overrides.';
    end if;
    if new.starts_at > pg_catalog.now() + interval '5 years'
        and (tg_op = 'INSERT' or new.starts_at is distinct from old.starts_at) then
        raise exception 'blocked time starts at most five years ahead (by %), not on %',
            (pg_catalog.now() + interval '5 years')::date, new.starts_at::date
            using errcode = '22023', hint = 'Check the year of the date.';
    end if;
    return new;
end
$$;
comment on function scheduling_private.tg_calendar_busy_blocks__check_blocked_time() is
'Checks a block a person writes (source manual): a clinician''s, ending after it starts, at most 366 days, starting at most five years ahead.';
