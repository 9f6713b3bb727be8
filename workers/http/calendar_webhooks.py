"""Google's notices of changes to a watched calendar (its push notifications): each queues a pull
of that calendar (scheduling_private.calendar_changed), which reads what changed.

A notice is a POST with an empty body; the headers say which channel (`X-Goog-Channel-ID`), the
token we gave it (`X-Goog-Channel-Token`) and what happened (`X-Goog-Resource-State`: `sync`
once, when the channel opens; `exists` for a change). Google counts a 2xx as delivered, retries
after a 5xx and gives up on anything else.
"""

from __future__ import annotations

import uuid

from starlette.requests import Request
from starlette.responses import PlainTextResponse

from workers import queries
from workers.database import Database

ANSWERS = {"unknown channel": 404, "wrong token": 403}


def google_calendar_webhook_endpoint(database: Database, google_configured: bool):
    def google_calendar_webhook(request: Request) -> PlainTextResponse:
        if not google_configured:
            return PlainTextResponse("Google calendars are not configured", status_code=404)
        state = request.headers.get("X-Goog-Resource-State")
        try:
            channel = uuid.UUID(request.headers.get("X-Goog-Channel-ID", ""))
        except ValueError:
            return PlainTextResponse("unknown channel", status_code=404)  # not one of ours
        if state is None:
            return PlainTextResponse("X-Goog-Resource-State is missing", status_code=400)
        if state == "sync":  # the channel has opened: nothing has changed yet
            return PlainTextResponse("ok")
        with database.connect() as conn:
            outcome = conn.execute(
                queries.CALENDAR_CHANGED, [channel, request.headers.get("X-Goog-Channel-Token")]
            ).fetchone()[0]
        return PlainTextResponse(outcome, status_code=ANSWERS.get(outcome, 200))

    return google_calendar_webhook
