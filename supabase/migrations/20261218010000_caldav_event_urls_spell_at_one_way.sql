-- CalDAV events are known by their URL, and an "@" in that URL's path is now always kept as "%40".
--
-- A server may put the account's username, often an email address, in its calendar URLs
-- (Radicale does). The worker kept the URL it had PUT an event at,
-- with "@", while the server's sync report named the same event with "%40" (seen with Radicale):
-- the pull did not know its own events by URL, so one deleted in the calendar was not put back,
-- and blocked time edited there was not taken back. The worker now spells every CalDAV URL one
-- way (workers/calendars/caldav_client.py, event_key); the rows written before are spelled so
-- here. A busy block whose other spelling is also stored is an old copy of the same event, and
-- goes. appointments.apple_calendar_event_id keeps its spelling until the visit is next pushed.

create function pg_temp.at_spelled_once(url text) returns text
language sql
immutable
return substring(url from '^[^/]*//[^/]*') || replace(substring(url from '^[^/]*//[^/]*(/.*)$'), '@', '%40');

update scheduling_private.calendar_event_links as l
set external_event_id = pg_temp.at_spelled_once(l.external_event_id)
from public.calendar_sync_connections as c
where
    c.id = l.connection_id
    and c.provider = 'caldav'
    and l.external_event_id ~ '^[^/]*//[^/]*/.*@';

update scheduling_private.blocked_time_links as l
set external_event_id = pg_temp.at_spelled_once(l.external_event_id)
from public.calendar_sync_connections as c
where
    c.id = l.connection_id
    and c.provider = 'caldav'
    and l.external_event_id ~ '^[^/]*//[^/]*/.*@';

delete from public.calendar_busy_blocks as b
where
    b.source = 'caldav'
    and b.external_event_id ~ '^[^/]*//[^/]*/.*@'
    and exists (
        select from public.calendar_busy_blocks as twin
        where
            twin.user_id = b.user_id
            and twin.source = b.source
            and twin.external_event_id = pg_temp.at_spelled_once(b.external_event_id)
    );

update public.calendar_busy_blocks as b
set external_event_id = pg_temp.at_spelled_once(b.external_event_id)
where
    b.source = 'caldav'
    and b.external_event_id ~ '^[^/]*//[^/]*/.*@';
