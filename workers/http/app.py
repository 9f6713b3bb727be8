"""One ASGI app (Starlette) for the endpoints providers call; run with `scheduling web`."""

from __future__ import annotations

import psycopg
from psycopg.rows import dict_row
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from workers import queries
from workers.calendars.watches import webhook_path
from workers.database import Database
from workers.http.access_tokens import AccessTokens
from workers.http.body_limit import LimitBodySize
from workers.http.calendar_connect import connect_caldav_endpoint
from workers.http.calendar_oauth import (
    calendar_choices_endpoint,
    confirm_oauth_endpoint,
    oauth_callback_endpoint,
    start_oauth_endpoint,
)
from workers.http.calendar_webhooks import (
    google_calendar_webhook_endpoint,
    microsoft_calendar_webhook_endpoint,
)
from workers.http.health import database_health_endpoint, job_health_endpoint
from workers.http.ics_feed import feed_calendar
from workers.http.twilio_webhooks import SMS_WEBHOOK_PATH, inbound_sms_endpoint, sms_status_endpoint
from workers.http.zoom_webhook import zoom_webhook_endpoint
from workers.notifications.sms import SMS_STATUS_PATH
from workers.settings import Settings


def database_too_slow(_: Request, error: Exception) -> JSONResponse:
    """A statement that met its time limit (waiting for a lock nobody lets go of, say): nothing
    was changed, and the caller may try again."""
    return JSONResponse(
        {"error": "the database did not answer in time; nothing was changed, try again"},
        status_code=503,
        headers={"Retry-After": "5"},
    )


def database_unavailable(_: Request, error: Exception) -> JSONResponse:
    """The database refused or dropped the connection or did not answer within the connect
    timeout (a failover, an outage), or gave up the transaction (a deadlock, shutting down):
    each passes, so the caller may try again, where it would otherwise get a bare 500."""
    return JSONResponse(
        {"error": "the database could not complete the request (unreachable, restarting or busy); try again"},
        status_code=503,
        headers={"Retry-After": "5"},
    )


def create_app(database_url: str, settings: Settings) -> Starlette:
    database = Database(database_url, settings.web_statement_timeout_seconds)
    # One for every connect endpoint: it keeps the project's published signing keys once fetched.
    tokens = AccessTokens(settings.jwt_secret, settings.supabase_url, settings.provider_timeout_seconds)

    def ics_feed(request: Request) -> Response:
        token = request.path_params["token"]
        with database.connect(row_factory=dict_row) as conn:
            if not conn.execute(queries.ICS_FEED_EXISTS, [token]).fetchone()["exists"]:
                return Response("no such calendar feed", status_code=404)
            appointments = conn.execute(queries.ICS_FEED_APPOINTMENTS, [token]).fetchall()
            blocked_time = conn.execute(queries.ICS_FEED_BLOCKED_TIME, [token]).fetchall()
        return Response(
            feed_calendar(appointments, blocked_time, settings.app_base_url),
            media_type="text/calendar; charset=utf-8",
            headers={"Cache-Control": "private, max-age=300"},
        )

    return Starlette(
        middleware=[Middleware(LimitBodySize)],
        # The most specific class wins: QueryCanceled is an OperationalError too.
        exception_handlers={
            psycopg.errors.QueryCanceled: database_too_slow,
            psycopg.OperationalError: database_unavailable,
        },
        routes=[
            Route("/health", database_health_endpoint(database), methods=["GET"]),
            Route("/health/jobs", job_health_endpoint(database, settings), methods=["GET"]),
            Route(SMS_WEBHOOK_PATH, inbound_sms_endpoint(database, settings), methods=["POST"]),
            Route(SMS_STATUS_PATH, sms_status_endpoint(database, settings), methods=["POST"]),
            Route("/ics/{token}.ics", ics_feed, methods=["GET"]),
            Route(
                "/webhooks/zoom",
                zoom_webhook_endpoint(database, settings.zoom_webhook_secret),
                methods=["POST"],
            ),
            Route(
                webhook_path("google"),
                google_calendar_webhook_endpoint(database, settings.google is not None),
                methods=["POST"],
            ),
            Route(
                webhook_path("microsoft"),
                microsoft_calendar_webhook_endpoint(database, settings.microsoft is not None),
                methods=["POST"],
            ),
            Route(
                "/calendar/connect/caldav",
                connect_caldav_endpoint(database, settings, tokens),
                methods=["POST"],
            ),
            Route(
                "/calendar/connect/{provider}",
                start_oauth_endpoint(database, settings, tokens),
                methods=["POST"],
            ),
            Route(
                "/calendar/connect/{provider}/calendars",
                calendar_choices_endpoint(database, settings, tokens),
                methods=["POST"],
            ),
            Route(
                "/calendar/connect/{provider}/confirm",
                confirm_oauth_endpoint(database, settings, tokens),
                methods=["POST"],
            ),
            Route(
                "/calendar/callback/{provider}",
                oauth_callback_endpoint(database, settings),
                methods=["GET", "POST"],
            ),
        ],
    )
