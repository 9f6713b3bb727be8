"""What a CalDAV pull asks of the server (Radicale): a complete listing (the first pull, about daily
as the horizon moves, and after a token the server forgot) holds the events with time in the
pull's window, from one time-range calendar-query, not every object the calendar holds; the
changes after a token are read a hundred to a calendar-multiget, not one GET each; a server
without sync-collection is listed whole, under the caldav library's own token."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import caldav
from icalendar import Calendar

from tests.calendar_helpers import personal_event, sync_settings
from tests.providers import ForwardingHandler, LocalServer
from workers.calendars.caldav_client import CalDAVCalendar


def rename(calendar: caldav.Calendar, url: str, summary: str) -> None:
    event = calendar.event_by_url(url)
    event.load()
    event.icalendar_component["summary"] = summary
    event.save()


def summaries(changes) -> set[str]:
    return {str(Calendar.from_ical(remote.ical).walk("VEVENT")[0]["summary"]) for remote in changes.changed}


def new_account(radicale) -> tuple[caldav.Calendar, CalDAVCalendar]:
    """A calendar of a new account, as its owner's phone and as the pull see it."""
    username, password = f"dr-{uuid.uuid4().hex[:8]}@icloud.example", "app-specific-password"
    radicale.add_user(username, password)
    work = (
        caldav.DAVClient(url=radicale.url, username=username, password=password)
        .principal()
        .make_calendar(name="Work", cal_id="work")
    )
    return work, CalDAVCalendar(radicale.url, username, password, str(work.url), sync_settings())


def test_a_complete_listing_holds_the_events_with_time_in_the_window(radicale) -> None:
    work, client = new_account(radicale)
    now = datetime.now(UTC).replace(microsecond=0)
    personal_event(work, now - timedelta(days=400), 60, summary="Long ago")
    personal_event(
        work, now - timedelta(days=365), 60, summary="Weekly since last year", rrule={"freq": "weekly"}
    )
    tomorrow = personal_event(work, now + timedelta(days=1), 60, summary="Tomorrow")
    next_year = personal_event(work, now + timedelta(days=365), 60, summary="Next year")
    window = (now - timedelta(days=1), now + timedelta(days=30))

    listing = client.changes(None, window)
    listed_as_read = {remote.external_id: remote.etag for remote in listing.changed}
    read_one_by_one = {url: client.get(url).etag for url in listed_as_read}
    rename(work, tomorrow, "Tomorrow, later")
    rename(work, next_year, "Next year, moved")
    after = client.changes(listing.sync_token, window)
    client.close()

    assert summaries(listing) == {"Weekly since last year", "Tomorrow"}
    assert listing.complete and listing.deleted == [] and listing.covers_until == window[1]
    # Known by the URL and etag a sync report and a GET give, so the next pull rewrites nothing.
    assert tomorrow in listed_as_read and listed_as_read == read_one_by_one
    # Its token is the server's, and the changes after it (outside the window too) come from it.
    assert str(listing.sync_token).startswith("http://radicale.org/ns/sync/")
    assert summaries(after) == {"Tomorrow, later", "Next year, moved"} and not after.complete


def test_the_changes_after_a_token_are_read_a_hundred_at_a_time(radicale) -> None:
    work, client = new_account(radicale)
    now = datetime.now(UTC).replace(microsecond=0)
    window = (now - timedelta(days=1), now + timedelta(days=30))
    cancelled = personal_event(work, now + timedelta(days=2), 60, summary="Cancelled")
    token = client.changes(None, window).sync_token
    added = {
        personal_event(work, now + timedelta(days=n % 400), 60, summary=f"Event {n}") for n in range(150)
    }
    work.event_by_url(cancelled).delete()
    requests = []
    # The caldav library's client holds a requests session: a response hook counts what it sends.
    client._client.session.hooks["response"].append(lambda response, *args, **kwargs: requests.append(1))

    changes = client.changes(token, window)
    requests_made = len(requests)
    as_read = {remote.external_id: remote.etag for remote in changes.changed}
    read_one_by_one = {url: client.get(url).etag for url in as_read}
    client.close()

    assert set(as_read) == added and as_read == read_one_by_one
    assert changes.deleted == [cancelled] and not changes.complete
    assert len(summaries(changes)) == 150 and all(remote.ical for remote in changes.changed)
    assert requests_made == 3  # the sync report, then two multigets (100 and 50)


class WithoutSyncCollection(ForwardingHandler):
    """Radicale (`state["upstream"]`) as a CalDAV server without RFC 6578 answers it: collections
    have no sync-token property, and a sync-collection report is refused with 403
    DAV:supported-report (RFC 3253), as the caldav library's source says Zimbra refuses it."""

    def intercept(self, body: bytes) -> bool:
        if not (self.command == "REPORT" and b"sync-collection" in body):
            return False
        refusal = b'<?xml version="1.0"?><D:error xmlns:D="DAV:"><D:supported-report/></D:error>'
        self.send_response(403)
        self.send_header("Content-Type", "application/xml; charset=utf-8")
        self.send_header("Content-Length", str(len(refusal)))
        self.end_headers()
        self.wfile.write(refusal)
        return True

    def adjust(self, content: bytes) -> bytes:
        if self.command != "PROPFIND":
            return content
        return re.sub(rb"<([\w:]*)sync-token(?: [^>]*)?(?:/>|>[^<]*</\1sync-token>)", b"", content)


def test_a_server_without_sync_collection_is_listed_whole_when_anything_changed(radicale) -> None:
    work, _ = new_account(radicale)
    now = datetime.now(UTC).replace(microsecond=0)
    personal_event(work, now - timedelta(days=400), 60, summary="Long ago")
    tomorrow = personal_event(work, now + timedelta(days=1), 60, summary="Tomorrow")
    window = (now - timedelta(days=1), now + timedelta(days=30))
    with LocalServer(WithoutSyncCollection, {"upstream": urlsplit(radicale.url).netloc}) as proxy:
        calendar_url = proxy.base_url + urlsplit(str(work.url)).path
        username = work.client.username
        client = CalDAVCalendar(
            f"{proxy.base_url}/", username, work.client.password, calendar_url, sync_settings()
        )
        first = client.changes(None, window)
        unchanged = client.changes(first.sync_token, window)
        rename(work, tomorrow, "Tomorrow, later")
        after_a_change = client.changes(unchanged.sync_token, window)
        client.close()

    # The library's own token ("fake-", a hash of the etags) and, whenever an etag changed, the
    # whole calendar, taken as complete and covering no window.
    assert str(first.sync_token).startswith("fake-")
    assert summaries(first) == {"Long ago", "Tomorrow"} and first.complete and first.covers_until is None
    assert unchanged.changed == [] and not unchanged.complete
    assert summaries(after_a_change) == {"Long ago", "Tomorrow, later"} and after_a_change.complete
