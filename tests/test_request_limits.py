"""The web service refuses request bodies larger than any of its own (the webhooks read the
whole body to check its signature, and anyone may call them)."""

from __future__ import annotations

from starlette.testclient import TestClient

from workers.http.app import create_app
from workers.http.body_limit import MAX_BODY_BYTES
from workers.settings import Settings

# With a secret, the Zoom webhook reads the bodies sent to it.
SETTINGS = Settings(
    worker_name="test-web", app_base_url="https://clinic.example", smtp=None, zoom_webhook_secret="secret"
)


def test_a_body_over_the_limit_is_refused_whether_declared_or_sent_in_chunks(committed_database: str) -> None:
    client = TestClient(create_app(committed_database, SETTINGS))
    huge = b"{" + b" " * MAX_BODY_BYTES + b"}"

    declared = client.post("/webhooks/zoom", content=huge, headers={"Content-Type": "application/json"})
    chunked = client.post("/webhooks/zoom", content=iter([huge[:1000], huge[1000:]]))
    unsigned = client.post("/webhooks/zoom", content=b"{}" + b" " * 10_000)
    challenge = client.post(  # Zoom's endpoint check, which carries no signature
        "/webhooks/zoom", json={"event": "endpoint.url_validation", "payload": {"plainToken": "abc123"}}
    )

    assert declared.status_code == 413 and "over 1,000,000 bytes" in declared.text
    assert "content-length" not in {name.lower() for name in chunked.request.headers}
    assert chunked.status_code == 413
    assert unsigned.status_code == 401  # a body within the limit reaches the endpoint
    assert challenge.status_code == 200 and challenge.json()["plainToken"] == "abc123"
