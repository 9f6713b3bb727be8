-- A visit's event link remembers what was written, so a pull can tell an event that missed a
-- change of ours.
--
-- A pull that finds our event as we last wrote it (the same etag) but showing an older version
-- of its visit writes the visit again when no push of it waits: that change's push failed for
-- good (every retry, about two hours, while the calendar could not be written). Comparing times
-- finds a move; a new place, video link or title changes no time. The worker now keeps, with
-- each write, a digest of the event's content (what it writes, less its timestamps), and the
-- pull compares it with the digest of the event the visit makes now
-- (workers/calendars/pull.py). Links written before have none, nor has one whose event shows an
-- edit there the pull refused (until ours is written back over it): those are compared by time
-- until their next write.

alter table scheduling_private.calendar_event_links add column pushed_digest text;
comment on column scheduling_private.calendar_event_links.pushed_digest is
'SHA-256 of the event last written for the visit, less DTSTAMP and LAST-MODIFIED (workers/calendars/events.py); null for links written before 20261231330000, or whose event shows an edit there the pull refused, until the next write.';
