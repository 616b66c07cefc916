"""JWT bearer tokens: HS256 with a shared secret, or RS256 with keys from a JWKS file or URL.

The token's `sub` names the caller; optional claims `models` (list or comma-separated),
`rpm` and `tpm` mirror an API key's limits.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import jwt

from api_server.auth.principal import Principal, allowlist
from api_server.config import Settings
from api_server.errors import AuthenticationError, AuthUnavailableError


class JwtVerifier:
    def __init__(self, settings: Settings) -> None:
        self.audience = settings.jwt_audience
        self.issuer = settings.jwt_issuer
        self._secret = settings.jwt_secret.get_secret_value() if settings.jwt_secret else None
        self._jwks: jwt.PyJWKSet | None = None
        self._jwks_client: jwt.PyJWKClient | None = None
        if settings.jwt_jwks_file is not None:
            self._jwks = jwt.PyJWKSet.from_dict(json.loads(settings.jwt_jwks_file.read_text()))
        elif settings.jwt_jwks_url is not None:
            # Fetched lazily, cached for 5 minutes, refetched on an unknown kid.
            self._jwks_client = jwt.PyJWKClient(settings.jwt_jwks_url, lifespan=300)

    async def verify(self, token: str) -> Principal:
        try:
            key, algorithm = await self._key_for(token)
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[algorithm],
                audience=self.audience,
                issuer=self.issuer,
                options={"require": ["exp", "sub"], "verify_aud": self.audience is not None},
            )
        except jwt.PyJWKClientConnectionError as exc:
            raise AuthUnavailableError("The token's signing keys cannot be fetched") from exc
        except (jwt.InvalidTokenError, jwt.PyJWKError) as exc:
            raise AuthenticationError(f"Invalid token: {exc}") from exc
        return Principal(
            name=str(claims["sub"]),
            models=allowlist(claims.get("models")),
            rpm=_positive_int(claims.get("rpm")),
            tpm=_positive_int(claims.get("tpm")),
            claims=claims,
        )

    async def _key_for(self, token: str) -> tuple[Any, str]:
        if self._secret is not None:
            return self._secret, "HS256"
        if self._jwks_client is not None:
            # PyJWKClient fetches with urllib: off the event loop.
            signing = await asyncio.to_thread(self._jwks_client.get_signing_key_from_jwt, token)
            return signing.key, "RS256"
        assert self._jwks is not None
        kid = jwt.get_unverified_header(token).get("kid")
        keys = [key for key in self._jwks.keys if kid is None or key.key_id == kid]
        if not keys:
            raise jwt.InvalidTokenError(f"no key with kid {kid!r} in the JWKS")
        return keys[0].key, "RS256"


def _positive_int(value: Any) -> int | None:
    return value if isinstance(value, int) and value > 0 else None
