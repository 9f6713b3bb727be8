"""The connect endpoints know a signed-in user by the access token Supabase gave them: signed with
the project's JWT secret (HS256, the legacy keys) or with one of its published signing keys
(ES256 or RS256). Until the published keys were read, every token of a
project on the new keys was refused."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from starlette.testclient import TestClient

from tests.calendar_helpers import JWT_SECRET, access_token, sync_settings
from tests.providers.supabase_keys import LocalSupabaseKeys, published
from workers.http.app import create_app

USER = "7f3c2a8e-1b4d-4c6e-9a0f-2d5e8b1c3a7f"
ES256_KEY = ec.generate_private_key(ec.SECP256R1())
RS256_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def signed(private_key, kid: str | None, algorithm: str, **claims) -> str:
    """An access token of USER, valid for an hour, signed with `private_key`."""
    expires = datetime.now(UTC) + timedelta(hours=1)
    payload = {"sub": USER, "role": "authenticated", "aud": "authenticated", "exp": expires} | claims
    headers = {"kid": kid} if kid is not None else None
    return jwt.encode(payload, private_key, algorithm=algorithm, headers=headers)


@pytest.fixture
def project() -> Iterator[LocalSupabaseKeys]:
    with LocalSupabaseKeys() as keys:
        keys.state.keys = [
            published("es-key-1", "ES256", ES256_KEY.public_key()),
            published("rs-key-1", "RS256", RS256_KEY.public_key()),
        ]
        yield keys


def connect(database_url: str, settings, token: str) -> int:
    """The status of a CalDAV connect request without credentials: 400 once the token is taken
    (the missing password is the next thing said), 401 when it is refused."""
    client = TestClient(create_app(database_url, settings))
    return client.post(
        "/calendar/connect/caldav", json={}, headers={"Authorization": f"Bearer {token}"}
    ).status_code


def test_tokens_signed_with_the_projects_published_keys_are_taken(database_url, project) -> None:
    settings = dataclasses.replace(sync_settings(), jwt_secret=None, supabase_url=project.base_url)
    assert connect(database_url, settings, signed(ES256_KEY, "es-key-1", "ES256")) == 400
    assert connect(database_url, settings, signed(RS256_KEY, "rs-key-1", "RS256")) == 400


def test_tokens_signed_with_the_jwt_secret_are_taken_beside_the_published_keys(database_url, project) -> None:
    settings = dataclasses.replace(sync_settings(), supabase_url=project.base_url)
    assert connect(database_url, settings, access_token(USER)) == 400
    assert connect(database_url, settings, signed(ES256_KEY, "es-key-1", "ES256")) == 400


def hs256_signed_with(secret: bytes) -> str:
    """An HS256 token whose HMAC key is `secret` (PyJWT refuses to make one with a public key)."""

    def part(data: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    expires = int((datetime.now(UTC) + timedelta(hours=1)).timestamp())
    signing_input = f"{part({'alg': 'HS256', 'typ': 'JWT'})}." + part(
        {"sub": USER, "role": "authenticated", "aud": "authenticated", "exp": expires}
    )
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{base64.urlsafe_b64encode(signature).rstrip(b'=').decode()}"


OTHER_KEY = ec.generate_private_key(ec.SECP256R1())
PUBLIC_PEM = ES256_KEY.public_key().public_bytes(
    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
)


@pytest.mark.parametrize(
    "token",
    [
        pytest.param(signed(OTHER_KEY, "es-key-1", "ES256"), id="another-key-same-kid"),
        pytest.param(signed(OTHER_KEY, "es-key-9", "ES256"), id="unknown-kid"),
        pytest.param(signed(ES256_KEY, None, "ES256"), id="no-kid"),
        pytest.param(signed(ES256_KEY, "es-key-1", "ES256", role="anon"), id="anon"),
        pytest.param(signed(ES256_KEY, "es-key-1", "ES256", aud="somebody-else"), id="other-audience"),
        pytest.param(
            signed(ES256_KEY, "es-key-1", "ES256", exp=datetime.now(UTC) - timedelta(minutes=1)), id="expired"
        ),
        pytest.param(signed(ES256_KEY, "es-key-1", "ES256", exp=None), id="without-expiry"),
        pytest.param(hs256_signed_with(PUBLIC_PEM), id="hs256-keyed-with-the-public-key"),
        pytest.param(
            jwt.encode({"sub": USER, "role": "authenticated"}, None, algorithm="none"), id="alg-none"
        ),
        pytest.param(access_token(USER), id="hs256-without-a-secret-configured"),
    ],
)
def test_tokens_the_project_did_not_sign_are_refused(database_url, project, token) -> None:
    settings = dataclasses.replace(sync_settings(), jwt_secret=None, supabase_url=project.base_url)
    assert connect(database_url, settings, token) == 401


def test_the_published_keys_are_fetched_once_not_for_every_token(database_url, project) -> None:
    """Kept once read; a `kid` not among them has them read again, but at most every 30 s
    (PyJWKClient's cooldown), so tokens with made-up kids do not send a request each to Supabase.
    Supabase publishes a new key as a standby before it signs with it."""
    settings = dataclasses.replace(sync_settings(), jwt_secret=None, supabase_url=project.base_url)
    client = TestClient(create_app(database_url, settings))

    def status(token: str) -> int:
        return client.post(
            "/calendar/connect/caldav", json={}, headers={"Authorization": f"Bearer {token}"}
        ).status_code

    assert [status(signed(ES256_KEY, "es-key-1", "ES256")) for _ in range(3)] == [400] * 3
    assert [status(signed(OTHER_KEY, f"made-up-{n}", "ES256")) for n in range(5)] == [401] * 5
    assert project.state.fetches == 1


def test_published_keys_that_cannot_be_fetched_are_a_503_not_a_401(database_url, project) -> None:
    project.state.down = True
    settings = dataclasses.replace(sync_settings(), jwt_secret=None, supabase_url=project.base_url)
    answer = TestClient(create_app(database_url, settings)).post(
        "/calendar/connect/caldav",
        json={},
        headers={"Authorization": f"Bearer {signed(ES256_KEY, 'es-key-1', 'ES256')}"},
    )
    assert answer.status_code == 503
    assert "signing keys" in answer.json()["error"]


def test_a_project_on_published_keys_is_refused_without_its_url(database_url) -> None:
    """What every token of such a project met before: only the JWT secret was read."""
    assert sync_settings().jwt_secret == JWT_SECRET and sync_settings().supabase_url is None
    assert connect(database_url, sync_settings(), signed(ES256_KEY, "es-key-1", "ES256")) == 401
    assert connect(database_url, sync_settings(), access_token(USER)) == 400
