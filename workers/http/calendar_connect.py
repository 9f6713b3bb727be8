"""Connecting a calendar from the dashboard, as the signed-in user (their Supabase JWT).

- POST /calendar/connect/caldav {"username", "password", "server_url"?, "calendar_url"?,
  "sync_direction"?}: the credentials are tried against the server before anything is saved.
- POST /calendar/connect/{google|microsoft} {"sync_direction"?} answers {"authorization_url"};
  the dashboard sends the browser there, and the provider sends it back to
  /calendar/callback/{provider} (GET from Google, a form POST from Microsoft), which saves the
  connection and redirects to the app.

Passwords and tokens are sealed with the worker's key and stored where no API role can read them.
"""

from __future__ import annotations

from urllib.parse import urlencode

import jwt
import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse

from workers.calendars import queries
from workers.calendars.caldav_client import ICLOUD_URL, calendars_of
from workers.calendars.connections import save_secret
from workers.calendars.oauth import ConnectRefused, oauth_flows
from workers.calendars.provider import ReconnectNeeded
from workers.settings import Settings

DIRECTIONS = ("two_way", "to_external", "from_external")


def error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def signed_in_user(request: Request, jwt_secret: str) -> str | None:
    """The user id of a valid Supabase access token in the Authorization header, else None."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        return None
    try:
        claims = jwt.decode(token, jwt_secret, algorithms=["HS256"], audience="authenticated")
    except jwt.InvalidTokenError:
        return None
    return claims.get("sub") if claims.get("role") == "authenticated" else None


async def signed_in_request(request: Request, settings: Settings) -> tuple[str, dict] | JSONResponse:
    """(user id, JSON body) of a connect request, or the error answer."""
    if settings.jwt_secret is None or settings.secret_box is None:
        return error(404, "calendar connections are not configured on this server")
    user_id = signed_in_user(request, settings.jwt_secret)
    if user_id is None:
        return error(401, "sign in first: send your Supabase access token as a Bearer token")
    try:
        body = await request.json() if await request.body() else {}
    except ValueError:
        return error(400, "send a JSON object")
    if not isinstance(body, dict):
        return error(400, "send a JSON object")
    if body.get("sync_direction", "two_way") not in DIRECTIONS:
        return error(400, "sync_direction is one of " + ", ".join(DIRECTIONS))
    return user_id, body


def connect_caldav_endpoint(database_url: str, settings: Settings):
    async def connect_caldav(request: Request) -> JSONResponse:
        checked = await signed_in_request(request, settings)
        if isinstance(checked, JSONResponse):
            return checked
        user_id, body = checked
        username, password = body.get("username"), body.get("password")
        server_url = body.get("server_url") or ICLOUD_URL
        if not username or not password:
            return error(400, "username and password are required (for iCloud, an app-specific password)")
        try:
            calendars = await run_in_threadpool(calendars_of, server_url, username, password)
        except ReconnectNeeded as refused:
            return error(422, str(refused))
        except Exception as unreachable:  # DNS, TLS, not a CalDAV server: say so, save nothing
            return error(422, f"could not reach a CalDAV server at {server_url}: {unreachable}")
        chosen = (
            [c for c in calendars if c[0] == body.get("calendar_url")]
            if body.get("calendar_url")
            else calendars
        )
        if not chosen:
            return error(
                422, "no such calendar on this account" if calendars else "this account has no calendar"
            )
        calendar_url, calendar_name = chosen[0]
        connection = {
            "user_id": user_id,
            "provider": "caldav",
            "calendar_id": calendar_url,
            "calendar_name": calendar_name,
            "sync_direction": body.get("sync_direction", "two_way"),
        }
        account = {"server_url": server_url, "username": username}
        saved = save_connection(database_url, settings, connection, account, {"password": password})
        return JSONResponse({**saved, "id": str(saved["id"]), "provider": "caldav"}, status_code=201)

    return connect_caldav


def redirect_uri(request: Request, settings: Settings, provider: str) -> str:
    """Where the provider sends the browser back; it must be registered with the provider as is."""
    base = settings.public_base_url or str(request.base_url).rstrip("/")
    return f"{base}/calendar/callback/{provider}"


def start_oauth_endpoint(database_url: str, settings: Settings):
    flows = oauth_flows(settings.google, settings.microsoft)

    async def start_oauth(request: Request) -> JSONResponse:
        provider = request.path_params["provider"]
        if provider not in flows:
            return error(404, f"{provider} calendars are not configured on this server")
        checked = await signed_in_request(request, settings)
        if isinstance(checked, JSONResponse):
            return checked
        user_id, body = checked
        started = await run_in_threadpool(flows[provider].start, redirect_uri(request, settings, provider))
        with psycopg.connect(database_url) as conn:
            conn.execute(
                queries.SAVE_OAUTH_FLOW,
                {
                    "state": started.state,
                    "user_id": user_id,
                    "provider": provider,
                    "sync_direction": body.get("sync_direction", "two_way"),
                    "flow": Jsonb(started.flow),
                },
            )
        return JSONResponse({"authorization_url": started.authorization_url})

    return start_oauth


def oauth_callback_endpoint(database_url: str, settings: Settings):
    flows = oauth_flows(settings.google, settings.microsoft)

    async def oauth_callback(request: Request) -> RedirectResponse:
        provider = request.path_params["provider"]
        # Google answers in the query string; Microsoft posts a form (response_mode=form_post).
        query = dict(request.query_params) | dict(await request.form())

        def back_to_app(**outcome: str) -> RedirectResponse:
            return RedirectResponse(
                f"{settings.app_base_url}/settings/calendars?{urlencode({'provider': provider, **outcome})}",
                status_code=303,
            )

        if provider not in flows or settings.secret_box is None:
            return back_to_app(calendar_error=f"{provider} calendars are not configured on this server")
        with psycopg.connect(database_url, row_factory=dict_row) as conn:
            pending = conn.execute(queries.TAKE_OAUTH_FLOW, [query.get("state", ""), provider]).fetchone()
        if pending is None or not pending["fresh"]:
            return back_to_app(calendar_error="this sign-in link has expired or was used: connect again")
        if "error" in query:  # the user declined, or the provider refused the request
            return back_to_app(calendar_error=query.get("error_description") or query["error"])
        try:
            finished = await run_in_threadpool(flows[provider].finish, pending["flow"], query)
        except ConnectRefused as refused:
            return back_to_app(calendar_error=str(refused))
        connection = {
            "user_id": pending["user_id"],
            "provider": provider,
            "calendar_id": finished.calendar_id,
            "calendar_name": finished.calendar_name,
            "sync_direction": pending["sync_direction"],
        }
        saved = save_connection(database_url, settings, connection, {}, finished.secret)
        return back_to_app(connected=str(saved["id"]))

    return oauth_callback


def save_connection(
    database_url: str, settings: Settings, connection: dict, account: dict, secret: dict
) -> dict:
    """The connection row and its sealed secret, in one transaction."""
    with psycopg.connect(database_url, row_factory=dict_row) as conn:
        saved = conn.execute(queries.SAVE_CONNECTION, connection).fetchone()
        save_secret(conn, settings, saved["id"], secret, account)
    return saved
