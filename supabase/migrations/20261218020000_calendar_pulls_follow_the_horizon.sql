-- Busy time from a connected calendar follows the booking horizon as it moves.
--
-- A pull turns a calendar's events into busy blocks up to a day past the booking horizon. Later
-- pulls ask only for changes (a sync token, a delta link), which name an event only when it
-- changes: an event first seen beyond the horizon (a conference made months ahead), and the
-- occurrences of a recurring event beyond it, never became blocks, and patients were offered
-- that time once the horizon reached it, or once the clinician lengthened it. The worker now
-- remembers how far its last complete listing took events in, and asks for a complete listing
-- again once the horizon reaches past that: each day, and at once when the horizon grows
-- (workers/calendars/pull.py). Connections pulled before this have none, so their next pull is
-- a complete listing, which also takes in what they missed.

alter table scheduling_private.calendar_sync_state add column imported_until timestamptz;
comment on column scheduling_private.calendar_sync_state.imported_until is
'How far ahead the last complete listing turned the calendar''s events into busy blocks; a pull '
'lists the calendar completely again once the booking horizon reaches past it. Null: never.';
