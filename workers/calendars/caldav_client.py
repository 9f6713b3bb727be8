"""CalDAV (iCloud, Radicale, Nextcloud, ...) through the caldav library.

Events are PUT at a URL made from their UID, so a retry overwrites the event it made before
instead of adding a second one; later PUTs are conditional on the etag of our last write.
Changes come from a sync-collection REPORT (RFC 6578) when the server supports it, their text
from calendar-multiget, and a complete listing from a time-range calendar-query (both RFC 4791)
over the pull's window; otherwise the library lists every object when the etags changed, and
the pull treats that listing as complete (unchanged events keep their etag and are not
rewritten).
"""

from __future__ import annotations

import contextlib
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit, urlunsplit

import caldav
from caldav.elements import cdav, dav
from caldav.lib import error as caldav_error
from caldav.lib.http_sync import requests as caldav_http
from icalendar import vCalAddress

from workers.calendars.provider import (
    Changes,
    EventChanged,
    PushedEvent,
    ReconnectNeeded,
    RemoteEvent,
)
from workers.outbound import keep_out_of_the_network
from workers.settings import Settings

ICLOUD_URL = "https://caldav.icloud.com/"
READ_TOGETHER = 100  # events per calendar-multiget: a long delta (a paused calendar) in a few answers

# RFC 4791's calendar-query: the events with time in a range (UTC), each with its etag and text.
EVENTS_IN_RANGE = """<?xml version="1.0" encoding="utf-8"?>
<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
  <D:prop><D:getetag/><C:calendar-data/></D:prop>
  <C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT">
    <C:time-range start="{start}" end="{end}"/>
  </C:comp-filter></C:comp-filter></C:filter>
</C:calendar-query>"""


def dav_client(
    server_url: str, username: str, password: str, settings: Settings, auth_type: str | None = None
) -> caldav.DAVClient:
    """A client that gives up on a stalled server (the library's own waits for ever) and neither
    connects nor follows a redirect into this service's network (the server URL is the user's).
    Without `auth_type` the library sends its first request without credentials and picks the
    scheme the server's 401 names; with it, it sends them at once."""
    client = caldav.DAVClient(
        url=server_url,
        username=username,
        password=password,
        timeout=settings.calendar_timeout_seconds,
        auth_type=auth_type,
    )
    keep_out_of_the_network(client.session, settings.private_hosts_allowed)
    return client


def calendars_of(
    server_url: str, username: str, password: str, settings: Settings
) -> tuple[list[tuple[str, str]], str | None]:
    """The (url, name) of every calendar the account holds, and "basic" when the server asked for
    Basic authentication (iCloud does), which the connection's clients then send at once instead
    of being asked each time; checks the credentials on the way."""
    with dav_client(server_url, username, password, settings) as client:
        try:
            calendars = client.principal().calendars()
        except caldav_error.AuthorizationError as refused:
            raise ReconnectNeeded("the CalDAV server refused this username and password") from refused
        named = [
            (str(calendar.url), calendar.get_display_name() or str(calendar.url)) for calendar in calendars
        ]
        # Digest needs the server's challenge for every new session: nothing to remember.
        return named, "basic" if isinstance(client.auth, caldav_http.auth.HTTPBasicAuth) else None


def event_key(url: object) -> str:
    """An event's URL with each `@` of its path spelled `%40`: the pull finds events by URL, and
    servers spell the two alike in one answer and not in the next (Radicale's sync report gives
    `.../pat%40example.com/work/x.ics` for an event PUT at `.../pat@example.com/work/x.ics`).
    The caldav library takes the two for one resource too."""
    parts = urlsplit(str(url))
    return urlunsplit(parts._replace(path=re.sub("@|%40", "%40", parts.path, flags=re.IGNORECASE)))


