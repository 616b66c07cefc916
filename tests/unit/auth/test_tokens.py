"""JWT bearer tokens: HS256 with a shared secret, RS256 with a JWKS file; audience and
issuer always checked unless opted out of; no `models` claim, no models (by default)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from api_server.auth.tokens import JwtVerifier
from api_server.config import Settings
from api_server.errors import AuthenticationError

SECRET = "a-shared-secret-of-32-characters"
IDP = "https://idp.example"
AUD_ISS = {"jwt_audience": "inferstack", "jwt_issuer": IDP}


def claims(**extra: Any) -> dict[str, Any]:
    return {"sub": "alice", "exp": int(time.time()) + 60, "aud": "inferstack", "iss": IDP, **extra}


def hs256(**extra: Any) -> str:
    return jwt.encode(claims(**extra), SECRET, algorithm="HS256")


@pytest.fixture
def verifier() -> JwtVerifier:
    return JwtVerifier(Settings(auth_mode="jwt", jwt_secret=SECRET, **AUD_ISS))


async def test_hs256_token_names_the_caller_and_its_models(verifier: JwtVerifier) -> None:
    principal = await verifier.verify(hs256(models=["Tiny", "llama"], rpm=30))
    assert principal.name == "alice" and principal.key_id is None
    assert principal.models == {"tiny", "llama"}
    assert principal.rpm == 30 and principal.claims["aud"] == "inferstack"


@pytest.mark.parametrize(
    ("claimed", "expected"), [("low", "low"), ("high", "high"), ("urgent", None), (3, None)]
)
async def test_a_tokens_priority_claim_is_its_class_when_known(
    verifier: JwtVerifier, claimed: object, expected: str | None
) -> None:
    assert (await verifier.verify(hs256(priority=claimed))).priority == expected
    assert (await verifier.verify(hs256())).priority is None


@pytest.mark.parametrize(
    "token",
    [
        hs256(exp=int(time.time()) - 10),
        hs256(aud="someone-else"),
        hs256(iss="https://evil.example"),
        jwt.encode({k: v for k, v in claims().items() if k != "aud"}, SECRET, algorithm="HS256"),
        jwt.encode({k: v for k, v in claims().items() if k != "iss"}, SECRET, algorithm="HS256"),
        jwt.encode(claims(), "another-secret-of-32-characters!", algorithm="HS256"),
        jwt.encode({"sub": "alice", "aud": "inferstack"}, SECRET, algorithm="HS256"),  # no exp
        "isk-not-a-jwt",
    ],
    ids=[
        "expired",
        "wrong-audience",
        "wrong-issuer",
        "no-audience",
        "no-issuer",
        "wrong-secret",
        "no-exp",
        "garbage",
    ],
)
async def test_bad_tokens_are_refused(verifier: JwtVerifier, token: str) -> None:
    with pytest.raises(AuthenticationError):
        await verifier.verify(token)


async def test_rs256_with_a_jwks_file(tmp_path: Path) -> None:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(private.public_key()))
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps({"keys": [{**jwk, "kid": "k1", "use": "sig", "alg": "RS256"}]}))
    verifier = JwtVerifier(Settings(auth_mode="jwt", jwt_jwks_file=jwks, **AUD_ISS))
    good = jwt.encode(
        claims(iss="https://idp.example"), private, algorithm="RS256", headers={"kid": "k1"}
    )
    assert (await verifier.verify(good)).name == "alice"
    for bad in [
        jwt.encode(
            claims(iss="https://idp.example"), other, algorithm="RS256", headers={"kid": "k1"}
        ),
        jwt.encode(claims(iss="https://evil"), private, algorithm="RS256", headers={"kid": "k1"}),
        jwt.encode(
            claims(iss="https://idp.example"), private, algorithm="RS256", headers={"kid": "k9"}
        ),
        jwt.encode(claims(), private, algorithm="RS256"),  # no kid
        hs256(iss="https://idp.example"),  # HS256 is not accepted where RS256 is configured
    ]:
        with pytest.raises(AuthenticationError):
            await verifier.verify(bad)


async def test_a_token_without_models_may_use_none_by_default(verifier: JwtVerifier) -> None:
    assert (await verifier.verify(hs256())).models == frozenset()


@pytest.mark.parametrize(
    ("defaults", "expected"),
    [(("tiny",), frozenset({"tiny"})), (("*",), None)],
    ids=["listed", "every-model"],
)
async def test_jwt_default_models_decide_for_tokens_without_models(
    defaults: tuple[str, ...], expected: frozenset[str] | None
) -> None:
    settings = Settings(auth_mode="jwt", jwt_secret=SECRET, jwt_default_models=defaults, **AUD_ISS)
    verifier = JwtVerifier(settings)
    assert (await verifier.verify(hs256())).models == expected
    assert (await verifier.verify(hs256(models=["llama"]))).models == {"llama"}  # the claim wins


async def test_opted_out_audience_and_issuer_are_not_checked() -> None:
    settings = Settings(
        auth_mode="jwt", jwt_secret=SECRET, jwt_verify_audience=False, jwt_verify_issuer=False
    )
    token = jwt.encode({"sub": "alice", "exp": int(time.time()) + 60}, SECRET, algorithm="HS256")
    assert (await JwtVerifier(settings).verify(token)).name == "alice"
    assert (await JwtVerifier(settings).verify(hs256(aud="other", iss="other"))).name == "alice"
