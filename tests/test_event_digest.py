"""What a pull compares an event of ours with (workers/calendars/events.py' event_digest): what
the event says, not when it was written."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from workers.calendars.events import appointment_event, event_digest

START = datetime(2027, 3, 1, 9, 30, tzinfo=UTC)
VISIT = {
    "ical_uid": "5f0c@clinic-scheduling",
    "ical_sequence": 2,
    "updated_at": datetime(2027, 2, 1, 8, 0, tzinfo=UTC),
    "timezone": "Europe/London",
    "scheduled_start": START,
    "scheduled_end": START + timedelta(minutes=30),
    "status": "confirmed",
    "title": None,
    "appointment_type": "follow_up",
    "location_type": "in_person",
    "location": None,
    "video_call_link": None,
    "clinician_name": "Dr Ada Okafor",
    "reader_is_clinician": False,
}


def digest_of(visit: dict, stamped: datetime | None = None) -> str:
    event = appointment_event(visit, "https://clinic.example")
    if stamped is not None:
        event.pop("dtstamp")
        event.add("dtstamp", stamped)
    return event_digest(event)


def test_the_same_visit_written_again_later_has_the_same_digest() -> None:
    later = VISIT | {"updated_at": VISIT["updated_at"] + timedelta(hours=3)}
    assert digest_of(later, datetime(2030, 1, 1, tzinfo=UTC)) == digest_of(
        VISIT, datetime(2027, 1, 1, tzinfo=UTC)
    )


def test_each_change_a_reader_sees_changes_the_digest() -> None:
    changes = [
        {"location": "Room 4"},
        {"video_call_link": "https://meet.jit.si/clinic-5f0c"},
        {"title": "Knee review"},
        {
            "scheduled_start": START + timedelta(hours=1),
            "scheduled_end": START + timedelta(hours=1, minutes=30),
        },
        {"status": "requested"},
        {"clinician_name": "Dr Ada Okafor-Reid"},
        {"reader_is_clinician": True},
    ]
    digests = {digest_of(VISIT | change) for change in changes} | {digest_of(VISIT)}
    assert len(digests) == len(changes) + 1
