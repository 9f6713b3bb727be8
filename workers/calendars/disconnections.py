"""Letting go of a disconnected calendar at its provider: its notification channel (Google) or
subscription (Graph) is closed, and Google's permission for this app is revoked unless another
connection still uses it. The connection's row and secret are gone already; what closing needs
was kept for this job by the delete (20261231040000) and is forgotten once it is done.
"""

from __future__ import annotations

from datetime import UTC, datetime

import psycopg
from psycopg.rows import dict_row

from workers.calendars import queries
from workers.calendars.connections import CLIENTS
from workers.calendars.provider import ReconnectNeeded
from workers.calendars.watches import WatchRefused
from workers.provider_rests import did_not_answer
from workers.retry import RetryLater
from workers.settings import Settings

# The providers where a disconnected calendar leaves something to close (CalDAV: nothing, its app
# password is revoked where it was made).
LEFT_OPEN_BY_A_DISCONNECT = ("google", "microsoft")


def handle_calendar_disconnect(conn: psycopg.Connection, job: dict, settings: Settings) -> str:
    connection_id = job["payload"]["connection_id"]
    with conn.cursor(row_factory=dict_row) as cursor:
        left = cursor.execute(queries.DISCONNECTION, [connection_id]).fetchone()
    if left is None:
        return "skipped: nothing was left open"
    # Before anything is closed: a wait for a sign-in under way would have it closed twice.
    revoking = left["provider"] == "google" and not google_permission_in_use(conn, left)
    secret = settings.secret_box.open(connection_id, left["key_id"], left["sealed"])
    client = CLIENTS[left["provider"]](left, secret, settings)
    try:
        outcomes = [close_channel(client, left)]
        if revoking:
            outcomes.append(
                "Google permission revoked" if client.revoke() else "Google permission withdrawn already"
            )
        elif left["provider"] == "google":
            outcomes.append("Google permission kept: another calendar connected from the account uses it")
    finally:
        client.close()
    conn.execute(queries.FORGET_DISCONNECTION, [connection_id])
    return "; ".join(outcome for outcome in outcomes if outcome)


def close_channel(client, left: dict) -> str:
    """Closes the channel the calendar had open; a provider that does not answer has the job
    tried again, one that refuses leaves the channel to its expiry (its notices find no channel
    here meanwhile)."""
    if left["channel_id"] is None:
        return ""
    try:
        client.stop_watching(str(left["channel_id"]), left["resource_id"])
    except WatchRefused as refused:
        cause = refused.__cause__
        if isinstance(cause, RetryLater) or did_not_answer(cause):
            raise cause from refused
        if isinstance(cause, ReconnectNeeded):
            return "channel left to its expiry: the permission was withdrawn already"
        return f"channel left to its expiry: {refused}"
    return "channel closed"


def google_permission_in_use(conn: psycopg.Connection, left: dict) -> bool:
    """Google keeps one permission per account and app, which every calendar connected from that
    account shares: it is revoked only when none is connected any more, and not while the same
    person is signing in to Google again (their new tokens would be of the same permission:
    RetryLater until that sign-in has ended)."""
    with conn.cursor(row_factory=dict_row) as cursor:
        in_use = cursor.execute(
            queries.GOOGLE_PERMISSION_IN_USE,
            {"google_account": left["account"].get("google_account"), "user_id": left["user_id"]},
        ).fetchone()
    if in_use["connected"]:
        return True
    open_until = in_use["sign_in_open_until"]
    if open_until is not None and open_until > datetime.now(UTC):
        raise RetryLater(
            "a sign-in to Google of the same person is under way: revoking once it has ended",
            (open_until - datetime.now(UTC)).total_seconds(),
        )
    return False
