-- A plain write to a user's blocked time takes their booking turn and locks their waitlist's
-- pending offers before it changes a row, as writes to the weekly hours and the date overrides
-- do (20261226030000, 20261227010000).
--
-- Each block a statement changes tells the waitlist in its own row trigger (_620_waitlist,
-- 20261209030000): it withdraws the offers of the time it now covers, then offers the time it
-- no longer covers, which takes the booking turn. One statement moving two blocks (the first
-- off an hour, the second onto a waitlist offer) withdrew the second's offers while holding
-- the turn the first one took, and a patient accepting one of those offers holds it while
-- waiting for that turn: deadlock (40P01, seen in tests/test_waitlist_races.py on the old
-- code). Only signed-in users' writes take the turn: a user writes only their own manual blocks
-- (RLS), and the calendar pulls, which write imported blocks as the worker, import before they
-- take any turn (workers/calendars/pull.py). The trigger function is the date overrides' one.

create trigger _050_take_booking_turn before insert or update or delete on public.calendar_busy_blocks
for each statement execute function scheduling_private.tg_take_turn_and_waitlist_offers();
