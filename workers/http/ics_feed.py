"""The read-only calendar feed: a user's appointments (and a clinician's blocked time) as RFC 5545
iCalendar, made with icalendar."""

from __future__ import annotations

from workers.calendars.events import appointment_event, blocked_time_event, calendar_of


def feed_calendar(appointments: list[dict], blocked_time: list[dict], app_base_url: str) -> bytes:
    """One VEVENT per appointment and per block, in the clinician's zone (with its VTIMEZONE)."""
    events = [appointment_event(appointment, app_base_url) for appointment in appointments]
    events += [blocked_time_event(block) for block in blocked_time]
    return calendar_of(events, x_wr_calname="Clinic appointments").to_ical()
