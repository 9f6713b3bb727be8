"""Who sends a request: the Supabase access token in its Authorization header.

Supabase signs access tokens with the project's JWT secret (HS256, its legacy keys) or, with its
JWT signing keys, with an asymmetric key (ES256 or RS256) whose public
half it publishes at <project URL>/auth/v1/.well-known/jwks.json. A token is checked the way its
header says it was signed: HS256 with the secret, the others with the published key of its
`kid` (fetched once and kept; fetched again for a `kid` not seen yet, after a key rotation).
"""

from __future__ import annotations

import jwt

SECRET_ALGORITHM = "HS256"
KEY_ALGORITHMS = ("ES256", "RS256")
JWKS_PATH = "/auth/v1/.well-known/jwks.json"


class SigningKeysUnavailable(Exception):
    """The project's published keys could not be fetched: the token is neither good nor bad yet."""


class AccessTokens:
    def __init__(self, jwt_secret: str | None, supabase_url: str | None, timeout_seconds: float) -> None:
        self.jwt_secret = jwt_secret
        self.signing_keys = (
            jwt.PyJWKClient(f"{supabase_url}{JWKS_PATH}", cache_keys=True, timeout=timeout_seconds)
            if supabase_url is not None
            else None
        )

    @property
    def configured(self) -> bool:
        return self.jwt_secret is not None or self.signing_keys is not None

    def user(self, authorization: str) -> str | None:
        """The user id of a valid access token of a signed-in user ("Bearer <token>"), else None.

        Blocks while the published keys are fetched: call it from a thread.
        """
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token:
            return None
        try:
            algorithm = jwt.get_unverified_header(token).get("alg")
            if algorithm == SECRET_ALGORITHM and self.jwt_secret is not None:
                key = self.jwt_secret
            elif algorithm in KEY_ALGORITHMS and self.signing_keys is not None:
                key = self.signing_keys.get_signing_key_from_jwt(token).key
            else:
                return None
            # Supabase's access tokens always carry an expiry: one without is not one of them.
            claims = jwt.decode(
                token,
                key,
                algorithms=[algorithm],
                audience="authenticated",
                options={"require": ["exp", "sub"]},
            )
        except jwt.PyJWKClientConnectionError as unreachable:
            raise SigningKeysUnavailable(str(unreachable)) from unreachable
        except jwt.PyJWTError:
            return None
        return claims.get("sub") if claims.get("role") == "authenticated" else None
