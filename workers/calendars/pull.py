"""Pulling a connected calendar: the user's own events become busy time, changes made there to
our appointments are applied when the new time is free, or undone, and changes to the time a
clinician blocked by hand are taken into the block (blocked_time.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import psycopg
import recurring_ical_events
from icalendar import Calendar, Event
from psycopg.rows import dict_row

from workers.calendars import queries
from workers.calendars.blocked_time import our_blocked_time, pull_blocked_time, remove_deleted_blocked_time
from workers.calendars.connections import log, log_conflict
from workers.calendars.event_times import instants
from workers.calendars.events import OUR_UID_SUFFIX, event_digest
from workers.calendars.provider import (
    SUMMARY_LENGTH,
    CalendarClient,
    EventChanged,
    RemoteEvent,
    StoppedPulling,
    pulls_from,
    pushes_to,
)
from workers.calendars.push import REMOVED_STATUSES, event_for, push_appointment, queue_push
from workers.retry import RetryLater
from workers.storable import ERROR_LENGTH, storable

CHANGING_SETTINGS_WAIT = 5.0  # seconds: an owner's change of a connection's row takes a moment


def pull_changes(
    conn: psycopg.Connection, connection: dict, client: CalendarClient, app_base_url: str
) -> str:
    # Events become busy blocks up to a day past the booking horizon. A delta names an event only
    # when it changes, so once days pass (or the horizon grows) what lay beyond that end (events
    # first seen too far ahead, later occurrences of recurring ones) comes in only from a complete
    # listing: one is asked for whenever the horizon reaches past what the last one took in.
    now = datetime.now(UTC)
    since, until = now - timedelta(days=1), now + timedelta(days=connection["horizon_days"] + 1)
    imported_until = connection["imported_until"]
    behind = imported_until is None or imported_until < until - timedelta(days=1)
    changes = client.changes(None if behind else connection["sync_token"], (since, until))
    # What a complete listing adds to unchanged events: their occurrences past what came in before.
    extend_from = max(since, imported_until or since) if changes.complete else None
    imported = 0
    # The owner's events are imported before any of ours is taken back: taking the move of a
    # visit or of blocked time takes the clinician's booking turn until the pull commits, and an
    # import withdraws the waitlist offers of the time it blocks, which a patient accepting one
    # holds while waiting for that turn (a deadlock when an import came after such a move).
    ours: list[tuple[RemoteEvent, str | None, str | None]] = []
    for remote in changes.changed:
        try:
            calendar = Calendar.from_ical(remote.ical)
        except ValueError as unreadable:
            log_unreadable(conn, connection, remote, unreadable)
            continue
        block_id = our_blocked_time(conn, connection, remote, calendar)
        appointment_id = our_appointment(conn, connection, remote, calendar) if block_id is None else None
        if block_id is not None or appointment_id is not None:
            ours.append((remote, block_id, appointment_id))
        elif import_busy_time(conn, connection, client, remote, calendar, (since, until), extend_from):
            imported += 1
    # Events of ours in a calendar we no longer write to were left there by its owner's choice:
    # they are neither taken back nor busy time (their visits block already). Blocked time goes
    # before visits: each edit of it takes the booking turn and the waitlist's offers without
    # waiting, letting go of both to try again while a patient accepting an offer holds one; after
    # a visit's move, which holds the turn until the pull commits, it could not let go of the turn
    # that patient waits for.
    if pushes_to(connection["sync_direction"]):
        ours.sort(key=lambda event: event[1] is None)
        for remote, block_id, appointment_id in ours:
            if block_id is not None:
                pull_blocked_time(conn, connection, block_id, remote)
            else:
                write_back_if_refused(conn, connection, appointment_id, remote, app_base_url)
    deleted = list(changes.deleted)
    if changes.complete:
        # A full listing names no deletions: what it lacks is gone.
        seen = [remote.external_id for remote in changes.changed]
        conn.execute(queries.FORGET_UNSEEN_BLOCKS, [connection["id"], seen])
        missing = conn.execute(
            queries.UPCOMING_LINKS_NOT_IN,
            {"connection_id": connection["id"], "seen": seen, "covers_until": changes.covers_until},
        ).fetchall()
        deleted += [row[0] for row in missing if row[0] not in deleted]
        if pushes_to(connection["sync_direction"]):
            # What never reached the calendar (its push failed for good) is sent again.
            conn.execute(queries.PUSH_WHAT_NEVER_REACHED, [connection["id"]])
    for external_id in deleted:
        forget_or_restore(conn, connection, client, external_id, app_base_url)
    try:
        direction = conn.execute(queries.DIRECTION_NOW, [connection["id"]]).fetchone()
    except psycopg.errors.LockNotAvailable as changing:
        raise RetryLater(
            "the owner was changing this calendar's settings", CHANGING_SETTINGS_WAIT
        ) from changing
    if direction is not None and not pulls_from(direction[0]):
        raise StoppedPulling(connection["id"])
    conn.execute(
        queries.SAVE_PULL,
        {
            "connection_id": connection["id"],
            "sync_token": changes.sync_token,
            "complete": changes.complete,
            "until": until,
        },
    )
    conn.execute(queries.MARK_PULLED, [connection["id"]])
    listing = " (a complete listing)" if changes.complete else ""
    return f"{len(changes.changed)} changed, {len(deleted)} deleted, {imported} imported{listing}"


def our_appointment(
    conn: psycopg.Connection, connection: dict, remote: RemoteEvent, calendar: Calendar
) -> str | None:
    """The appointment an event shows: by our mapping, or by our UID (Graph makes its own UIDs)."""
    linked = conn.execute(queries.LINK_BY_EXTERNAL_ID, [connection["id"], remote.external_id]).fetchone()
    if linked is not None:
        return linked[0]
    for event in calendar.walk("VEVENT"):
        uid = str(event.get("uid", ""))
        if uid.endswith(OUR_UID_SUFFIX):
            found = conn.execute(queries.APPOINTMENT_ID_BY_UID, [uid]).fetchone()
            return found[0] if found else None
    return None


def import_busy_time(
    conn: psycopg.Connection,
    connection: dict,
    client: CalendarClient,
    remote: RemoteEvent,
    calendar: Calendar,
    window: tuple[datetime, datetime],
    extend_from: datetime | None,
) -> bool:
    """Replace the blocks of one external event by its occurrences in `window`; False when it had
    not changed. With `extend_from` (a complete listing), an unchanged event gets its occurrences
    from then on that it lacks (those the horizon has reached since), its others left as they are."""
    known_etag = conn.execute(queries.BLOCK_ETAG, [connection["id"], remote.external_id]).fetchone()
    unchanged = remote.etag is not None and known_etag is not None and known_etag[0] == remote.etag
    since, until = window
    if unchanged:
        if extend_from is None or extend_from >= until:
            return False
        since = extend_from
    try:
        occurrences = list(busy_occurrences(connection, client, calendar, since, until))
    except ValueError as unreadable:
        log_unreadable(conn, connection, remote, unreadable)
        return False
    if not unchanged:
        conn.execute(queries.FORGET_BLOCKS, [connection["id"], remote.external_id])
    added = 0
    for starts_at, ends_at, all_day, summary in occurrences:
        added += conn.execute(
            queries.ADD_BLOCK,
            {
                "user_id": connection["user_id"],
                "connection_id": connection["id"],
                "source": connection["provider"],
                "external_id": f"{remote.external_id}#{starts_at.isoformat()}",
                "etag": remote.etag,
                "starts_at": starts_at,
                "ends_at": ends_at,
                "all_day": all_day,
                "summary": summary,
            },
        ).rowcount
    if unchanged and added == 0:
        return False
    log(conn, connection, direction="pull", action="import", external_id=remote.external_id)
    return True


def busy_occurrences(
    connection: dict, client: CalendarClient, calendar: Calendar, since: datetime, until: datetime
) -> Iterator[tuple[datetime, datetime, bool, str | None]]:
    """(start, end, all day, summary) of each occurrence between `since` and `until` that blocks."""
    zone = ZoneInfo(connection["user_timezone"])
    for occurrence in recurring_ical_events.of(calendar).between(since, until):
        if str(occurrence.get("transp", "OPAQUE")).upper() == "TRANSPARENT":
            continue  # "free" time does not block
        if str(occurrence.get("status", "")).upper() == "CANCELLED":
            continue
        if declined_by_owner(occurrence, client):
            continue
        starts_at, ends_at, all_day = instants(occurrence, zone)
        if ends_at <= starts_at:
            continue  # an instant (no DTEND or DURATION) takes no time
        yield (
            starts_at,
            ends_at,
            all_day,
            storable(str(occurrence.get("summary", "")), SUMMARY_LENGTH) or None,
        )


def log_unreadable(
    conn: psycopg.Connection, connection: dict, remote: RemoteEvent, error: ValueError
) -> None:
    """An event this pull cannot read (a server may keep whatever a client wrote: a broken date, a
    rule with no frequency): it is left as it was, and the rest of the calendar is still pulled."""
    log(
        conn,
        connection,
        direction="pull",
        action="import",
        status="failed",
        external_id=remote.external_id,
        error=storable(f"this event cannot be read, and was left as it was: {error}", ERROR_LENGTH),
    )


def declined_by_owner(occurrence: Event, client: CalendarClient) -> bool:
    """The calendar's owner answered this invitation (or this one occurrence of it) with no."""
    attendees = occurrence.get("attendee", [])
    declined = {
        attendee.email.lower()
        for attendee in (attendees if isinstance(attendees, list) else [attendees])
        if str(attendee.params.get("PARTSTAT", "")).upper() == "DECLINED"
    }
    return bool(declined) and not declined.isdisjoint(client.owner_addresses())


