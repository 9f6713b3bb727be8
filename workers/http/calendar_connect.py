"""Connecting a calendar from the dashboard, as the signed-in user (their Supabase JWT).

POST /calendar/connect/caldav {"username", "password", "server_url"?, "calendar_url"?,
"sync_direction"?}: the credentials are tried against the server before anything is saved.
Google and Microsoft connect through OAuth: see calendar_oauth.py.

Passwords and tokens are sealed with the worker's key and stored where no API role can read them.
"""

from __future__ import annotations

import psycopg
from psycopg.rows import dict_row
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse

from workers.calendars import queries
from workers.calendars.caldav_client import ICLOUD_URL, calendars_of
from workers.calendars.connections import save_secret
from workers.calendars.provider import CALENDAR_NAME_LENGTH, ReconnectNeeded
from workers.database import Database
from workers.http.access_tokens import AccessTokens, SigningKeysUnavailable
from workers.outbound import PrivateDestination, refuse_private_destination
from workers.settings import Settings
from workers.storable import storable

# The tables' check constraints hold the list of directions; a refused one is answered with this.
BAD_DIRECTION = "sync_direction is one of two_way, to_external, from_external"


def error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


async def signed_in_request(
    request: Request, settings: Settings, tokens: AccessTokens, database: Database
) -> tuple[str, dict] | JSONResponse:
    """(user id, JSON body) of a connect request, or the error answer. A token outlives its
    account by up to an hour: nothing is connected for an account that was deleted."""
    if not tokens.configured or settings.secret_box is None:
        return error(404, "calendar connections are not configured on this server")
    try:
        user_id = await run_in_threadpool(tokens.user, request.headers.get("Authorization", ""))
    except SigningKeysUnavailable as unavailable:
        return error(503, f"cannot check the access token now, the project's signing keys: {unavailable}")
    if user_id is None:
        return error(401, "sign in first: send your Supabase access token as a Bearer token")
    if await run_in_threadpool(account_deleted, database, user_id):
        return error(401, "your account was deleted")
    try:
        body = await request.json() if await request.body() else {}
    except ValueError:
        return error(400, "send a JSON object")
    if not isinstance(body, dict):
        return error(400, "send a JSON object")
    # Every field of a connect request is text (a password, a URL, a token, a direction).
    if not_text := [name for name, value in body.items() if value is not None and not isinstance(value, str)]:
        return error(400, f"{not_text[0]} must be a string")
    return user_id, body


def account_deleted(database: Database, user_id: str) -> bool:
    with database.connect() as conn:
        return conn.execute(queries.ACCOUNT_DELETED, [user_id]).fetchone()[0]


def connect_caldav_endpoint(database: Database, settings: Settings, tokens: AccessTokens):
    async def connect_caldav(request: Request) -> JSONResponse:
        checked = await signed_in_request(request, settings, tokens, database)
        if isinstance(checked, JSONResponse):
            return checked
        user_id, body = checked
        username, password = body.get("username"), body.get("password")
        server_url = body.get("server_url") or ICLOUD_URL
        if not username or not password:
            return error(400, "username and password are required (for iCloud, an app-specific password)")
        try:
            await run_in_threadpool(refuse_private_destination, server_url, settings.private_hosts_allowed)
        except PrivateDestination as refused:
            return error(422, f"server_url: {refused}")
        try:
            calendars, auth_type = await run_in_threadpool(
                calendars_of, server_url, username, password, settings
            )
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
        # The server names its calendars' URLs itself, and may name another host.
        try:
            await run_in_threadpool(refuse_private_destination, calendar_url, settings.private_hosts_allowed)
        except PrivateDestination as refused:
            return error(422, f"the calendar's URL: {refused}")
        connection = {
            "user_id": user_id,
            "provider": "caldav",
            "calendar_id": calendar_url,
            "calendar_name": calendar_name,
            "sync_direction": body.get("sync_direction", "two_way"),
        }
        account = {"server_url": server_url, "username": username, "auth_type": auth_type}
        try:
            saved = save_connection(database, settings, connection, account, {"password": password})
        except psycopg.errors.CheckViolation:  # nothing was saved
            return error(400, BAD_DIRECTION)
        return JSONResponse({**saved, "id": str(saved["id"]), "provider": "caldav"}, status_code=201)

    return connect_caldav


def save_connection(
    database: Database, settings: Settings, connection: dict, account: dict, secret: dict
) -> dict:
    """The connection row and its sealed secret, in one transaction."""
    named = connection | {"calendar_name": storable(connection["calendar_name"], CALENDAR_NAME_LENGTH)}
    with database.connect(row_factory=dict_row) as conn:
        saved = conn.execute(queries.SAVE_CONNECTION, named).fetchone()
        save_secret(conn, settings, saved["id"], secret, account)
    return saved