class CalDAVCalendar:
    def __init__(
        self,
        server_url: str,
        username: str,
        password: str,
        calendar_url: str,
        settings: Settings,
        auth_type: str | None = None,
    ) -> None:
        self._client = dav_client(server_url, username, password, settings, auth_type)
        self._calendar = self._client.calendar(url=calendar_url)
        self._username = username
        self._owner_addresses: frozenset[str] | None = None

    def put(self, uid: str, ical: bytes, known: PushedEvent | None) -> PushedEvent:
        # With the etag of our last write the PUT carries If-Match, so an edit made in the calendar
        # since answers 412 instead of being overwritten; without one it goes to the UID's URL.
        # raw_data sends our bytes as they are: the library would otherwise raise SEQUENCE itself.
        event = caldav.Event(
            self._client,
            url=known.external_id if known else None,
            parent=self._calendar,
            props={dav.GetEtag.tag: known.etag} if known and known.etag else None,
        )
        try:
            event.save(raw_data=ical, precondition="etag")
        except caldav_error.ETagMismatchError as changed:
            raise EventChanged(event_key(event.url)) from changed
        except caldav_error.AuthorizationError as refused:
            raise ReconnectNeeded("the CalDAV server refused our credentials") from refused
        return PushedEvent(event_key(event.url), event.etag)

    def get(self, external_id: str) -> RemoteEvent | None:
        try:
            event = self._calendar.event_by_url(external_id)
            event.load()
        except caldav_error.NotFoundError:
            return None
        return RemoteEvent(external_id, event.props.get("{DAV:}getetag"), event.data.encode())

    def delete(self, external_id: str) -> None:
        with contextlib.suppress(caldav_error.NotFoundError):
            self._calendar.event_by_url(external_id).delete()

    def changes(self, sync_token: str | None, window: tuple[datetime, datetime]) -> Changes:
        try:
            if sync_token is not None:
                since_token = self._changes_since(sync_token)
                if since_token is not None:
                    return since_token
            return self._listing(window)
        except caldav_error.AuthorizationError as refused:
            raise ReconnectNeeded("the CalDAV server refused our credentials") from refused

    def _changes_since(self, sync_token: str) -> Changes | None:
        """What changed since the token; None when the server no longer knows it (RFC 6578's 403
        valid-sync-token, which Radicale answers once a token is older than its
        max_sync_token_age, 30 days by default). The library would list everything instead and
        hand back its own "fake-" token, and then never ask the server for a real one again:
        every later pull would download the whole calendar."""
        servers_token = not sync_token.startswith("fake-")
        try:
            # The report names what changed with its etag; the library would then GET each object
            # (every event we pushed since the last pull is among them): they are read together.
            found = self._calendar.get_objects_by_sync_token(
                sync_token, load_objects=not servers_token, disable_fallback=servers_token
            )
        except caldav_error.DAVError as refused:
            if servers_token and dav.ValidSyncToken.tag in refused.preconditions:
                return None
            raise
        # Without sync-collection the library lists everything whenever anything changed (its
        # "fake-" tokens hash the etags): such a listing is complete, and says nothing of deletions.
        emulated = str(found.sync_token).startswith("fake-") and found.sync_token != sync_token
        return self._found(found, complete=emulated, read_together=servers_token)

    def _listing(self, window: tuple[datetime, datetime]) -> Changes:
        """Every event with time in the window, and the token its later changes are asked from.

        One calendar-query (RFC 4791) with a time range, which the server matches against each
        occurrence of a recurring event: a sync-collection report from no token names every
        object the calendar holds, and the library then fetches them one GET each (years of an
        iCloud calendar, about daily). The token is read first, so a change made meanwhile comes
        in again at the next pull rather than not at all.
        """
        token = self._calendar.get_property(dav.SyncToken())
        if not token:  # no sync-collection: the library lists every object, as a complete listing
            return self._found(
                self._calendar.get_objects_by_sync_token(None, load_objects=True), complete=True
            )
        since, until = window
        # A day more on each side: the server places floating times and all-day events in a zone
        # of its own, the pull in the owner's.
        query = EVENTS_IN_RANGE.format(
            start=f"{(since - timedelta(days=1)).astimezone(UTC):%Y%m%dT%H%M%SZ}",
            end=f"{(until + timedelta(days=1)).astimezone(UTC):%Y%m%dT%H%M%SZ}",
        )
        found = self._client.report(str(self._calendar.url), query, depth=1).expand_simple_props(
            [dav.GetEtag(), cdav.CalendarData()]
        )
        changed = [
            RemoteEvent(
                event_key(self._calendar.url.join(href)),
                props.get(dav.GetEtag.tag),
                props[cdav.CalendarData.tag].encode(),
            )
            for href, props in found.items()
            if props.get(cdav.CalendarData.tag)
        ]
        return Changes(changed=changed, sync_token=token, complete=True, covers_until=until)

    def _found(self, found, complete: bool, read_together: bool = False) -> Changes:
        """The pull's view of the library's sync collection; `read_together`: its objects were
        named without their text, which is read now."""
        deleted = {event_key(url) for url in found.deleted_urls}
        objects = [item for item in found.objects if event_key(item.url) not in deleted]
        if read_together:
            objects = self._read_together(objects)
        changed = [
            RemoteEvent(event_key(item.url), item.props.get("{DAV:}getetag"), item.data.encode())
            for item in objects
            if item.data
        ]
        return Changes(
            changed=changed, deleted=sorted(deleted), sync_token=found.sync_token, complete=complete
        )

    def _read_together(self, objects: list) -> list:
        """The objects with their text and etag, by calendar-multiget (RFC 4791), a hundred a
        request. One deleted since comes back without text (the next pull names it deleted)."""
        urls = [item.url for item in objects]
        return [
            read
            for first in range(0, len(urls), READ_TOGETHER)
            for read in self._calendar.multiget(urls[first : first + READ_TOGETHER])
        ]

    def owner_addresses(self) -> frozenset[str]:
        """The principal's calendar-user-address-set (RFC 6638), and the username when it is an
        address (an Apple ID is). Read once, when a pull first meets an event someone declined."""
        if self._owner_addresses is None:
            try:
                hrefs = self._client.principal().calendar_user_address_set()
            except caldav_error.NotFoundError:
                hrefs = []  # the server keeps no such set
            except caldav_error.AuthorizationError as refused:
                raise ReconnectNeeded("the CalDAV server refused our credentials") from refused
            # Servers may list the principal's own URL there too (Radicale lists only that).
            addresses = {
                vCalAddress(href.strip()).email.lower()
                for href in hrefs
                if href and href.strip().lower().startswith("mailto:")
            }
            if "@" in self._username:
                addresses.add(self._username.lower())
            self._owner_addresses = frozenset(addresses)
        return self._owner_addresses

    def updated_secret(self) -> dict | None:
        return None  # a password does not change during a job

    def close(self) -> None:
        self._client.close()