def write_back_if_refused(
    conn: psycopg.Connection, connection: dict, appointment_id: str, remote: RemoteEvent, app_base_url: str
) -> None:
    """A pull met our event: reconcile it, and when the calendar's edit is refused, queue the
    write of ours over it. A pull writes nothing to the calendar itself: a calendar that
    refuses our writes then fails that push, with its own retries, not the pull."""
    if not reconcile_our_event(conn, connection, appointment_id, remote, app_base_url):
        queue_push(conn, connection, "appointment_id", appointment_id)


def reconcile_our_event(
    conn: psycopg.Connection,
    connection: dict,
    appointment_id: str,
    remote: RemoteEvent,
    app_base_url: str,
) -> bool:
    """Our event as a pull finds it: an edit there of its time is taken when newer and free, else
    refused; one not edited there that missed a change of ours is pushed again.

    True when the appointment and the event now agree (same time, or the event's time applied)
    or a push of the visit is to come (queued now when our last change never reached the
    calendar); False when the calendar's edit is refused: the caller writes ours back over it
    (a pull by a push of its own, a push at once).
    """
    link = read_row(conn, queries.LINK, appointment_id, connection["id"])
    conn.execute(queries.SAVE_LINK_ETAG, [remote.etag, connection["id"], remote.external_id])
    event = next(iter(Calendar.from_ical(remote.ical).walk("VEVENT")))
    # Most events a pull sees are ours as we left them, and reading their visits takes no lock.
    # Only an event that disagrees locks its visit (read again under the lock: it may have moved
    # meanwhile), which stays locked until the sync's transaction ends, through its further calls
    # to the calendar: a patient cancelling meanwhile waits for them all.
    appointment = read_row(conn, queries.APPOINTMENT, appointment_id)
    if appointment is None:
        return True  # deleted here: its own push deletes the event
    if appointment["status"] in REMOVED_STATUSES:
        # Its cancellation never reached this calendar (the calendar could not be written through
        # every retry, or the connection was paused): the event goes, by a push of its own.
        queue_push(conn, connection, "appointment_id", appointment_id)
        return True
    if link is not None and remote.etag is not None and link["etag"] == remote.etag:
        # Not edited there. A change here since our write has its push still to come, or that
        # push failed for good (the calendar could not be written through every retry): it goes
        # again.
        if missed_a_change(link, event, appointment, connection, app_base_url):
            queue_push(conn, connection, "appointment_id", appointment_id)
        return True
    if nothing_to_reconcile(event, appointment):
        return True
    appointment = read_row(conn, queries.APPOINTMENT_FOR_UPDATE, appointment_id)
    if nothing_to_reconcile(event, appointment):
        return True
    start, end, _ = instants(event, ZoneInfo(appointment["timezone"]))
    edited = event.decoded("last-modified") if "last-modified" in event else None
    refusal = unmovable(appointment, start, edited)
    if refusal is None:
        try:
            with conn.transaction():
                conn.execute(queries.MOVE_APPOINTMENT, {"id": appointment["id"], "start": start, "end": end})
            log(conn, connection, direction="pull", action="update", appointment_id=appointment["id"])
            return True
        except psycopg.errors.ExclusionViolation:
            refusal = "is not free"
        except psycopg.errors.InvalidParameterValue as refused:  # a time the clinic does not book
            refusal = f"the clinic refuses: {refused.diag.message_primary}"
    conn.execute(queries.FORGET_PUSHED_DIGEST, [appointment["id"], connection["id"]])
    log_conflict(
        conn,
        connection,
        appointment_id=appointment["id"],
        error=f"the calendar moved it to {start.isoformat()}, which {refusal}; "
        "the appointment's time was put back",
    )
    return False


