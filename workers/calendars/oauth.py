"""The OAuth authorization-code flows (with PKCE) that connect a Google or Microsoft calendar.

`start` makes the URL the user's browser is sent to and what the callback will need to finish;
`finish` trades the code for tokens and lists the calendars the account may write to (the user
chooses one when confirming; the primary one unless they say otherwise).
Both return the secret to seal and never the tokens in the clear to anyone else.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlencode

import httpx
import msal
import requests

from workers.calendars import google_client, microsoft_client
from workers.calendars.google_client import GoogleCalendar
from workers.settings import GoogleSettings, MicrosoftSettings, Settings


class ConnectRefused(RuntimeError):
    """The user declined, the code was refused, or no calendar was found: nothing is saved."""


@dataclass(frozen=True)
class Started:
    state: str
    flow: dict  # kept server-side until the callback
    authorization_url: str


@dataclass(frozen=True)
class Finished:
    secret: dict
    # The calendars the account may write to, as (id, name); the primary/default one first.
    calendars: list[tuple[str, str]]


class OAuthFlow(Protocol):
    def start(self, redirect_uri: str) -> Started: ...

    def finish(self, flow: dict, callback_query: dict[str, str]) -> Finished: ...


def pkce_pair() -> tuple[str, str]:
    """A code verifier and its S256 challenge (RFC 7636)."""
    verifier = secrets.token_urlsafe(64)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


class GoogleOAuth:
    def __init__(self, google: GoogleSettings, timeout_seconds: float) -> None:
        self._google = google
        self._timeout_seconds = timeout_seconds

    def start(self, redirect_uri: str) -> Started:
        state = secrets.token_urlsafe(32)
        verifier, challenge = pkce_pair()
        query = {
            "client_id": self._google.client_id,
            "redirect_uri": redirect_uri,
            "response_type": "code",
            "scope": " ".join(google_client.SCOPES),
            "access_type": "offline",  # a refresh token, so the worker can sync without the user
            "prompt": "consent",  # ... every time, also when the user had connected before
            "include_granted_scopes": "true",
            "state": state,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
        flow = {"code_verifier": verifier, "redirect_uri": redirect_uri}
        return Started(state, flow, f"{self._google.authorization_url}?{urlencode(query)}")

    def finish(self, flow: dict, callback_query: dict[str, str]) -> Finished:
        answer = requests.post(
            self._google.token_url,
            data={
                "grant_type": "authorization_code",
                "code": callback_query.get("code", ""),
                "client_id": self._google.client_id,
                "client_secret": self._google.client_secret,
                "redirect_uri": flow["redirect_uri"],
                "code_verifier": flow["code_verifier"],
            },
            timeout=self._timeout_seconds,
        )
        tokens = (
            answer.json() if answer.headers.get("content-type", "").startswith("application/json") else {}
        )
        if answer.status_code != 200 or "refresh_token" not in tokens:
            raise ConnectRefused(
                f"Google refused the authorization: {tokens.get('error', answer.status_code)}"
            )
        secret = {"refresh_token": tokens["refresh_token"], "token": tokens["access_token"], "expiry": None}
        calendar = GoogleCalendar(self._google, secret, "primary", self._timeout_seconds)
        try:
            calendars = calendar.writable_calendars()
        finally:
            calendar.close()
        return Finished(secret, writable_or_refused(calendars))


class MicrosoftOAuth:
    def __init__(self, microsoft: MicrosoftSettings, timeout_seconds: float) -> None:
        self._microsoft = microsoft
        self._timeout_seconds = timeout_seconds

    def start(self, redirect_uri: str) -> Started:
        # msal makes the state, nonce and PKCE pair, and needs its flow object back to finish.
        flow = microsoft_client.msal_app(self._microsoft, self._timeout_seconds).initiate_auth_code_flow(
            microsoft_client.SCOPES,
            redirect_uri=redirect_uri,
            prompt="select_account",
            # The code comes back in a POST body, not in a URL that browsers and proxies log.
            response_mode="form_post",
        )
        return Started(flow["state"], flow, flow["auth_uri"])

    def finish(self, flow: dict, callback_query: dict[str, str]) -> Finished:
        cache = msal.SerializableTokenCache()
        result = microsoft_client.msal_app(
            self._microsoft, self._timeout_seconds, cache
        ).acquire_token_by_auth_code_flow(flow, callback_query)
        if "access_token" not in result:
            reason = result.get("error_description") or result.get("error")
            raise ConnectRefused(f"Microsoft refused the authorization: {reason}")
        try:
            calendars = microsoft_client.writable_calendars(
                self._microsoft, result["access_token"], self._timeout_seconds
            )
        except httpx.HTTPError as failed:
            raise ConnectRefused(f"could not read the Outlook calendars: {failed}") from failed
        return Finished({"token_cache": cache.serialize()}, writable_or_refused(calendars))


def writable_or_refused(calendars: list[tuple[str, str]]) -> list[tuple[str, str]]:
    if not calendars:
        raise ConnectRefused("this account has no calendar it can write to")
    return calendars


def account_of(provider: str, calendars: list[dict]) -> dict:
    """What a connection keeps of the account it was made with. At Google the primary calendar's
    id (listed first) is the account's address: a disconnect revokes the account's permission
    only when no other calendar is connected from it (workers/calendars/disconnections.py)."""
    return {"google_account": calendars[0]["id"]} if provider == "google" else {}


def oauth_flows(settings: Settings) -> dict[str, OAuthFlow]:
    flows: dict[str, OAuthFlow] = {}
    if settings.google is not None:
        flows["google"] = GoogleOAuth(settings.google, settings.calendar_timeout_seconds)
    if settings.microsoft is not None:
        flows["microsoft"] = MicrosoftOAuth(settings.microsoft, settings.calendar_timeout_seconds)
    return flows
