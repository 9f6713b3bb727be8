"""Zoom's event webhook: the endpoint check, and recordings of visits when Zoom has them.

Zoom signs each event: `x-zm-signature` = `v0=` + hex HMAC-SHA256, keyed with the app's secret
token, of `v0:{x-zm-request-timestamp}:{raw body}`. The endpoint check (`endpoint.url_validation`)
is answered with the plain token and its HMAC, which only the holder of the secret can make.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import datetime

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from workers import queries
from workers.database import Database

# A signed event older than this is refused, so a captured one cannot be replayed later.
MAX_AGE_SECONDS = 300


def signature(secret: str, message: str) -> str:
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def zoom_webhook_endpoint(database: Database, secret: str | None):
    async def zoom_webhook(request: Request) -> Response:
        if secret is None:
            return Response("Zoom events are not configured", status_code=404)
        raw = await request.body()
        try:
            event = json.loads(raw)
        except ValueError:
            return Response("send JSON", status_code=400)
        if event.get("event") == "endpoint.url_validation":
            plain = str(event.get("payload", {}).get("plainToken", ""))
            return JSONResponse({"plainToken": plain, "encryptedToken": signature(secret, plain)})
        timestamp = request.headers.get("x-zm-request-timestamp", "")
        expected = "v0=" + signature(secret, f"v0:{timestamp}:{raw.decode()}")
        if not hmac.compare_digest(expected, request.headers.get("x-zm-signature", "")):
            return Response("invalid signature", status_code=401)
        if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > MAX_AGE_SECONDS:
            return Response("stale event", status_code=401)
        if event.get("event") == "recording.completed":
            save_recording(database, event["payload"]["object"])
        return Response(status_code=204)  # other events: nothing of ours to update

    return zoom_webhook


def save_recording(database: Database, meeting: dict) -> None:
    files = meeting.get("recording_files", [])
    starts = [datetime.fromisoformat(f["recording_start"]) for f in files if f.get("recording_start")]
    ends = [datetime.fromisoformat(f["recording_end"]) for f in files if f.get("recording_end")]
    with database.connect() as conn:
        conn.execute(
            queries.SAVE_RECORDING,
            {
                "meeting_id": str(meeting["id"]),
                "url": meeting.get("share_url"),
                "started_at": min(starts, default=None),
                "ended_at": max(ends, default=None),
            },
        )
