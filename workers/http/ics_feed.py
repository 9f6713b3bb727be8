"""The read-only calendar feed: a user's appointments as RFC 5545 iCalendar, made with icalendar."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event

from workers.wording import visit_name

LOCATION_NAMES = {"in_person": "In person", "video": "Video", "phone": "Phone"}


def feed_calendar(appointments: list[dict], app_base_url: str) -> bytes:
    """One VEVENT per appointment, in the clinician's zone (with its VTIMEZONE)."""
    calendar = Calendar()
    calendar.add("prodid", "-//Clinic scheduling//Appointments feed//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", "Clinic appointments")
    for appointment in appointments:
        zone = ZoneInfo(appointment["timezone"])
        visit = visit_name(appointment).capitalize()
        event = Event()
        event.add("uid", appointment["ical_uid"])
        event.add("sequence", appointment["ical_sequence"])
        event.add("dtstamp", datetime.now(UTC))
        event.add("last-modified", appointment["updated_at"].astimezone(UTC))
        event.add("dtstart", appointment["scheduled_start"].astimezone(zone))
        event.add("dtend", appointment["scheduled_end"].astimezone(zone))
        event.add("summary", f"{visit} with {appointment['clinician_name']}")
        event.add("status", status_of(appointment["status"]))
        event.add(
            "location",
            appointment["video_call_link"]
            or appointment["location"]
            or LOCATION_NAMES[appointment["location_type"]],
        )
        event.add("url", f"{app_base_url}/appointments/{appointment['ical_uid'].split('@')[0]}")
        calendar.add_component(event)
    calendar.add_missing_timezones()
    return calendar.to_ical()


def status_of(appointment_status: str) -> str:
    if appointment_status == "cancelled":
        return "CANCELLED"
    if appointment_status == "requested":
        return "TENTATIVE"
    return "CONFIRMED"
