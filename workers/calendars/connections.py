"""Opening a connected calendar: its row, its secret unsealed, and a client for its provider."""

from __future__ import annotations

from collections.abc import Callable

import psycopg
from psycopg.rows import dict_row

from workers.calendars import queries
from workers.calendars.caldav_client import CalDAVCalendar
from workers.calendars.provider import CalendarClient
from workers.calendars.secrets import SecretBox

ClientFactory = Callable[[dict, dict], CalendarClient]


def caldav_client(connection: dict, secret: dict) -> CalendarClient:
    account = connection["account"]
    return CalDAVCalendar(
        account["server_url"], account["username"], secret["password"], connection["calendar_id"]
    )


CLIENTS: dict[str, ClientFactory] = {"caldav": caldav_client}


def open_connection(
    conn: psycopg.Connection, connection_id: str, box: SecretBox
) -> tuple[dict, CalendarClient] | None:
    """The connection (locked for this transaction) and a client for it; None if gone or paused."""
    with conn.cursor(row_factory=dict_row) as cursor:
        connection = cursor.execute(queries.CONNECTION, [connection_id]).fetchone()
    if connection is None or not connection["sync_enabled"]:
        return None
    secret = box.open(connection["id"], connection["key_id"], connection["sealed"])
    return connection, CLIENTS[connection["provider"]](connection, secret)


def log(conn: psycopg.Connection, connection: dict, **entry: object) -> None:
    """One calendar_sync_log row: direction, action, status, appointment_id, external_id, error."""
    conn.execute(
        queries.LOG,
        {
            "connection_id": connection["id"],
            "user_id": connection["user_id"],
            "appointment_id": entry.get("appointment_id"),
            "direction": entry["direction"],
            "action": entry["action"],
            "status": entry.get("status", "success"),
            "external_id": entry.get("external_id"),
            "error": entry.get("error"),
        },
    )
