"""Tenants never see each other's work, on the real stack (its Redis, PostgreSQL, local
Qdrant and all-MiniLM-L6-v2 embeddings): two API keys, two JWT subjects of one issuer, and
one subject of two issuers, against gateways of our own. Neither tenant of a pair gets the
other's exact or semantic cache hits, log rows (list, get, usage) or sessions; each does get
its own cache hits, so the tests can fail; the admin key sees both tenants' rows.

Chat calls go through the official OpenAI and Anthropic SDKs.
"""

from __future__ import annotations

import secrets
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anthropic
import httpx
import jwt
import openai
import pytest

from stackctl.api import NativeStack
from tests.integration.own_gateway import create_key, gateway_env, own_gateway

pytestmark = pytest.mark.integration

ADMIN_KEY = f"admin-{secrets.token_hex(16)}"
JWT_SECRET = secrets.token_hex(24)
AUDIENCE = "inferstack-tests"
SEMANTIC = {"x-semantic-cache": "on"}
WAIT_S = 30.0


@dataclass(frozen=True)
class Tenant:
    name: str
    credential: str  # an API key or a signed JWT
    key_id: str | None = None  # the key's id (API keys only)

    def openai(self, url: str) -> openai.OpenAI:
        return openai.OpenAI(base_url=f"{url}/v1", api_key=self.credential, max_retries=0)

    def anthropic(self, url: str) -> anthropic.Anthropic:
        return anthropic.Anthropic(base_url=url, api_key=self.credential, max_retries=0)

    def http(self, url: str) -> httpx.Client:
        headers = {"authorization": f"Bearer {self.credential}"}
        return httpx.Client(base_url=url, headers=headers, timeout=60)


@dataclass(frozen=True)
class Pair:
    url: str
    a: Tenant
    b: Tenant


def _token(issuer: str, subject: str) -> str:
    claims = {"iss": issuer, "sub": subject, "aud": AUDIENCE, "exp": int(time.time()) + 3600}
    return jwt.encode(claims, JWT_SECRET, algorithm="HS256")


def _env(stack: NativeStack, fake_engine_url: str, folder: Path, **settings: str) -> dict[str, str]:
    return gateway_env(
        stack,
        fake_engine_url,
        folder,
        INFERSTACK_LOGS_API_ENABLED="true",
        INFERSTACK_ADMIN_KEY=ADMIN_KEY,
        **settings,
    )


@pytest.fixture(scope="module")
def keys_gateway(
    native_stack: NativeStack, fake_engine_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Tenant, Tenant]]:
    folder = tmp_path_factory.mktemp("isolation-keys")
    env = _env(native_stack, fake_engine_url, folder)
    tenants = []
    for name in ("team-a", "team-b"):
        key_id, key = create_key(env, "--name", f"{name}-{uuid.uuid4().hex[:6]}")
        tenants.append(Tenant(name, key, key_id))
    with own_gateway(env, folder / "gateway.log") as url:
        yield url, tenants[0], tenants[1]


