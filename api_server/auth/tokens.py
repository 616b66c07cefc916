"""JWT bearer tokens: HS256 with a shared secret, or RS256 with keys from a JWKS file or URL.

The token's `sub` names the caller; `exp` is required, and so are `aud` and `iss` (matching
jwt_audience / jwt_issuer) unless explicitly opted out of. Optional claims `models` (list or
comma-separated), `rpm` and `tpm` mirror an API key's limits; a token without `models` may
use jwt_default_models (none by default).
"""

from __future__ import annotations

import json
from typing import Any

import jwt
from jwt.types import Options

from api_server.auth.jwks import JwksCache, keys_by_kid
from api_server.auth.principal import Principal, allowlist
from api_server.config import Settings
from api_server.errors import AuthenticationError
from api_server.priority_classes import priority_class

EVERY_MODEL = "*"


class JwtVerifier:
    def __init__(self, settings: Settings) -> None:
        self.audience = settings.jwt_audience if settings.jwt_verify_audience else None
        self.issuer = settings.jwt_issuer if settings.jwt_verify_issuer else None
        defaults = settings.jwt_default_models
        self.default_models = None if EVERY_MODEL in defaults else allowlist(list(defaults))
        self._secret = settings.jwt_secret.get_secret_value() if settings.jwt_secret else None
        self._file_keys: dict[str, jwt.PyJWK] | None = None
        self.jwks: JwksCache | None = None
        if settings.jwt_jwks_file is not None:
            document = json.loads(settings.jwt_jwks_file.read_text())
            self._file_keys = keys_by_kid(jwt.PyJWKSet.from_dict(document))
        elif settings.jwt_jwks_url is not None:
            self.jwks = JwksCache(
                settings.jwt_jwks_url,
                cache_s=settings.jwt_jwks_cache_s,
                refresh_min_s=settings.jwt_jwks_refresh_min_s,
                timeout_s=settings.jwt_jwks_timeout_s,
            )
        required = ["exp", "sub"]
        required += ["aud"] if self.audience is not None else []
        required += ["iss"] if self.issuer is not None else []
        self._options: Options = {
            "require": required,
            "verify_aud": self.audience is not None,
            "verify_iss": self.issuer is not None,
        }

    async def verify(self, token: str) -> Principal:
        try:
            key, algorithm = await self._key_for(token)
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[algorithm],
                audience=self.audience,
                issuer=self.issuer,
                options=self._options,
            )
        except (jwt.InvalidTokenError, jwt.PyJWKError) as exc:
            raise AuthenticationError(f"Invalid token: {exc}", reason="invalid_token") from exc
        models = claims.get("models")
        return Principal(
            name=str(claims["sub"]),
            models=allowlist(models) if models is not None else self.default_models,
            rpm=_positive_int(claims.get("rpm")),
            tpm=_positive_int(claims.get("tpm")),
            claims=claims,
            priority=priority_class(claims.get("priority")),
        )

    async def _key_for(self, token: str) -> tuple[Any, str]:
        if self._secret is not None:
            return self._secret, "HS256"
        kid = jwt.get_unverified_header(token).get("kid")
        if self.jwks is not None:
            return (await self.jwks.key_for(kid)).key, "RS256"
        assert self._file_keys is not None
        if not kid or kid not in self._file_keys:
            raise AuthenticationError(
                "Invalid token: no signing key for its kid in the JWKS", reason="unknown_kid"
            )
        return self._file_keys[str(kid)].key, "RS256"


def _positive_int(value: Any) -> int | None:
    return value if isinstance(value, int) and value > 0 else None
