"""Twilio's webhooks: replies to our texts (`POST /webhooks/twilio/sms`) and reports of whether a
reminder's text reached the phone (`POST /webhooks/twilio/status`, the StatusCallback the worker
gives each reminder it texts). Twilio signs each request (`X-Twilio-Signature`, an HMAC of the URL
it called and the form, keyed with the account's auth token), checked with the SDK's
RequestValidator; an unsigned or wrongly signed request gets 403.
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from workers import queries
from workers.database import Database
from workers.notifications.sms import SMS_STATUS_PATH, TextState
from workers.notifications.sms_delivery import record_text_state
from workers.settings import Settings

SMS_WEBHOOK_PATH = "/webhooks/twilio/sms"


async def signed_message_form(request: Request, settings: Settings, path: str) -> dict | Response:
    """The request's form when Twilio signed it and it names its message, else the answer to give."""
    if settings.twilio is None:
        return Response("SMS is not configured", status_code=404)
    params = dict(await request.form())
    # Twilio signs the URL it called; behind a proxy that is the public one, not ours.
    url = f"{settings.public_base_url}{path}" if settings.public_base_url else str(request.url)
    validator = RequestValidator(settings.twilio.auth_token)
    if not validator.validate(url, params, request.headers.get("X-Twilio-Signature", "")):
        return Response("invalid signature", status_code=403)
    if not params.get("MessageSid"):
        return Response("MessageSid is missing", status_code=400)
    return params


def inbound_sms_endpoint(database: Database, settings: Settings):
    async def inbound_sms(request: Request) -> Response:
        params = await signed_message_form(request, settings, SMS_WEBHOOK_PATH)
        if isinstance(params, Response):
            return params
        reply = MessagingResponse()
        answer = await run_in_threadpool(answered, params)
        if answer is not None:  # None for an opt-out or opt-in word: Twilio answers those itself
            reply.message(answer)
        return Response(str(reply), media_type="application/xml")

    def answered(params: dict) -> str | None:
        with database.connect() as conn:
            # The SID makes a second delivery of the message get the first's answer and change nothing.
            return conn.execute(
                queries.HANDLE_SMS_REPLY, [params.get("From"), params.get("Body"), params["MessageSid"]]
            ).fetchone()[0]

    return inbound_sms


def sms_status_endpoint(database: Database, settings: Settings):
    """Twilio posts each state a text passes (queued, sent, delivered, undelivered, failed...);
    the final ones are recorded on the reminder (scheduling_private.sms_delivery_reported).
    Answered 200 with what was done, also for a text that is not a reminder's: Twilio only looks
    at the status."""

    def reported(params: dict) -> str:
        state = TextState(
            to=params.get("To"), status=params.get("MessageStatus"), error_code=params.get("ErrorCode")
        )
        with database.connect() as conn:
            return record_text_state(conn, params["MessageSid"], state)

    async def sms_status(request: Request) -> Response:
        params = await signed_message_form(request, settings, SMS_STATUS_PATH)
        if isinstance(params, Response):
            return params
        return Response(await run_in_threadpool(reported, params), media_type="text/plain")

    return sms_status
