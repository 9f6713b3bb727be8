"""Request bodies larger than any of ours are refused (413) as they arrive: the webhooks read the
whole body into memory to check its signature, and anyone may call them."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Ours are a few kilobytes: a connect request, a Zoom event, an SMS webhook's form.
MAX_BODY_BYTES = 1_000_000
TOO_LARGE = f"the request body is over {MAX_BODY_BYTES:,} bytes"


class LimitBodySize:
    """A declared Content-Length over the limit is refused before anything is read; a body sent in
    chunks is counted as it is read, and refused once past it."""

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await PlainTextResponse(TOO_LARGE, status_code=413)(scope, receive, send)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                # Raised inside the endpoint's read: Starlette answers it with this status.
                raise HTTPException(413, TOO_LARGE)
            return message

        await self.app(scope, counted, send)
