"""The .ics attached to appointment emails, made with the icalendar library."""

from __future__ import annotations

from datetime import UTC, datetime

from icalendar import Calendar, Event


def appointment_invite(
    *,
    uid: str,
    sequence: int,
    start: datetime,
    end: datetime,
    summary: str,
    location: str | None,
    url: str,
    cancelled: bool = False,
) -> bytes:
    """A METHOD:REQUEST (or CANCEL) calendar with one VEVENT whose UID is the appointment's."""
    calendar = Calendar()
    calendar.add("prodid", "-//Clinic scheduling//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "CANCEL" if cancelled else "REQUEST")
    event = Event()
    event.add("uid", uid)
    event.add("sequence", sequence)
    event.add("dtstamp", datetime.now(UTC))
    event.add("dtstart", start.astimezone(UTC))
    event.add("dtend", end.astimezone(UTC))
    event.add("summary", summary)
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    event.add("url", url)
    if location:
        event.add("location", location)
    calendar.add_component(event)
    return calendar.to_ical()
