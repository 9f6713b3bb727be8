"""Pushing one appointment to one connected calendar: create or overwrite by UID, or delete."""

from __future__ import annotations

import psycopg
from icalendar import Event
from psycopg.rows import dict_row

from workers.calendars import queries
from workers.calendars.connections import log
from workers.calendars.events import appointment_event, calendar_of, event_digest
from workers.calendars.provider import CalendarClient, PushedEvent

# Cancelled visits leave the calendar; completed and missed ones stay as a record of the day.
REMOVED_STATUSES = {"cancelled"}


def push_appointment(
    conn: psycopg.Connection, connection: dict, client: CalendarClient, appointment_id: str, app_base_url: str
) -> str:
    """Make the external calendar show the appointment as it is now; safe to run again."""
    with conn.cursor(row_factory=dict_row) as cursor:
        appointment = cursor.execute(queries.APPOINTMENT, [appointment_id]).fetchone()
        link = cursor.execute(queries.LINK, [appointment_id, connection["id"]]).fetchone()
    if appointment is None or appointment["status"] in REMOVED_STATUSES:
        if link is None:
            return "skipped: not in the calendar"
        client.delete(link["external_event_id"])
        conn.execute(queries.FORGET_LINK, [appointment_id, connection["id"]])
        log(
            conn,
            connection,
            direction="push",
            action="delete",
            appointment_id=appointment_id if appointment else None,
            external_id=link["external_event_id"],
        )
        return "deleted"
    event = event_for(appointment, connection, app_base_url)
    ical = calendar_of([event]).to_ical()
    known = PushedEvent(link["external_event_id"], link["etag"]) if link else None
    written = client.put(appointment["ical_uid"], ical, known)
    external_id = written.external_id
    conn.execute(
        queries.SAVE_LINK,
        {
            "appointment_id": appointment_id,
            "connection_id": connection["id"],
            "external_id": external_id,
            "etag": written.etag,
            "sequence": appointment["ical_sequence"],
            "digest": event_digest(event),
        },
    )
    if connection["is_primary"]:
        conn.execute(
            queries.RECORD_PRIMARY_EVENT_ID,
            {
                "provider": connection["provider"],
                "external_id": external_id,
                "appointment_id": appointment_id,
                "user_id": connection["user_id"],
            },
        )
    action = "update" if link else "create"
    log(
        conn,
        connection,
        direction="push",
        action=action,
        appointment_id=appointment_id,
        external_id=external_id,
    )
    return "updated" if link else "created"


def event_for(appointment: dict, connection: dict, app_base_url: str) -> Event:
    """The visit's event as this calendar's owner reads it."""
    as_read = appointment | {"reader_is_clinician": appointment["clinician_id"] == connection["user_id"]}
    return appointment_event(as_read, app_base_url)


def queue_push(conn: psycopg.Connection, connection: dict, key: str, item_id: str) -> None:
    """A push of the visit (key 'appointment_id') or block ('blocked_time_id') to this calendar,
    unless one is still to come. A pull queues what it finds missing there rather than writing
    it itself: a calendar that refuses the write fails that push, with its own retries, not the
    pull."""
    parameters = {
        "provider": connection["provider"],
        "connection_id": connection["id"],
        "key": key,
        "id": item_id,
    }
    conn.execute(queries.QUEUE_PUSH, parameters)
