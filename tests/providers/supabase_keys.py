"""A Supabase project's published JWT signing keys (its JWKS), as Supabase Auth serves them.

GET /auth/v1/.well-known/jwks.json answers {"keys": [...]}: each public key as a JWK with its
`kid`, `alg` (ES256 or RS256), `use: sig` and
`key_ops: ["verify"]`. Counts the fetches; `down` makes it answer 503.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from tests.providers import JsonHandler, LocalServer

JWKS_PATH = "/auth/v1/.well-known/jwks.json"


@dataclass
class KeysState:
    keys: list[dict] = field(default_factory=list)
    fetches: int = 0
    down: bool = False


def published(kid: str, algorithm: str, public_key) -> dict:
    """The JWK of a public key as Supabase lists it."""
    as_jwk = ECAlgorithm.to_jwk if algorithm == "ES256" else RSAAlgorithm.to_jwk
    return json.loads(as_jwk(public_key)) | {
        "kid": kid,
        "alg": algorithm,
        "use": "sig",
        "key_ops": ["verify"],
        "ext": True,
    }


class KeysHandler(JsonHandler):
    state: KeysState

    def do_GET(self) -> None:
        if self.path != JWKS_PATH:
            self.reply(404, {"message": "no route"})
            return
        self.state.fetches += 1
        if self.state.down:
            self.reply(503, {"message": "unavailable"})
            return
        self.reply(200, {"keys": self.state.keys})


class LocalSupabaseKeys(LocalServer):
    def __init__(self) -> None:
        super().__init__(KeysHandler, KeysState())
