"""A CalDAV complete listing (the first pull, about daily as the horizon moves, and after a token
the server forgot) holds the events with time in the pull's window, asked of Radicale with one
time-range calendar-query, not every object the calendar ever held."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import caldav
from icalendar import Calendar, Event

from tests.calendar_helpers import sync_settings
from workers.calendars.caldav_client import CalDAVCalendar, event_key


def add_event(calendar: caldav.Calendar, summary: str, start: datetime, rrule: dict | None = None) -> str:
    """The event's URL, as the pull knows it."""
    ical = Calendar()
    ical.add("prodid", "-//someone's phone//EN")
    ical.add("version", "2.0")
    event = Event()
    event.add("uid", f"{uuid.uuid4()}@phone.example")
    event.add("dtstamp", datetime.now(UTC))
    event.add("dtstart", start)
    event.add("dtend", start + timedelta(hours=1))
    event.add("summary", summary)
    if rrule:
        event.add("rrule", rrule)
    ical.add_component(event)
    return event_key(calendar.add_event(ical.to_ical().decode()).url)


def rename(calendar: caldav.Calendar, url: str, summary: str) -> None:
    event = calendar.event_by_url(url)
    event.load()
    event.icalendar_component["summary"] = summary
    event.save()


def summaries(changes) -> set[str]:
    return {str(Calendar.from_ical(remote.ical).walk("VEVENT")[0]["summary"]) for remote in changes.changed}


def test_a_complete_listing_holds_the_events_with_time_in_the_window(radicale) -> None:
    username, password = f"dr-{uuid.uuid4().hex[:8]}@icloud.example", "app-specific-password"
    radicale.add_user(username, password)
    work = caldav.DAVClient(url=radicale.url, username=username, password=password).principal().make_calendar(
        name="Work", cal_id="work"
    )
    now = datetime.now(UTC).replace(microsecond=0)
    add_event(work, "Long ago", now - timedelta(days=400))
    add_event(work, "Weekly since last year", now - timedelta(days=365), rrule={"freq": "weekly"})
    tomorrow = add_event(work, "Tomorrow", now + timedelta(days=1))
    next_year = add_event(work, "Next year", now + timedelta(days=365))
    window = (now - timedelta(days=1), now + timedelta(days=30))
    client = CalDAVCalendar(radicale.url, username, password, str(work.url), sync_settings())

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
