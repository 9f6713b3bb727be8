"""One appointment as an iCalendar VEVENT (icalendar), the same in the feed and in synced calendars."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event

from workers.wording import visit_name, with_whom

LOCATION_NAMES = {"in_person": "In person", "video": "Video", "phone": "Phone"}
# Marks events we wrote, so a pull knows them from the user's own (also: UIDs end in this).
OUR_UID_SUFFIX = "@clinic-scheduling"
# Time a clinician blocked by hand: its UID is this, the block's id and our suffix.
BLOCKED_TIME_UID_PREFIX = "blocked-"
BLOCKED_TIME_SUMMARY = "Blocked time"  # the event's name when the block has no summary


def appointment_event(appointment: dict, app_base_url: str) -> Event:
    """A VEVENT in the clinician's zone; UID and SEQUENCE are the appointment's own. Its summary
    names the clinician to the patient, and says "your patient" in the clinician's calendar
    (`reader_is_clinician`): no patient's name goes to an external calendar."""
    zone = ZoneInfo(appointment["timezone"])
    event = Event()
    event.add("uid", appointment["ical_uid"])
    event.add("sequence", appointment["ical_sequence"])
    event.add("dtstamp", datetime.now(UTC))
    event.add("last-modified", appointment["updated_at"].astimezone(UTC))
    event.add("dtstart", appointment["scheduled_start"].astimezone(zone))
    event.add("dtend", appointment["scheduled_end"].astimezone(zone))
    event.add("summary", f"{visit_name(appointment).capitalize()} with {with_whom(appointment)}")
    event.add("status", status_of(appointment["status"]))
    event.add(
        "location",
        appointment["video_call_link"]
        or appointment["location"]
        or LOCATION_NAMES[appointment["location_type"]],
    )
    event.add("url", f"{app_base_url}/appointments/{appointment['ical_uid'].removesuffix(OUR_UID_SUFFIX)}")
    return event


def event_digest(event: Event) -> str:
    """What an event says, as a digest: its content lines less the times it was stamped and
    changed, which differ between two writes of the same visit."""
    lines = event.to_ical().splitlines()
    kept = [line for line in lines if not line.startswith((b"DTSTAMP", b"LAST-MODIFIED"))]
    return hashlib.sha256(b"\n".join(kept)).hexdigest()


def blocked_time_event(block: dict) -> Event:
    """A VEVENT for time a clinician blocked by hand: busy (OPAQUE), in their zone, named by its summary."""
    zone = ZoneInfo(block["timezone"])
    event = Event()
    event.add("uid", blocked_time_uid(block["id"]))
    event.add("dtstamp", datetime.now(UTC))
    event.add("last-modified", block["updated_at"].astimezone(UTC))
    event.add("dtstart", block["starts_at"].astimezone(zone))
    event.add("dtend", block["ends_at"].astimezone(zone))
    event.add("summary", block["summary"] or BLOCKED_TIME_SUMMARY)
    event.add("transp", "OPAQUE")
    return event


def blocked_time_uid(block_id) -> str:
    return f"{BLOCKED_TIME_UID_PREFIX}{block_id}{OUR_UID_SUFFIX}"


def is_blocked_time_uid(uid: str) -> bool:
    return uid.startswith(BLOCKED_TIME_UID_PREFIX) and uid.endswith(OUR_UID_SUFFIX)


def calendar_of(events: list[Event], **properties: str) -> Calendar:
    """A VCALENDAR holding the events, with the VTIMEZONEs they use."""
    calendar = Calendar()
    calendar.add("prodid", "-//Clinic scheduling//Appointments//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    for name, value in properties.items():
        calendar.add(name.replace("_", "-"), value)
    for event in events:
        calendar.add_component(event)
    calendar.add_missing_timezones()
    return calendar


def status_of(appointment_status: str) -> str:
    if appointment_status == "cancelled":
        return "CANCELLED"
    if appointment_status == "requested":
        return "TENTATIVE"
    return "CONFIRMED"
