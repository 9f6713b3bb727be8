"""The job handlers of calendar sync: one push (an appointment or a blocked time -> calendar) or one
pull per job."""

from __future__ import annotations

import psycopg

from workers.calendars import queries
from workers.calendars.blocked_time import push_blocked_time
from workers.calendars.connections import log, opened_calendar
from workers.calendars.provider import (
    CalendarClient,
    ReconnectNeeded,
    StoppedPulling,
    pulls_from,
    pushes_to,
)
from workers.calendars.pull import pull_changes, push_reconciling
from workers.calendars.watches import keep_watching
from workers.settings import Settings
from workers.storable import ERROR_LENGTH, storable


def handle_calendar_job(conn: psycopg.Connection, job: dict, settings: Settings) -> str:
    payload = job["payload"]
    with opened_calendar(conn, payload["connection_id"], settings) as opened:
        if opened is None:
            return "skipped: the connection is gone or paused"
        connection, client = opened
        pushing = job["kind"].startswith("calendar_push_")
        try:
            # A savepoint: when the owner removes the connection while the calendar is being asked,
            # the sync's writes about it fail (their foreign keys), and only they are undone.
            with conn.transaction():
                return sync(conn, connection, client, payload, pushing, settings)
        except StoppedPulling:
            return "skipped: the owner stopped pulling this calendar during the sync"
        except ReconnectNeeded as refused:
            return pause_for_reconnect(conn, connection, refused, pushing, payload.get("appointment_id"))
        except psycopg.errors.ForeignKeyViolation:
            if conn.execute(queries.CONNECTION_EXISTS, [connection["id"]]).fetchone()[0]:
                raise
            return "skipped: the connection was removed during the sync"


def sync(
    conn: psycopg.Connection,
    connection: dict,
    client: CalendarClient,
    payload: dict,
    pushing: bool,
    settings: Settings,
) -> str:
    # Queued before the owner changed the calendar's direction.
    if pushing and not pushes_to(connection["sync_direction"]):
        return "skipped: this calendar no longer receives visits"
    if not pushing and not pulls_from(connection["sync_direction"]):
        return "skipped: this calendar is no longer pulled"
    if pushing and "blocked_time_id" in payload:
        return push_blocked_time(conn, connection, client, payload["blocked_time_id"])
    if pushing:
        return push_reconciling(conn, connection, client, payload["appointment_id"], settings.app_base_url)
    pulled = pull_changes(conn, connection, client, settings.app_base_url)
    return pulled + keep_watching(conn, connection, client, settings.public_base_url)


def pause_for_reconnect(
    conn: psycopg.Connection,
    connection: dict,
    refused: ReconnectNeeded,
    pushing: bool,
    appointment_id: str | None,
) -> str:
    """Retrying cannot help: pause the connection until the user connects it again."""
    message = storable(f"reconnect needed: {refused}", ERROR_LENGTH)
    paused = conn.execute(
        queries.PAUSE_FOR_RECONNECT,
        {"id": connection["id"], "error": message, "refused": connection["sealed"]},
    ).fetchone()
    if paused is None:
        return "skipped: connected again, or removed, during the sync"
    log(
        conn,
        connection,
        direction="push" if pushing else "pull",
        action="update" if pushing else "full_sync",
        status="failed",
        appointment_id=appointment_id,
        error=message,
    )
    return message
