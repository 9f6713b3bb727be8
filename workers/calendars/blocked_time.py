"""Time a clinician blocked by hand, in their connected calendars.

A manual block is pushed like a visit: written by its UID, overwritten when it changes, deleted
when it is removed. Unlike a visit, a block concerns nobody else, so what the clinician does to
its event in the calendar is taken back into it: a new time or name when that edit is newer
than the block's last change, and a deletion there removes the block.
"""

from __future__ import annotations

import uuid
from zoneinfo import ZoneInfo

import psycopg
from icalendar import Calendar
from psycopg.rows import dict_row

from workers.calendars import queries
from workers.calendars.connections import log, log_conflict
from workers.calendars.event_times import instants
from workers.calendars.events import (
    BLOCKED_TIME_SUMMARY,
    BLOCKED_TIME_UID_PREFIX,
    OUR_UID_SUFFIX,
    blocked_time_event,
    blocked_time_uid,
    calendar_of,
    is_blocked_time_uid,
)
from workers.calendars.provider import (
    SUMMARY_LENGTH,
    CalendarClient,
    EventChanged,
    PushedEvent,
    RemoteEvent,
)
from workers.calendars.push import queue_push
from workers.storable import storable


def push_blocked_time(
    conn: psycopg.Connection, connection: dict, client: CalendarClient, block_id: str
) -> str:
    """Make the calendar show the block as it is now, or no longer; safe to run again."""
    with conn.cursor(row_factory=dict_row) as cursor:
        block = cursor.execute(queries.BLOCKED_TIME, [block_id]).fetchone()
        link = cursor.execute(queries.BLOCKED_TIME_LINK, [block_id, connection["id"]]).fetchone()
    if block is None:
        if link is None:
            return "skipped: not in the calendar"
        client.delete(link["external_event_id"])
        conn.execute(queries.FORGET_BLOCKED_TIME_LINK, [block_id, connection["id"]])
        log(conn, connection, direction="push", action="delete", external_id=link["external_event_id"])
        return "deleted"
    known = PushedEvent(link["external_event_id"], link["etag"]) if link else None
    ical = calendar_of([blocked_time_event(block)]).to_ical()
    try:
        written = client.put(blocked_time_uid(block_id), ical, known)
    except EventChanged as changed:
        # Edited there since our last write: a newer edit is taken (and pushed on by the
        # block's trigger); otherwise ours is written over it, unconditionally.
        # Deleted there meanwhile: ours, the newer change, is written afresh.
        remote = client.get(changed.external_id)
        if remote is not None and take_calendar_edit(conn, connection, block_id, remote) is None:
            return "took the calendar's edit"
        over = PushedEvent(changed.external_id, None) if remote is not None else None
        written = client.put(blocked_time_uid(block_id), ical, over)
    conn.execute(
        queries.SAVE_BLOCKED_TIME_LINK,
        {
            "block_id": block_id,
            "connection_id": connection["id"],
            "external_id": written.external_id,
            "etag": written.etag,
        },
    )
    log(
        conn,
        connection,
        direction="push",
        action="update" if link else "create",
        external_id=written.external_id,
    )
    return "updated" if link else "created"


def our_blocked_time(
    conn: psycopg.Connection, connection: dict, remote: RemoteEvent, calendar: Calendar
) -> str | None:
    """The block an event shows: by our mapping, or by our UID (Graph makes its own UIDs)."""
    linked = conn.execute(
        queries.BLOCKED_TIME_BY_EXTERNAL_ID, [connection["id"], remote.external_id]
    ).fetchone()
    if linked is not None:
        return str(linked[0])
    for event in calendar.walk("VEVENT"):
        uid = str(event.get("uid", ""))
        if is_blocked_time_uid(uid):
            try:
                return str(uuid.UUID(uid.removeprefix(BLOCKED_TIME_UID_PREFIX).removesuffix(OUR_UID_SUFFIX)))
            except ValueError:
                return None
    return None


def pull_blocked_time(conn: psycopg.Connection, connection: dict, block_id: str, remote: RemoteEvent) -> None:
    """A pull met the block's event: take its edit, or queue the write of the block back over
    one it cannot take (a pull writes nothing to the calendar itself, see pull.py)."""
    refusal = take_calendar_edit(conn, connection, block_id, remote)
    if refusal is None:
        return
    queue_push(conn, connection, "blocked_time_id", block_id)
    log_conflict(
        conn,
        connection,
        external_id=remote.external_id,
        error=f"blocked time edited in the calendar {refusal}; it was written back",
    )


def take_calendar_edit(
    conn: psycopg.Connection, connection: dict, block_id: str, remote: RemoteEvent
) -> str | None:
    """None when the block and its event now agree (they did, or the event's newer edit was
    taken) or a push of the block is to come (queued now when it failed for good); else why
    the event's edit is not taken (the caller then writes the block back)."""
    with conn.cursor(row_factory=dict_row) as cursor:
        block = cursor.execute(queries.BLOCKED_TIME_FOR_UPDATE, [block_id]).fetchone()
    if block is None:
        return None  # removed here: its own push deletes the event
    link = conn.execute(queries.BLOCKED_TIME_LINK, [block_id, connection["id"]]).fetchone()
    conn.execute(queries.SAVE_BLOCKED_TIME_ETAG, [remote.etag, connection["id"], remote.external_id])
    event = next(iter(Calendar.from_ical(remote.ical).walk("VEVENT")))
    starts_at, ends_at, all_day = instants(event, ZoneInfo(block["timezone"]))
    name = storable(str(event.get("summary", "")), SUMMARY_LENGTH)
    summary = None if name in ("", BLOCKED_TIME_SUMMARY) else name
    if (starts_at, ends_at, summary) == (block["starts_at"], block["ends_at"], block["summary"]):
        return None
    if link is not None and remote.etag is not None and link[1] == remote.etag:
        # Not edited there: as we wrote it before a change here, whose push is still to come or
        # failed for good (the calendar could not be written through every retry) and goes again.
        queue_push(conn, connection, "blocked_time_id", block_id)
        return None
    edited = event.decoded("last-modified") if "last-modified" in event else None
    if edited is None or edited <= block["updated_at"]:
        return "before its last change here"
    conn.execute(queries.TAKE_TURN_AND_WAITLIST_OFFERS, [connection["user_id"]])
    try:
        with conn.transaction():
            conn.execute(
                queries.TAKE_BLOCKED_TIME_EDIT,
                {
                    "id": block_id,
                    "starts_at": starts_at,
                    "ends_at": ends_at,
                    "summary": summary,
                    "all_day": all_day,
                },
            )
    except (psycopg.errors.InvalidParameterValue, psycopg.errors.CheckViolation) as refused:
        # Ends before it starts, lasts over 366 days, starts over five years ahead: ours goes back.
        return f"to a time refused here: {refused.diag.message_primary}"
    log(conn, connection, direction="pull", action="update", external_id=remote.external_id)
    return None


def remove_deleted_blocked_time(
    conn: psycopg.Connection, connection: dict, block_id: str, external_id: str
) -> None:
    """The block's event was deleted in the calendar: the block goes too (its other calendars'
    events with it, by the pushes its removal queues)."""
    conn.execute(queries.FORGET_BLOCKED_TIME_LINK, [block_id, connection["id"]])
    conn.execute(queries.REMOVE_BLOCKED_TIME, [block_id])
    log(conn, connection, direction="pull", action="delete", external_id=external_id)