def unmovable(appointment: dict, start: datetime, edited: datetime | None) -> str | None:
    """Why a calendar's move of a visit to `start` is not taken, or None when it may be tried."""
    if edited is None or edited <= appointment["updated_at"]:
        return "is older than the appointment's last change"
    if appointment["status"] not in ("requested", "confirmed"):
        return f"is not taken: the visit is {appointment['status'].replace('_', ' ')}"
    if start <= datetime.now(UTC):
        return "has passed"
    return None


def read_row(conn: psycopg.Connection, query: str, *parameters: str) -> dict | None:
    """One row (a visit, or its link) as a dict."""
    with conn.cursor(row_factory=dict_row) as cursor:
        return cursor.execute(query, parameters).fetchone()


def missed_a_change(link: dict, event, appointment: dict, connection: dict, app_base_url: str) -> bool:
    """Our event, as we last wrote it, no longer says what the visit's event says now."""
    # Written before digests were kept, or showing an edit there we refused: by its time alone.
    if link["pushed_digest"] is None:
        return not nothing_to_reconcile(event, appointment)
    return event_digest(event_for(appointment, connection, app_base_url)) != link["pushed_digest"]


def nothing_to_reconcile(event, appointment: dict | None) -> bool:
    """The visit is gone, or the event shows its time."""
    if appointment is None:
        return True
    start, end, _ = instants(event, ZoneInfo(appointment["timezone"]))
    return (start, end) == (appointment["scheduled_start"], appointment["scheduled_end"])


