"""Between our iCalendar events and the JSON events of Google Calendar and Microsoft Graph.

Pushing: the fields of the VEVENT we made for an appointment or a blocked time. Pulling: a
provider's event as a VEVENT, so the pull reads every provider the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from icalendar import Calendar, Event

from workers.calendars.events import calendar_of, is_blocked_time_uid


@dataclass(frozen=True)
class EventFields:
    uid: str
    summary: str
    location: str
    url: str
    start: datetime
    end: datetime
    timezone: str  # IANA name of the zone the times are shown in
    status: str  # iCalendar STATUS: TENTATIVE, CONFIRMED or CANCELLED

    @property
    def our_id(self) -> str:
        """The appointment's id, or `blocked-<id>` for time a clinician blocked by hand."""
        return self.uid.partition("@")[0]

    @property
    def is_blocked_time(self) -> bool:
        return is_blocked_time_uid(self.uid)


def fields_of(ical: bytes) -> EventFields:
    event = next(iter(Calendar.from_ical(ical).walk("VEVENT")))
    start = event.decoded("dtstart")
    return EventFields(
        uid=str(event["uid"]),
        summary=str(event.get("summary", "")),
        location=str(event.get("location", "")),
        url=str(event.get("url", "")),
        start=start,
        end=event.decoded("dtend"),
        timezone=str(start.tzinfo.key if hasattr(start.tzinfo, "key") else "UTC"),
        status=str(event.get("status", "CONFIRMED")),
    )


def ical_of(
    uid: str,
    start: datetime | date,
    end: datetime | date,
    *,
    summary: str | None,
    transparent: bool,
    last_modified: datetime | None,
) -> bytes:
    """A one-event VCALENDAR; a `date` start and end make an all-day event."""
    event = Event()
    event.add("uid", uid)
    event.add("dtstart", start)
    event.add("dtend", end)
    if summary:
        event.add("summary", summary)
    event.add("transp", "TRANSPARENT" if transparent else "OPAQUE")
    if last_modified is not None:
        event.add("last-modified", last_modified)
    return calendar_of([event]).to_ical()
