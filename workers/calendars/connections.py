"""Opening a connected calendar: its row, its secret unsealed, and a client for its provider."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from workers.calendars import queries
from workers.calendars.caldav_client import CalDAVCalendar
from workers.calendars.google_client import GoogleCalendar
from workers.calendars.microsoft_client import MicrosoftCalendar
from workers.calendars.provider import CalendarClient
from workers.outbound import refuse_private_destination
from workers.retry import RetryLater
from workers.settings import Settings

ClientFactory = Callable[[dict, dict, Settings], CalendarClient]


def caldav_client(connection: dict, secret: dict, settings: Settings) -> CalendarClient:
    account = connection["account"]
    # Checked on every sync, not only at connect: a name may resolve elsewhere since. A refusal
    # fails the job as an unreachable server would, and it is retried and logged as one.
    for url in (account["server_url"], connection["calendar_id"]):
        refuse_private_destination(url, settings.private_hosts_allowed)
    return CalDAVCalendar(
        account["server_url"],
        account["username"],
        secret["password"],
        connection["calendar_id"],
        settings,
        # Connections made before it was remembered negotiate it, as every client did then.
        account.get("auth_type"),
    )


def google_client(connection: dict, secret: dict, settings: Settings) -> CalendarClient:
    return GoogleCalendar(
        settings.google, secret, connection["calendar_id"], settings.calendar_timeout_seconds
    )


def microsoft_client(connection: dict, secret: dict, settings: Settings) -> CalendarClient:
    return MicrosoftCalendar(
        settings.microsoft,
        secret,
        connection["calendar_id"],
        settings.calendar_timeout_seconds,
    )


CLIENTS: dict[str, ClientFactory] = {
    "caldav": caldav_client,
    "google": google_client,
    "microsoft": microsoft_client,
}


def providers_configured(settings: Settings) -> list[str]:
    """The providers this worker can sync: all need the secret key; Google and Microsoft their app."""
    if settings.secret_box is None:
        return []
    configured = {"caldav": True, "google": settings.google, "microsoft": settings.microsoft}
    return [provider for provider, ready in configured.items() if ready]


def open_connection(
    conn: psycopg.Connection, connection_id: str, settings: Settings, wait: bool = True
) -> tuple[dict, CalendarClient] | None:
    """The connection and a client for it, this connection's turn taken for the transaction; None
    if gone or paused. Without `wait`, a turn another job holds is RetryLater."""
    if wait:
        conn.execute(queries.TAKE_CONNECTION_TURN, [connection_id])
    elif not conn.execute(queries.TRY_CONNECTION_TURN, [connection_id]).fetchone()[0]:
        raise RetryLater("the calendar is being synced: trying again once that sync has ended")
    with conn.cursor(row_factory=dict_row) as cursor:
        connection = cursor.execute(queries.CONNECTION, [connection_id]).fetchone()
    if connection is None or not connection["sync_enabled"]:
        return None
    secret = settings.secret_box.open(connection["id"], connection["key_id"], connection["sealed"])
    return connection, CLIENTS[connection["provider"]](connection, secret, settings)


@contextmanager
def opened_calendar(
    conn: psycopg.Connection, connection_id: str, settings: Settings, wait: bool = True
) -> Iterator:
    """`open_connection` for a `with` block: tokens the client refreshed are sealed again (also
    when the block fails) and its HTTP session is closed."""
    opened = open_connection(conn, connection_id, settings, wait)
    if opened is None:
        yield None
        return
    connection, client = opened
    try:
        yield connection, client
    finally:
        if (secret := client.updated_secret()) is not None:
            reseal_secret(conn, settings, connection, secret)
        client.close()


def save_secret(
    conn: psycopg.Connection, settings: Settings, connection_id: str, secret: dict, account: dict
):
    """Seal the secret with the current key and store it with the account it belongs to."""
    key_id, sealed = settings.secret_box.seal(str(connection_id), secret)
    conn.execute(
        queries.SAVE_SECRET,
        {"id": connection_id, "key_id": key_id, "sealed": sealed, "account": Jsonb(account)},
    )


def reseal_secret(conn: psycopg.Connection, settings: Settings, connection: dict, secret: dict) -> None:
    """Keep tokens the client refreshed, unless the owner has connected again since they were read
    (their new secret is the one to keep)."""
    key_id, sealed = settings.secret_box.seal(str(connection["id"]), secret)
    conn.execute(
        queries.RESEAL_SECRET,
        {"id": connection["id"], "key_id": key_id, "sealed": sealed, "opened": connection["sealed"]},
    )


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


def log_conflict(
    conn: psycopg.Connection,
    connection: dict,
    *,
    error: str,
    appointment_id: str | None = None,
    external_id: str | None = None,
) -> None:
    """A change made in the calendar that we undid: the user sees why in the sync log."""
    log(
        conn,
        connection,
        direction="pull",
        action="conflict",
        status="skipped",
        appointment_id=appointment_id,
        external_id=external_id,
        error=error,
    )
