-- CalDAV pulls ask the server for a new sync token when it no longer knows theirs.
--
-- When a CalDAV server refused an expired sync token (RFC 6578: 403 valid-sync-token), the caldav
-- library listed the whole calendar and handed back a token of its own making ("fake-..."), and
-- from then on it never asked that server for a real token again: every pull of the connection
-- downloaded the whole calendar. The worker now starts the sync again from no token instead
-- (workers/calendars/caldav_client.py). Connections left with a made-up token start again at
-- their next pull too: a complete listing, as each of their pulls was; a server without
-- sync-collection answers it with a made-up token again, as before.

update scheduling_private.calendar_sync_state as s
set sync_token = null
from public.calendar_sync_connections as c
where
    c.id = s.connection_id
    and c.provider = 'caldav'
    and s.sync_token like 'fake-%';
