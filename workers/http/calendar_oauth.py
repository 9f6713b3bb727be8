"""Connecting a Google or Microsoft calendar: OAuth authorization code with PKCE, in steps.

1. POST /calendar/connect/{google|microsoft} {"sync_direction"?} (the user's Supabase JWT)
   answers {"authorization_url"}; the dashboard sends the browser there.
2. The provider sends the browser back to /calendar/callback/{provider} (GET from Google, a form
   POST from Microsoft). The code is traded for tokens, which are sealed and kept, and the browser
   goes back to the dashboard with a one-time `confirm` token (or `calendar_error`).
3. Optionally, POST /calendar/connect/{provider}/calendars {"confirm"} lists the calendars the
   account may write to ({"calendars": [{"id", "name"}], "default"}), for the user to pick one.
4. POST /calendar/connect/{provider}/confirm {"confirm", "calendar_id"?} (the user's JWT again)
   saves the connection to that calendar (default: the primary one): only for the user who
   started step 1, so a sign-in link sent to somebody else cannot attach their calendar to the
   sender's account.
"""

from __future__ import annotations

import secrets
from urllib.parse import urlencode

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse

from workers.calendars import queries
from workers.calendars.oauth import ConnectRefused, account_of, oauth_flows
from workers.database import Database
from workers.http.access_tokens import AccessTokens
from workers.http.calendar_connect import BAD_DIRECTION, error, save_connection, signed_in_request
from workers.settings import Settings


def redirect_uri(request: Request, settings: Settings, provider: str) -> str:
    """Where the provider sends the browser back; it must be registered with the provider as is."""
    base = settings.public_base_url or str(request.base_url).rstrip("/")
    return f"{base}/calendar/callback/{provider}"


def start_oauth_endpoint(database: Database, settings: Settings, tokens: AccessTokens):
    flows = oauth_flows(settings)

    async def start_oauth(request: Request) -> JSONResponse:
        provider = request.path_params["provider"]
        if provider not in flows:
            return error(404, f"{provider} calendars are not configured on this server")
        checked = await signed_in_request(request, settings, tokens, database)
        if isinstance(checked, JSONResponse):
            return checked
        user_id, body = checked
        started = await run_in_threadpool(flows[provider].start, redirect_uri(request, settings, provider))
        try:
            with database.connect() as conn:
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
        except psycopg.errors.CheckViolation:
            return error(400, BAD_DIRECTION)
        return JSONResponse({"authorization_url": started.authorization_url})

    return start_oauth


def oauth_callback_endpoint(database: Database, settings: Settings):
    flows = oauth_flows(settings)

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
        state = query.get("state", "")
        with database.connect(row_factory=dict_row) as conn:
            pending = conn.execute(queries.CLAIM_OAUTH_CALLBACK, [state, provider]).fetchone()
        if pending is None or not pending["fresh"]:
            return back_to_app(calendar_error="this sign-in link has expired or was used: connect again")
        try:
            if "error" in query:  # the user declined, or the provider refused the request
                raise ConnectRefused(query.get("error_description") or query["error"])
            finished = await run_in_threadpool(flows[provider].finish, pending["flow"], query)
        except ConnectRefused as refused:
            with database.connect() as conn:
                conn.execute(queries.FORGET_OAUTH_FLOW, [state])
            return back_to_app(calendar_error=str(refused))
        confirm_token = secrets.token_urlsafe(32)
        key_id, sealed = settings.secret_box.seal(state, finished.secret)
        with database.connect() as conn:
            conn.execute(
                queries.SAVE_OAUTH_RESULT,
                {
                    "state": state,
                    "confirm_token": confirm_token,
                    "key_id": key_id,
                    "sealed": sealed,
                    "calendars": Jsonb([{"id": id_, "name": name} for id_, name in finished.calendars]),
                },
            )
        return back_to_app(confirm=confirm_token)

    return oauth_callback


def pending_sign_in(database: Database, provider: str, confirm: str, user_id: str) -> dict | JSONResponse:
    """The sign-in waiting for this user's confirmation, or the error answer. One that another
    account started is dropped: the tokens of somebody else's calendar are not kept anywhere."""
    with database.connect(row_factory=dict_row) as conn:
        pending = conn.execute(queries.PENDING_OAUTH_RESULT, [confirm, provider]).fetchone()
        if pending is None or not pending["fresh"]:
            return error(404, "no calendar sign-in to confirm (it expired or was used): connect again")
        if str(pending["user_id"]) != user_id:
            conn.execute(queries.TAKE_OAUTH_RESULT, [confirm, provider])
            return error(403, "this calendar sign-in was started by another account; nothing was saved")
    return pending


def calendar_choices_endpoint(database: Database, settings: Settings, tokens: AccessTokens):
    async def calendar_choices(request: Request) -> JSONResponse:
        checked = await signed_in_request(request, settings, tokens, database)
        if isinstance(checked, JSONResponse):
            return checked
        user_id, body = checked
        provider, confirm = request.path_params["provider"], str(body.get("confirm", ""))
        pending = pending_sign_in(database, provider, confirm, user_id)
        if isinstance(pending, JSONResponse):
            return pending
        return JSONResponse({"calendars": pending["calendars"], "default": pending["calendars"][0]["id"]})

    return calendar_choices


def confirm_oauth_endpoint(database: Database, settings: Settings, tokens: AccessTokens):
    async def confirm_oauth(request: Request) -> JSONResponse:
        provider = request.path_params["provider"]
        checked = await signed_in_request(request, settings, tokens, database)
        if isinstance(checked, JSONResponse):
            return checked
        user_id, body = checked
        confirm = str(body.get("confirm", ""))
        pending = pending_sign_in(database, provider, confirm, user_id)
        if isinstance(pending, JSONResponse):
            return pending
        wanted = body.get("calendar_id") or pending["calendars"][0]["id"]
        chosen = next((c for c in pending["calendars"] if c["id"] == wanted), None)
        if chosen is None:  # the sign-in waits on: the user may choose again
            return error(400, "calendar_id is not a calendar this account can write to: see /calendars")
        with database.connect(row_factory=dict_row) as conn:
            result = conn.execute(queries.TAKE_OAUTH_RESULT, [confirm, provider]).fetchone()
        if result is None:  # confirmed meanwhile by a second request
            return error(404, "no calendar sign-in to confirm (it expired or was used): connect again")
        secret = settings.secret_box.open(result["state"], result["key_id"], result["sealed"])
        connection = {
            "user_id": user_id,
            "provider": provider,
            "calendar_id": chosen["id"],
            "calendar_name": chosen["name"],
            "sync_direction": result["sync_direction"],
        }
        account = account_of(provider, pending["calendars"])
        saved = save_connection(database, settings, connection, account, secret)
        return JSONResponse({**saved, "id": str(saved["id"]), "provider": provider}, status_code=201)

    return confirm_oauth
