"""A local Web Push service (RFC 8030) holding the browser's side of each subscription.

It accepts POST /push/<name> only with a VAPID Authorization header (RFC 8292), a TTL and
aes128gcm content (RFC 8291), decrypts each message with the subscription's private key as a
browser would, and answers 201 (also for a message the browser cannot decrypt, which it drops:
a push service cannot tell); a subscription marked gone answers 410, unknown ones 404, and
scripted 5xx answers (the next ones, or every one for a subscription) test retries.
"""

from __future__ import annotations

import base64
import json
import os
from dataclasses import dataclass, field

import http_ece
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tests.providers import JsonHandler, LocalServer


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass
class Browser:
    """The keys a browser keeps for one subscription."""

    private_key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    auth_secret: bytes = field(default_factory=lambda: os.urandom(16))

    @property
    def p256dh(self) -> str:
        public = self.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return b64url(public)


@dataclass
class PushState:
    browsers: dict[str, Browser] = field(default_factory=dict)
    gone: set[str] = field(default_factory=set)
    received: list[tuple[str, dict]] = field(default_factory=list)  # (subscription name, message)
    undecryptable: list[str] = field(default_factory=list)  # subscription names
    fail_next: list[int] = field(default_factory=list)
    failing: set[str] = field(default_factory=set)  # subscriptions whose push service is down (503)


class PushHandler(JsonHandler):
    state: PushState

    def do_POST(self) -> None:
        name = self.path.removeprefix("/push/")
        body = self.raw_body()
        if self.state.fail_next:
            self.reply(self.state.fail_next.pop(0))
            return
        if name in self.state.failing:
            self.reply(503)
            return
        if name in self.state.gone:
            self.reply(410)
            return
        browser = self.state.browsers.get(name)
        if browser is None:
            self.reply(404)
            return
        authorization = self.headers.get("Authorization", "")
        if not authorization.startswith("vapid t=") or "TTL" not in self.headers:
            self.reply(401)
            return
        if self.headers.get("Content-Encoding") != "aes128gcm":
            self.reply(415)
            return
        try:
            plain = http_ece.decrypt(
                body, private_key=browser.private_key, auth_secret=browser.auth_secret, version="aes128gcm"
            )
        except Exception:  # http_ece raises its own and cryptography's errors
            self.state.undecryptable.append(name)
        else:
            self.state.received.append((name, json.loads(plain)))
        self.reply(201)


class LocalPushService(LocalServer):
    def __init__(self) -> None:
        super().__init__(PushHandler, PushState())

    def subscribe(self, name: str) -> dict:
        """A new browser subscription, as the PushSubscription JSON a page would send us."""
        browser = self.state.browsers.setdefault(name, Browser())
        return {
            "endpoint": f"http://127.0.0.1:{self.server.server_address[1]}/push/{name}",
            "p256dh": browser.p256dh,
            "auth": b64url(browser.auth_secret),
        }
