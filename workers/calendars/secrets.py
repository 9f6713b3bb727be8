"""Sealing calendar passwords and tokens before they reach the database (AES-GCM, with key ids).

Keys come from SCHEDULING_SECRET_KEYS: comma-separated `key_id=base64-of-32-bytes`, the first one
sealing new secrets and all of them opening old ones, so a key can be rotated by putting a new
one first and re-sealing at leisure. The connection id is the associated data: a sealed secret
copied onto another connection does not open.
"""

from __future__ import annotations

import base64
import json
import os
from dataclasses import dataclass

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

NONCE_BYTES = 12


class SecretKeyError(ValueError):
    """SCHEDULING_SECRET_KEYS is missing or malformed, or a secret was sealed with an unknown key."""


@dataclass(frozen=True)
class SecretBox:
    keys: dict[str, bytes]
    current_key_id: str

    @classmethod
    def from_setting(cls, setting: str) -> SecretBox:
        keys: dict[str, bytes] = {}
        for item in filter(None, (part.strip() for part in setting.split(","))):
            key_id, _, encoded = item.partition("=")
            key = base64.b64decode(encoded)
            if not key_id or len(key) != 32:
                raise SecretKeyError(
                    f"SCHEDULING_SECRET_KEYS: {key_id or item!r} is not key_id=<32 bytes, base64>"
                )
            keys[key_id] = key
        if not keys:
            raise SecretKeyError("SCHEDULING_SECRET_KEYS holds no key")
        return cls(keys, next(iter(keys)))

    def seal(self, connection_id: str, secret: dict) -> tuple[str, bytes]:
        nonce = os.urandom(NONCE_BYTES)
        sealed = AESGCM(self.keys[self.current_key_id]).encrypt(
            nonce, json.dumps(secret).encode(), str(connection_id).encode()
        )
        return self.current_key_id, nonce + sealed

    def open(self, connection_id: str, key_id: str, sealed: bytes) -> dict:
        if key_id not in self.keys:
            raise SecretKeyError(
                f"the secret of connection {connection_id} was sealed with unknown key {key_id!r}"
            )
        nonce, body = bytes(sealed[:NONCE_BYTES]), bytes(sealed[NONCE_BYTES:])
        return json.loads(AESGCM(self.keys[key_id]).decrypt(nonce, body, str(connection_id).encode()))


def new_key_setting(key_id: str = "k1") -> str:
    """A fresh value for SCHEDULING_SECRET_KEYS (used by the demo and tests)."""
    return f"{key_id}={base64.b64encode(os.urandom(32)).decode()}"
