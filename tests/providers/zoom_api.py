"""A local server for the part of Zoom's API the worker uses, as Zoom documents it.

- POST /oauth/token?grant_type=account_credentials&account_id=... with HTTP basic auth of the
  app's client id and secret: {"access_token", "token_type": "bearer", "expires_in", "scope"}.
- POST /v2/users/{userId}/meetings (201, the meeting), PATCH /v2/meetings/{id} (204),
  DELETE /v2/meetings/{id} (204; 404 with code 3001 when it does not exist), all with a Bearer
  token; an unknown or expired token answers 401 with code 124 "Invalid access token.".
"""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlparse

from tests.providers import JsonHandler, LocalServer


@dataclass
class ZoomState:
    account_id: str = field(default_factory=lambda: secrets.token_hex(8))
    client_id: str = field(default_factory=lambda: secrets.token_hex(8))
    client_secret: str = field(default_factory=lambda: secrets.token_hex(16))
    tokens: set[str] = field(default_factory=set)
    tokens_issued: int = 0
    meetings: dict[str, dict] = field(default_factory=dict)
    calls: list[tuple[str, str, dict | None]] = field(default_factory=list)


class ZoomHandler(JsonHandler):
    state: ZoomState

    def authorized(self) -> bool:
        token = self.headers.get("Authorization", "").removeprefix("Bearer ")
        if token in self.state.tokens:
            return True
        self.reply(401, {"code": 124, "message": "Invalid access token."})
        return False

    def do_POST(self) -> None:
        url = urlparse(self.path)
        if url.path == "/oauth/token":
            query = parse_qs(url.query)
            expected = base64.b64encode(
                f"{self.state.client_id}:{self.state.client_secret}".encode()
            ).decode()
            if (
                self.headers.get("Authorization") != f"Basic {expected}"
                or query.get("grant_type") != ["account_credentials"]
                or query.get("account_id") != [self.state.account_id]
            ):
                self.reply(400, {"reason": "Invalid client_id or client_secret", "error": "invalid_client"})
                return
            token = secrets.token_urlsafe(24)
            self.state.tokens.add(token)
            self.state.tokens_issued += 1
            self.reply(
                200,
                {
                    "access_token": token,
                    "token_type": "bearer",
                    "expires_in": 3599,
                    "scope": "meeting:write:admin",
                },
            )
            return
        if not self.authorized():
            return
        parts = url.path.split("/")  # ['', 'v2', 'users', '{userId}', 'meetings']
        if len(parts) == 5 and parts[1:3] == ["v2", "users"] and parts[4] == "meetings":
            request = self.body()
            self.state.calls.append(("POST", url.path, request))
            meeting_id = str(secrets.randbelow(10**10) + 10**10)
            meeting = request | {
                "id": int(meeting_id),
                "uuid": base64.b64encode(secrets.token_bytes(16)).decode(),
                "host_email": parts[3],
                "join_url": f"https://zoom.example/j/{meeting_id}?pwd={request.get('password', '')}",
                "start_url": f"https://zoom.example/s/{meeting_id}",
            }
            self.state.meetings[meeting_id] = meeting
            self.reply(201, meeting)
            return
        self.reply(404, {"code": 404, "message": "Not found"})

    def do_PATCH(self) -> None:
        if not self.authorized():
            return
        meeting_id = self.path.rsplit("/", 1)[1]
        request = self.body()
        self.state.calls.append(("PATCH", self.path, request))
        if meeting_id not in self.state.meetings:
            self.reply(404, {"code": 3001, "message": f"Meeting does not exist: {meeting_id}."})
            return
        self.state.meetings[meeting_id] |= request
        self.reply(204)

    def do_DELETE(self) -> None:
        if not self.authorized():
            return
        meeting_id = self.path.rsplit("/", 1)[1]
        self.state.calls.append(("DELETE", self.path, None))
        if self.state.meetings.pop(meeting_id, None) is None:
            self.reply(404, {"code": 3001, "message": f"Meeting does not exist: {meeting_id}."})
            return
        self.reply(204)


class LocalZoom(LocalServer):
    def __init__(self) -> None:
        super().__init__(ZoomHandler, ZoomState())
