"""The .ics attached to appointment emails: the appointments' own VEVENTs as an iTIP message."""

from __future__ import annotations

from email.utils import parseaddr

from icalendar import vCalAddress

from workers.calendars.events import appointment_event, calendar_of


def appointment_invite(
    appointments: list[dict], app_base_url: str, *, sender: str, recipient: str, method: str
) -> bytes:
    """The iTIP `method` (REQUEST or CANCEL, as the email's MIME part says) with the VEVENT synced
    calendars get for each appointment (several for a series): same UID, SEQUENCE, times in the
    clinician's zone. RFC 5546 requires an ORGANIZER and an ATTENDEE in both methods; the
    clinic's sending address organizes, on the clinician's behalf, and no reply is asked for."""
    events = []
    for appointment in appointments:
        # The notification queries name the appointment's status and zone apart from the reader's.
        as_stored = {
            "status": appointment["appointment_status"],
            "timezone": appointment["appointment_timezone"],
        }
        event = appointment_event(appointment | as_stored, app_base_url)
        organizer = vCalAddress(f"mailto:{parseaddr(sender)[1]}")
        organizer.params["cn"] = appointment["clinician_name"]
        attendee = vCalAddress(f"mailto:{recipient}")
        attendee.params.update({"role": "REQ-PARTICIPANT", "rsvp": "FALSE"})
        event.add("organizer", organizer)
        event.add("attendee", attendee)
        events.append(event)
    return calendar_of(events, method=method).to_ical()
