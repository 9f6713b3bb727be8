"""Calendars that tell us of their changes (Google's push notifications, Microsoft Graph's change
notifications): after each pull the worker keeps a notification channel (at Graph, a
subscription) open for the calendar, so that an event made there is pulled within seconds
instead of at the next 15-minute pull. The provider posts each change to `scheduling web`
(workers/http/calendar_webhooks.py), which queues the pull.
"""

from __future__ import annotations

import contextlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol, runtime_checkable

import psycopg
from psycopg.rows import dict_row

from workers.calendars import queries
from workers.storable import ERROR_LENGTH, storable

# What we ask a channel to last; the provider may answer with less (or take less: Graph's
# subscriptions to events last under 7 days), which is what we keep.
WATCH_FOR = timedelta(days=7)
# A channel is replaced at the first pull within a day of its end (pulls come every 15 minutes),
# or within half its life of it when the provider gave it less than two days.
RENEW_BEFORE = timedelta(days=1)
# After the provider refused to open one: pulls go on, and a channel is asked for again then.
ASK_AGAIN_AFTER_REFUSAL = timedelta(hours=1)


def renew_before(channel: dict) -> timedelta:
    """How long before its end an open channel is replaced: a day, or half its life if shorter,
    so that a provider giving short lives does not have one opened at every pull."""
    return min(RENEW_BEFORE, (channel["expires_at"] - channel["opened_at"]) / 2)


def webhook_path(provider: str) -> str:
    """Where `scheduling web` takes the provider's notices."""
    return f"/webhooks/{provider}/calendar"


@dataclass(frozen=True)
class Watch:
    resource_id: str  # the provider's id of what is watched: stopping the channel needs it
    expires_at: datetime


class WatchRefused(RuntimeError):
    """The provider did not open (or stop) a channel; the pull it follows stands all the same."""


@runtime_checkable
class Watchable(Protocol):
    def watch(self, address: str, channel_id: str, token: str, until: datetime) -> Watch:
        """Opens a channel posting every change of the calendar to `address`, with `channel_id`
        and `token` in each notice, lasting until `until` or as long as the provider allows."""

    def stop_watching(self, channel_id: str, resource_id: str) -> None:
        """Closes a channel opened before."""


@runtime_checkable
class Renewable(Protocol):
    """A provider that may ask for a channel to be renewed (Graph's reauthorizationRequired)."""

    def renew(self, resource_id: str, until: datetime) -> datetime:
        """Extends an open channel to `until`, or as long as the provider allows; its new end."""


def keep_watching(
    conn: psycopg.Connection, connection: dict, client: object, public_base_url: str | None
) -> str:
    """After a pull: opens a channel for the calendar when it has none, or one near its end (see
    renew_before), and closes the one it replaces; renews one the provider asked to have renewed,
    or replaces it when the renewal is refused. Returns what to add to the job's outcome."""
    if public_base_url is None or not isinstance(client, Watchable):
        return ""
    now = datetime.now(UTC)
    with conn.cursor(row_factory=dict_row) as cursor:
        current = cursor.execute(queries.WATCH, [connection["id"]]).fetchone() or {}
    if current.get("expires_at") and current["expires_at"] > now + renew_before(current):
        if not current["renewal_asked_at"] or not isinstance(client, Renewable):
            return ""
        with contextlib.suppress(WatchRefused):  # refused: a new channel replaces it, below
            return renew(conn, connection, client, current, now)
    if current.get("refused_at") and current["refused_at"] > now - ASK_AGAIN_AFTER_REFUSAL:
        return ""
    channel_id, token = uuid.uuid4(), secrets.token_urlsafe(32)
    try:
        address = f"{public_base_url}{webhook_path(connection['provider'])}"
        watch = client.watch(address, str(channel_id), token, now + WATCH_FOR)
    except WatchRefused as refused:
        refusal = storable(str(refused), ERROR_LENGTH)
        conn.execute(queries.RECORD_WATCH_REFUSAL, {"connection_id": connection["id"], "refusal": refusal})
        return f"; no notification channel: {refusal}"
    conn.execute(
        queries.SAVE_WATCH,
        {
            "connection_id": connection["id"],
            "channel_id": channel_id,
            "resource_id": watch.resource_id,
            "token": token,
            "expires_at": watch.expires_at,
        },
    )
    if current.get("channel_id"):
        # Left open, it ends at its expiry anyway; its notices meanwhile find no channel here.
        with contextlib.suppress(WatchRefused):
            client.stop_watching(str(current["channel_id"]), current["resource_id"])
    return f"; notification channel open until {watch.expires_at:%Y-%m-%d %H:%M} UTC"


def renew(conn: psycopg.Connection, connection: dict, client: Renewable, current: dict, now: datetime) -> str:
    """Extends the open channel (raises WatchRefused when the provider will not: the caller then
    opens a new one)."""
    expires_at = client.renew(current["resource_id"], now + WATCH_FOR)
    conn.execute(
        queries.SAVE_RENEWAL,
        {
            "connection_id": connection["id"],
            "channel_id": current["channel_id"],
            "expires_at": expires_at,
            "asked_at": current["renewal_asked_at"],
        },
    )
    return f"; notification channel renewed until {expires_at:%Y-%m-%d %H:%M} UTC"
