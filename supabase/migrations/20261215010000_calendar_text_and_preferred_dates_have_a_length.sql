-- The text that calendars bring, and a waitlist entry's preferred dates, have a length too.
--
-- 20261213050000 held what people write to lengths but left the calendars' text alone. A busy
-- block's summary is also what a clinician writes by hand (their own blocked time, sent on to
-- every calendar they connect), and a calendar's name is theirs to rename: both took any length.
-- The sync now cuts what it imports to these lengths (workers/calendars/provider.py), so an
-- event with a long title is imported, not refused. A patient's preferred_dates took any number
-- of dates, each entry's list read again for every slot the waitlist offers.
--
-- NOT VALID, as before: rows written earlier are not read for it.

alter table public.calendar_busy_blocks
add constraint calendar_busy_blocks_summary_at_most_500_characters check (char_length(summary) <= 500)
not valid;

alter table public.calendar_sync_connections
add constraint calendar_sync_connections_calendar_name_at_most_200_characters check (
    char_length(calendar_name) <= 200
) not valid;

-- A year of dates: more than any date picker offers, far less than a list worth abusing.
alter table public.appointment_waitlist
add constraint appointment_waitlist_preferred_dates_at_most_366 check (cardinality(preferred_dates) <= 366)
not valid;
