"""The notices Google and Microsoft Graph post of changes to a watched calendar: each queues a
pull of that calendar (scheduling_private.calendar_changed), which reads what changed; and
Graph's notices of a subscription itself (scheduling_private.calendar_subscription_event). A
notice says which channel it comes through and carries the channel's token (see
workers/calendars/watches.py); a forged one can cost a pull, no more.
"""

from __future__ import annotations

import json
import uuid

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from workers import queries
from workers.database import Database

ANSWERS = {"unknown channel": 404, "wrong token": 403}


def calendar_changed(database: Database, channel: uuid.UUID, token: str | None) -> str:
    with database.connect() as conn:
        return conn.execute(queries.CALENDAR_CHANGED, [channel, token]).fetchone()[0]


def channel_id(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text)
    except ValueError:
        return None


def graph_notices(database: Database, notices: list[tuple[str, str | None]]) -> list[str]:
    """What each of a body's Graph notices did: (clientState, lifecycleEvent or None for a
    change). A clientState is our channel id, a dot, the channel's token; Graph sends many notices
    of one calendar together, which all ask for the same pull, so each is looked at once, on one
    connection."""
    outcomes = {}
    with database.connect() as conn:
        for notice in dict.fromkeys(notices):
            state, lifecycle_event = notice
            channel_text, _, token = state.partition(".")
            channel = channel_id(channel_text)
            if channel is None:
                outcomes[notice] = "unknown channel"
            elif lifecycle_event is None:
                outcomes[notice] = conn.execute(queries.CALENDAR_CHANGED, [channel, token]).fetchone()[0]
            else:
                outcomes[notice] = conn.execute(
                    queries.CALENDAR_SUBSCRIPTION_EVENT, [channel, token, lifecycle_event]
                ).fetchone()[0]
    return [outcomes[notice] for notice in notices]


def lifecycle_event(notification: dict) -> str | None:
    event = notification.get("lifecycleEvent")
    return None if event is None else str(event)


def google_calendar_webhook_endpoint(database: Database, google_configured: bool):
    """Google's notice is a POST with an empty body; the headers say which channel
    (`X-Goog-Channel-ID`), the token we gave it (`X-Goog-Channel-Token`) and what happened
    (`X-Goog-Resource-State`: `sync` once, when the channel opens; `exists` for a change)."""

    def google_calendar_webhook(request: Request) -> PlainTextResponse:
        if not google_configured:
            return PlainTextResponse("Google calendars are not configured", status_code=404)
        state = request.headers.get("X-Goog-Resource-State")
        channel = channel_id(request.headers.get("X-Goog-Channel-ID", ""))
        if channel is None:
            return PlainTextResponse("unknown channel", status_code=404)  # not one of ours
        if state is None:
            return PlainTextResponse("X-Goog-Resource-State is missing", status_code=400)
        if state == "sync":  # the channel has opened: nothing has changed yet
            return PlainTextResponse("ok")
        outcome = calendar_changed(database, channel, request.headers.get("X-Goog-Channel-Token"))
        return PlainTextResponse(outcome, status_code=ANSWERS.get(outcome, 200))

    return google_calendar_webhook


def microsoft_calendar_webhook_endpoint(database: Database, microsoft_configured: bool):
    """Graph first checks the address when a subscription is made: a POST with `validationToken`
    in the query, answered within 10 s with that token as plain text, or the subscription is
    refused. Its notices then come as JSON, `{"value": [notification, ...]}`, each with the
    `clientState` we gave the subscription: our channel id, a dot, its token. Notices of the
    subscription itself (its lifecycle: `subscriptionRemoved`, `reauthorizationRequired`,
    `missed`) come to the same address, told apart by their `lifecycleEvent`. Graph wants a 2xx
    within 3 s and retries anything else for up to 4 hours, so every notice of a readable body is
    answered 202, with what each did; those that are not ours queue nothing."""

    async def microsoft_calendar_webhook(request: Request) -> Response:
        if not microsoft_configured:
            return PlainTextResponse("Outlook calendars are not configured", status_code=404)
        if "validationToken" in request.query_params:
            return PlainTextResponse(request.query_params["validationToken"])
        try:
            notifications = json.loads(await request.body())["value"]
            notices = [
                (str(notification.get("clientState", "")), lifecycle_event(notification))
                for notification in notifications
            ]
        except (ValueError, KeyError, TypeError, AttributeError):
            return PlainTextResponse('send {"value": [notification, ...]}', status_code=400)
        outcomes = await run_in_threadpool(graph_notices, database, notices)
        return JSONResponse({"outcomes": outcomes}, status_code=202)

    return microsoft_calendar_webhook
