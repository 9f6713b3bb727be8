"""The authorization-server half of Google's and Microsoft's OAuth 2.0, as both document it.

- GET  {authorize}?client_id&redirect_uri&response_type=code&scope&state&code_challenge
  &code_challenge_method=S256: the user consents at once; 302 to redirect_uri?code=...&state=...,
  or with response_mode=form_post a page whose form posts code and state to redirect_uri.
- POST {token} (form) grant_type=authorization_code with code, redirect_uri, code_verifier and
  the client's id and secret (form fields, or HTTP basic); grant_type=refresh_token with
  refresh_token. Errors answer 400 {"error": "invalid_grant" | "invalid_client", ...}.
- POST {revoke} (Google's; form or query `token`, an access or a refresh token): the account's
  whole permission for the app ends, every token of it with it (this server holds one account);
  200 `{}`, or 400 {"error": "invalid_token"} for a token it does not know (revoked already).
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import secrets
import time
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlencode, urlparse


@dataclass
class OAuthState:
    client_id: str = field(default_factory=lambda: secrets.token_hex(8))
    client_secret: str = field(default_factory=lambda: secrets.token_hex(16))
    codes: dict[str, dict] = field(default_factory=dict)
    access_tokens: set[str] = field(default_factory=set)
    refresh_tokens: set[str] = field(default_factory=set)
    refreshes: int = 0
    revocations: list[str] = field(default_factory=list)  # the tokens revoked, in order
    # The signed-in user, as the id_token and Microsoft's client_info name them.
    user_id: str = field(default_factory=lambda: secrets.token_hex(8))
    tenant_id: str = field(default_factory=lambda: secrets.token_hex(8))

    def expire_access_tokens(self) -> None:
        self.access_tokens.clear()

    def revoke_refresh_tokens(self) -> None:
        self.refresh_tokens.clear()
        self.access_tokens.clear()


def authorize(handler, state: OAuthState) -> None:
    query = {name: values[0] for name, values in parse_qs(urlparse(handler.path).query).items()}
    if query.get("client_id") != state.client_id or query.get("code_challenge_method") != "S256":
        handler.reply(400, {"error": "invalid_request", "error_description": "unknown client or no PKCE"})
        return
    code = secrets.token_urlsafe(24)
    state.codes[code] = {
        "challenge": query["code_challenge"],
        "redirect_uri": query["redirect_uri"],
        "nonce": query.get("nonce"),
        "scope": query.get("scope", ""),
    }
    answer = {"code": code, "state": query["state"]}
    if query.get("response_mode") == "form_post":  # the browser posts the answer (Microsoft's advice)
        inputs = "".join(
            f'<input type="hidden" name="{n}" value="{html.escape(v)}">' for n, v in answer.items()
        )
        page = (
            f'<html><body onload="document.forms[0].submit()"><form method="POST" '
            f'action="{html.escape(query["redirect_uri"])}">{inputs}</form></body></html>'
        ).encode()
        handler.send_response(200)
        handler.send_header("Content-Type", "text/html; charset=utf-8")
        handler.send_header("Content-Length", str(len(page)))
        handler.end_headers()
        handler.wfile.write(page)
        return
    handler.reply(302, None, {"Location": f"{query['redirect_uri']}?{urlencode(answer)}"})


def token(handler, state: OAuthState) -> None:
    form = {name: values[0] for name, values in parse_qs(handler.raw_body().decode()).items()}
    client_id, client_secret = form.get("client_id"), form.get("client_secret")
    basic = handler.headers.get("Authorization", "")
    if basic.startswith("Basic "):
        client_id, _, client_secret = base64.b64decode(basic[6:]).decode().partition(":")
    if (client_id, client_secret) != (state.client_id, state.client_secret):
        handler.reply(
            401, {"error": "invalid_client", "error_description": "The OAuth client was not found."}
        )
        return
    if form.get("grant_type") == "authorization_code":
        granted = state.codes.pop(form.get("code", ""), None)
        verifier = form.get("code_verifier", "")
        challenge = b64url(hashlib.sha256(verifier.encode()).digest())
        if (
            granted is None
            or granted["challenge"] != challenge
            or granted["redirect_uri"] != form.get("redirect_uri")
        ):
            handler.reply(400, {"error": "invalid_grant", "error_description": "Bad Request"})
            return
        refresh_token = secrets.token_urlsafe(24)
        state.refresh_tokens.add(refresh_token)
        answer = issue_access_token(state, form) | {"refresh_token": refresh_token}
        if "openid" in granted["scope"].split():
            answer["id_token"] = id_token(state, granted["nonce"])
        handler.reply(200, answer)
        return
    if form.get("grant_type") == "refresh_token":
        if form.get("refresh_token") not in state.refresh_tokens:
            handler.reply(
                400, {"error": "invalid_grant", "error_description": "Token has been expired or revoked."}
            )
            return
        state.refreshes += 1
        handler.reply(200, issue_access_token(state, form) | {"refresh_token": form["refresh_token"]})
        return
    handler.reply(400, {"error": "unsupported_grant_type"})


def revoke(handler, state: OAuthState) -> None:
    asked = parse_qs(urlparse(handler.path).query) | parse_qs(handler.raw_body().decode())
    revoked = asked.get("token", [""])[0]
    if revoked not in state.refresh_tokens | state.access_tokens:
        handler.reply(400, {"error": "invalid_token", "error_description": "Token expired or revoked"})
        return
    state.revocations.append(revoked)
    state.revoke_refresh_tokens()
    handler.reply(200, {})


def issue_access_token(state: OAuthState, form: dict) -> dict:
    access_token = secrets.token_urlsafe(24)
    state.access_tokens.add(access_token)
    answer = {
        "access_token": access_token,
        "expires_in": 3599,
        "token_type": "Bearer",
        "scope": form.get("scope", ""),
    }
    if form.get("client_info") == "1":  # Microsoft's: who signed in, base64url JSON
        answer["client_info"] = b64url(json.dumps({"uid": state.user_id, "utid": state.tenant_id}).encode())
    return answer


def id_token(state: OAuthState, nonce: str | None) -> str:
    """An OpenID Connect ID token (unsigned here: the clients read it, they do not verify it)."""
    now = int(time.time())
    claims = {
        "iss": "https://login.local/v2.0",
        "sub": state.user_id,
        "oid": state.user_id,
        "tid": state.tenant_id,
        "aud": state.client_id,
        "iat": now,
        "exp": now + 3600,
        "nonce": nonce,
        "preferred_username": "dr.calendar@example.com",
    }
    header = b64url(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    return f"{header}.{b64url(json.dumps(claims).encode())}."


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def bearer_ok(handler, state: OAuthState) -> bool:
    return handler.headers.get("Authorization", "").removeprefix("Bearer ") in state.access_tokens