def push_reconciling(
    conn: psycopg.Connection, connection: dict, client: CalendarClient, appointment_id: str, app_base_url: str
) -> str:
    """push_appointment, and when our conditional write meets a newer version there (412): read
    it, reconcile as a pull would, then write ours if it is still due."""
    try:
        return push_appointment(conn, connection, client, appointment_id, app_base_url)
    except EventChanged as changed:
        remote = client.get(changed.external_id)
    if remote is None:  # deleted there meanwhile: forget the stale link and write it afresh
        conn.execute(queries.FORGET_LINK, [appointment_id, connection["id"]])
    elif not reconcile_our_event(conn, connection, appointment_id, remote, app_base_url):
        push_appointment(conn, connection, client, appointment_id, app_base_url)
        return "reconciled: the calendar's edit was undone"
    return push_appointment(conn, connection, client, appointment_id, app_base_url)


def forget_or_restore(
    conn: psycopg.Connection, connection: dict, client: CalendarClient, external_id: str, app_base_url: str
) -> None:
    """A deleted event: the user's own stops blocking; one of our visits is put back (cancel in the
    product); one of the clinician's blocked times goes with its block."""
    if not pushes_to(connection["sync_direction"]):
        # A calendar we no longer write to: an event of ours left there ends only our link to it.
        conn.execute(
            queries.FORGET_LINKS_TO_EVENT, {"connection_id": connection["id"], "external_id": external_id}
        )
        conn.execute(queries.FORGET_BLOCKS, [connection["id"], external_id])
        log(conn, connection, direction="pull", action="delete", external_id=external_id)
        return
    block = conn.execute(queries.BLOCKED_TIME_BY_EXTERNAL_ID, [connection["id"], external_id]).fetchone()
    ours = conn.execute(queries.LINK_BY_EXTERNAL_ID, [connection["id"], external_id]).fetchone()
    if block is None and ours is None:
        conn.execute(queries.FORGET_BLOCKS, [connection["id"], external_id])
        log(conn, connection, direction="pull", action="delete", external_id=external_id)
        return
    # Graph is reported to name events created or changed outside a delta round's window as
    # removed: an event of ours is read before its removal is acted on, and one still there is
    # taken as changed (moved out of the window there, or not changed at all).
    still_there = client.get(external_id)
    if still_there is not None:
        if block is not None:
            pull_blocked_time(conn, connection, str(block[0]), still_there)
        else:
            write_back_if_refused(conn, connection, ours[0], still_there, app_base_url)
        return
    if block is not None:
        remove_deleted_blocked_time(conn, connection, block[0], external_id)
        return
    # Written afresh, by a push of its own: a write conditional on the deleted version would be
    # refused (412).
    conn.execute(queries.FORGET_LINK, [ours[0], connection["id"]])
    queue_push(conn, connection, "appointment_id", ours[0])
    log_conflict(
        conn,
        connection,
        appointment_id=ours[0],
        error="deleted in the calendar and put back: visits are cancelled in the clinic's app",
        external_id=external_id,
    )