@pytest.fixture(scope="module")
def jwt_gateway(
    native_stack: NativeStack, fake_engine_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("isolation-jwt")
    env = _env(
        native_stack,
        fake_engine_url,
        folder,
        INFERSTACK_AUTH_MODE="jwt",
        INFERSTACK_JWT_SECRET=JWT_SECRET,
        INFERSTACK_JWT_AUDIENCE=AUDIENCE,
        # Tokens of two issuers, one of the cases: the issuer is part of the tenant.
        INFERSTACK_JWT_VERIFY_ISSUER="false",
        INFERSTACK_JWT_DEFAULT_MODELS='["*"]',
    )
    with own_gateway(env, folder / "gateway.log") as url:
        yield url


@pytest.fixture(params=["two-keys", "two-jwt-subjects", "one-subject-two-issuers"])
def pair(request: pytest.FixtureRequest) -> Pair:
    if request.param == "two-keys":
        url, a, b = request.getfixturevalue("keys_gateway")
        return Pair(url, a, b)
    url = request.getfixturevalue("jwt_gateway")
    # Fresh subjects per test: each test starts with tenants that own nothing yet.
    alice = f"alice-{uuid.uuid4().hex[:8]}"
    a = Tenant("alice@idp-a", _token("https://idp-a.example", alice))
    if request.param == "two-jwt-subjects":
        b = Tenant("bob@idp-a", _token("https://idp-a.example", f"bob-{uuid.uuid4().hex[:8]}"))
    else:
        b = Tenant("alice@idp-b", _token("https://idp-b.example", alice))
    return Pair(url, a, b)


def _completions(fake_engine: httpx.Client) -> int:
    return int(fake_engine.get("/_stats").json()["completions_total"])


def _until(condition: Callable[[], Any], what: str) -> Any:
    """Poll `condition` until it returns something truthy (the gateway stores cache entries
    and log rows after the response, off the request path)."""
    deadline = time.monotonic() + WAIT_S
    while not (result := condition()):
        assert time.monotonic() < deadline, f"never happened: {what}"
        time.sleep(0.1)
    return result


def _chat(tenant: Tenant, url: str, question: str, **kwargs: Any) -> Any:
    return tenant.openai(url).chat.completions.with_raw_response.create(
        model="fake-echo",
        messages=[{"role": "user", "content": question}],
        max_tokens=8,
        **kwargs,
    )


def _logs(tenant_or_admin: Tenant | str, url: str, path: str, **params: str) -> httpx.Response:
    credential = (
        tenant_or_admin.credential if isinstance(tenant_or_admin, Tenant) else tenant_or_admin
    )
    with httpx.Client(base_url=url, timeout=30) as http:
        return http.get(path, params=params, headers={"authorization": f"Bearer {credential}"})


def _rows(tenant_or_admin: Tenant | str, url: str, **params: str) -> list[dict[str, Any]]:
    response = _logs(tenant_or_admin, url, "/v1/logs", **params)
    assert response.status_code == 200, response.text
    rows: list[dict[str, Any]] = response.json()["data"]
    return rows


def test_exact_cache_hits_stay_with_their_tenant(pair: Pair, fake_engine: httpx.Client) -> None:
    question = f"What is the capital of France? ({uuid.uuid4()})"
    assert _chat(pair.a, pair.url, question, temperature=0).headers["x-cache"] == "MISS"
    # A's own repeat is a hit: the cache works, so a miss for B below means something.
    _until(
        lambda: _chat(pair.a, pair.url, question, temperature=0).headers["x-cache"] == "HIT",
        f"{pair.a.name}'s repeat served from the exact cache",
    )
    engine_calls = _completions(fake_engine)
    other = _chat(pair.b, pair.url, question, temperature=0)
    assert other.headers["x-cache"] == "MISS"
    assert _completions(fake_engine) == engine_calls + 1  # B's answer came from the engine


def test_semantic_cache_hits_stay_with_their_tenant(pair: Pair, fake_engine: httpx.Client) -> None:
    # Lookups never wait for a cold model (they miss while it loads): load it first.
    pair.a.openai(pair.url).embeddings.create(model="all-MiniLM-L6-v2", input="warm up")
    topic = uuid.uuid4().hex[:8]
    sampled = {"temperature": 0.7, "extra_headers": SEMANTIC}  # the exact cache stays out
    _chat(pair.a, pair.url, f"What is the capital of France? Topic {topic}.", **sampled)
    paraphrase = f"What is France's capital? Topic {topic}."

    def a_hits() -> bool:
        headers: httpx.Headers = _chat(pair.a, pair.url, paraphrase, **sampled).headers
        return (headers["x-cache"], headers.get("x-cache-kind")) == ("HIT", "semantic")

    _until(a_hits, f"{pair.a.name}'s paraphrase served from the semantic cache")
    engine_calls = _completions(fake_engine)
    other = _chat(pair.b, pair.url, paraphrase, **sampled)
    assert other.headers["x-cache"] != "HIT"
    assert _completions(fake_engine) == engine_calls + 1


def test_log_rows_and_usage_stay_with_their_tenant(pair: Pair) -> None:
    since = (datetime.now(UTC) - timedelta(milliseconds=1)).isoformat()
    tag = uuid.uuid4().hex[:12]
    sent: dict[str, tuple[Tenant, str]] = {}  # client id -> (tenant, our request id)
    for tenant, count in ((pair.a, 2), (pair.b, 1)):
        for n in range(count):
            client_id = f"{tag}-{tenant.name.replace('@', '.')}-{n}"  # [A-Za-z0-9._:-]
            reply = _chat(
                tenant,
                pair.url,
                f"hello {client_id}",
                extra_headers={"X-Client-Request-Id": client_id},
            )
            assert reply.headers["x-client-request-id"] == client_id
            sent[client_id] = (tenant, reply.headers["x-request-id"])
    until = (datetime.now(UTC) + timedelta(milliseconds=1)).isoformat()
    window = {"since": since, "until": until, "limit": "500"}
    everything = _until(
        lambda: len(rows := _rows(ADMIN_KEY, pair.url, **window)) >= len(sent) and rows,
        "the admin sees every row",
    )
    assert {request_id for _, request_id in sent.values()} <= {row["id"] for row in everything}

    for tenant in (pair.a, pair.b):
        own = {request_id for owner, request_id in sent.values() if owner is tenant}
        others = {request_id for owner, request_id in sent.values() if owner is not tenant}
        listed = _rows(tenant, pair.url, **window)
        assert {row["id"] for row in listed} == own
        assert len({row["tenant"] for row in listed}) == 1 and listed[0]["tenant"] is not None
        for client_id, (owner, request_id) in sent.items():
            found = _rows(tenant, pair.url, client_request_id=client_id)
            assert [row["id"] for row in found] == ([request_id] if owner is tenant else [])
        # Another tenant's row answers exactly as a row that does not exist.
        missing = uuid.uuid4().hex
        absent = _logs(tenant, pair.url, f"/v1/logs/{missing}")
        for request_id in others:
            theirs = _logs(tenant, pair.url, f"/v1/logs/{request_id}")
            assert theirs.status_code == absent.status_code == 404
            assert theirs.json()["error"] == {
                **absent.json()["error"],
                "message": absent.json()["error"]["message"].replace(missing, request_id),
            }
        for request_id in own:
            assert _logs(tenant, pair.url, f"/v1/logs/{request_id}").status_code == 200
        for group_by in ("model", "key", "day"):
            usage = _logs(tenant, pair.url, "/v1/usage", group_by=group_by, **window)
            assert usage.status_code == 200, usage.text
            groups = usage.json()["data"]
            assert sum(group["requests"] for group in groups) == len(own), group_by
            if group_by == "key":
                assert [group["key"] for group in groups] == [tenant.key_id]

    admin_usage = _logs(ADMIN_KEY, pair.url, "/v1/usage", group_by="model", **window).json()
    assert sum(group["requests"] for group in admin_usage["data"]) >= len(sent)


def test_a_session_id_is_no_way_into_another_tenants_session(pair: Pair) -> None:
    session = f"shared-{uuid.uuid4().hex}"
    mine: dict[str, str] = {}  # tenant name -> request id
    for tenant in (pair.a, pair.b):
        raw = tenant.anthropic(pair.url).messages.with_raw_response.create(
            model="fake-echo",
            max_tokens=8,
            messages=[{"role": "user", "content": f"hello from {tenant.name}"}],
            extra_headers={"X-Session-ID": session},
        )
        assert raw.headers["x-session-id"] == session
        mine[tenant.name] = raw.headers["x-request-id"]
    _until(
        lambda: len(_rows(ADMIN_KEY, pair.url, session_id=session)) == 2,
        "both tenants' rows of the session",
    )
    for tenant in (pair.a, pair.b):
        rows = _rows(tenant, pair.url, session_id=session)
        assert [row["id"] for row in rows] == [mine[tenant.name]]

    # A session id the gateway derives from the conversation differs per tenant too.
    derived = {
        tenant.name: _chat(tenant, pair.url, f"same opening {session}").headers["x-session-id"]
        for tenant in (pair.a, pair.b)
    }
    assert len(set(derived.values())) == 2


def test_the_logs_api_asks_for_credentials(keys_gateway: tuple[str, Tenant, Tenant]) -> None:
    url = keys_gateway[0]
    with httpx.Client(base_url=url, timeout=30) as http:
        for path in ("/v1/logs", "/v1/usage"):
            response = http.get(path)
            assert response.status_code == 401
            assert response.json()["error"]["type"] == "authentication_error"
