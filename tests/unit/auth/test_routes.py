"""Auth on the front doors: 401/403 in each client's envelope, open paths stay open, the key
id reaches the request log, and auth_mode=none changes nothing."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import jwt
import openai
import pytest
from fastapi.testclient import TestClient

from api_server.app import create_app
from api_server.config import Settings
from api_server.registry import ModelRegistry
from tests.unit.auth.fakes import ListSink, MemoryKeyStore

ADMIN = "an-admin-key-long-enough"
DB = "postgresql://u:p@127.0.0.1:9/x"  # never reached: keys come from the memory store
HELLO = [{"role": "user", "content": "hello"}]
CHAT = {"model": "tiny", "messages": HELLO, "max_tokens": 4}
MESSAGE = {"model": "tiny", "messages": HELLO, "max_tokens": 4}


@pytest.fixture
def keys() -> MemoryKeyStore:
    return MemoryKeyStore()


@pytest.fixture
def sink() -> ListSink:
    return ListSink()


def gateway(models_file: Path, sink: ListSink, keys: MemoryKeyStore, **settings: Any) -> TestClient:
    app = create_app(
        Settings(models_file=models_file, **settings),
        ModelRegistry.from_file(models_file),
        request_log=sink,
        key_store=keys,
    )
    return TestClient(app)


@pytest.fixture
def client(models_file: Path, sink: ListSink, keys: MemoryKeyStore) -> Iterator[TestClient]:
    with gateway(models_file, sink, keys, auth_mode="api_key", database_url=DB) as test_client:
        yield test_client


def test_openai_sdk_with_a_key_works_and_the_log_row_names_it(
    client: TestClient, keys: MemoryKeyStore, sink: ListSink
) -> None:
    record, key = keys.add("ci")
    sdk = openai.OpenAI(base_url="http://testserver/v1", api_key=key, http_client=client)
    reply = sdk.chat.completions.create(model="tiny", messages=HELLO, max_tokens=4)  # type: ignore[arg-type]
    assert reply.choices[0].message.content
    assert sink.records[-1].api_key_id == record.id


def test_anthropic_sdk_sends_x_api_key(client: TestClient, keys: MemoryKeyStore) -> None:
    _, key = keys.add("claude-code")
    sdk = anthropic.Anthropic(base_url="http://testserver", api_key=key, http_client=client)
    message = sdk.messages.create(model="tiny", max_tokens=4, messages=HELLO)  # type: ignore[arg-type]
    assert message.content


@pytest.mark.parametrize(
    "headers",
    [{}, {"authorization": "Bearer isk-" + "x" * 32}, {"x-api-key": "not-a-key"}],
    ids=["missing", "unknown", "malformed"],
)
def test_401_in_each_clients_envelope(client: TestClient, headers: dict[str, str]) -> None:
    response = client.post("/v1/chat/completions", json=CHAT, headers=headers)
    assert response.status_code == 401
    error = response.json()["error"]
    assert (error["type"], error["code"]) == ("authentication_error", "invalid_api_key")
    response = client.post("/v1/messages", json=MESSAGE, headers=headers)
    assert response.status_code == 401
    assert response.json() == {
        "type": "error",
        "error": {"type": "authentication_error", "message": response.json()["error"]["message"]},
    }
    assert client.get("/v1/models", headers=headers).status_code == 401


def test_key_is_never_echoed(client: TestClient) -> None:
    key = "isk-" + "s" * 32
    response = client.post("/v1/chat/completions", json=CHAT, headers={"x-api-key": key})
    assert key not in response.text and "sssss" not in response.text


def test_model_outside_the_allowlist_is_403(
    client: TestClient, keys: MemoryKeyStore, sink: ListSink
) -> None:
    record, key = keys.add("narrow", models=("Llama-3.1-8B-Instruct",))
    headers = {"authorization": f"Bearer {key}"}
    response = client.post("/v1/chat/completions", json=CHAT, headers=headers)
    assert response.status_code == 403
    assert response.json()["error"]["type"] == "permission_error"
    assert sink.records[-1].api_key_id == record.id and sink.records[-1].status_code == 403
    response = client.post("/v1/messages", json=MESSAGE, headers={"x-api-key": key})
    assert response.status_code == 403
    assert response.json()["error"]["type"] == "permission_error"
    allowed = {**CHAT, "model": "llama-3.1-8b-instruct"}  # names match as clients type them
    assert client.post("/v1/chat/completions", json=allowed, headers=headers).status_code == 200


def test_open_paths_stay_open(client: TestClient) -> None:
    for path in [
        "/health",
        "/health/live",
        "/metrics",
        "/",
        "/dashboard",
        "/dashboard/static/metrics.js",
    ]:
        assert client.get(path).status_code == 200, path


def test_key_lookups_happen_once_per_request(client: TestClient, keys: MemoryKeyStore) -> None:
    _, key = keys.add("ci")
    client.post("/v1/chat/completions", json=CHAT, headers={"x-api-key": key})
    assert keys.lookups == 1  # router and handler share one resolution of the dependency


def test_auth_none_changes_nothing(models_file: Path, sink: ListSink, keys: MemoryKeyStore) -> None:
    with gateway(models_file, sink, keys) as client:
        assert client.post("/v1/chat/completions", json=CHAT).status_code == 200
        assert client.post("/v1/messages", json=MESSAGE).status_code == 200
        assert client.get("/v1/models").status_code == 200
        assert client.get("/v1/admin/keys").status_code == 404  # no admin_key: not mounted
    assert keys.lookups == 0 and sink.records[-1].api_key_id is None


def test_jwt_mode(models_file: Path, sink: ListSink, keys: MemoryKeyStore) -> None:
    secret = "a-shared-secret-of-32-characters"
    audience = {"jwt_audience": "inferstack", "jwt_issuer": "https://idp.example"}
    with gateway(models_file, sink, keys, auth_mode="jwt", jwt_secret=secret, **audience) as client:
        claims = {"sub": "bob", "exp": int(time.time()) + 60, "aud": "inferstack"}
        claims["iss"] = "https://idp.example"
        token = jwt.encode({**claims, "models": ["tiny"]}, secret, "HS256")
        headers = {"authorization": f"Bearer {token}"}
        assert client.post("/v1/chat/completions", json=CHAT, headers=headers).status_code == 200
        assert (
            client.post("/v1/messages", json=MESSAGE, headers={"x-api-key": token}).status_code
            == 200
        )
        other = {**CHAT, "model": "Llama-3.1-8B-Instruct"}
        assert client.post("/v1/chat/completions", json=other, headers=headers).status_code == 403
        assert client.post("/v1/chat/completions", json=CHAT).status_code == 401
        modelless = {"authorization": f"Bearer {jwt.encode(claims, secret, 'HS256')}"}
        assert client.post("/v1/chat/completions", json=CHAT, headers=modelless).status_code == 403


def test_admin_endpoint_needs_the_admin_key(
    models_file: Path, sink: ListSink, keys: MemoryKeyStore
) -> None:
    with gateway(models_file, sink, keys, database_url=DB, admin_key=ADMIN) as client:
        assert client.get("/v1/admin/keys").status_code == 401
        wrong = {"authorization": "Bearer an-admin-key-long-enougX"}
        assert client.get("/v1/admin/keys", headers=wrong).status_code == 401
        _, user_key = keys.add("user")
        assert client.get("/v1/admin/keys", headers={"x-api-key": user_key}).status_code == 401


ADMIN_HEADERS = {"authorization": f"Bearer {ADMIN}"}
ADMIN_JSON_HEADERS = {**ADMIN_HEADERS, "content-type": "application/json"}


@pytest.fixture
def admin(models_file: Path, sink: ListSink, keys: MemoryKeyStore) -> Iterator[TestClient]:
    with gateway(models_file, sink, keys, database_url=DB, admin_key=ADMIN) as test_client:
        yield test_client


@pytest.mark.parametrize(
    "headers", [{}, {"authorization": "Bearer not-the-admin-key-at-all"}], ids=["none", "wrong"]
)
def test_admin_key_is_checked_before_the_body_is_read(
    admin: TestClient, headers: dict[str, str]
) -> None:
    oversized_garbage = b"{" * (5 * 1024 * 1024)  # past every limit, and not JSON
    response = admin.post("/v1/admin/keys", content=oversized_garbage, headers=headers)
    assert response.status_code == 401
    assert response.json()["error"]["type"] == "authentication_error"
    metrics = admin.get("/metrics").text
    assert 'inferstack_auth_failures_total{reason="admin_key"} 1.0' in metrics


def test_admin_body_is_limited(admin: TestClient) -> None:
    body = b'{"name": "' + b"x" * (64 * 1024) + b'"}'
    response = admin.post("/v1/admin/keys", content=body, headers=ADMIN_JSON_HEADERS)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "request_too_large"


@pytest.mark.parametrize(
    ("body", "named"),
    [
        (b"not json", "body"),
        (b'{"name": ""}', "name"),
        (b'{"name": "a", "rpm": 0}', "rpm"),
        (b'{"name": "a", "priority": "urgent"}', "priority"),
    ],
    ids=["not-json", "empty-name", "zero-rpm", "unknown-priority"],
)
def test_bad_new_keys_are_400s_in_the_openai_envelope(
    admin: TestClient, body: bytes, named: str
) -> None:
    response = admin.post("/v1/admin/keys", content=body, headers=ADMIN_JSON_HEADERS)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error" and named in error["message"]


def test_admin_api_with_the_database_down_is_a_503(admin: TestClient) -> None:
    response = admin.post("/v1/admin/keys", json={"name": "ci"}, headers=ADMIN_HEADERS)
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "auth_unavailable"
    assert admin.get("/v1/admin/keys", headers=ADMIN_HEADERS).status_code == 503


def test_refusals_are_audited_without_the_credential(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    key = "isk-" + "q" * 32
    with caplog.at_level(logging.WARNING, logger="api_server.auth.audit"):
        client.post("/v1/chat/completions", json=CHAT, headers={"x-api-key": key})
        client.post("/v1/chat/completions", json=CHAT)
    refusals = [r for r in caplog.records if r.name == "api_server.auth.audit"]
    assert [r.fields["reason"] for r in refusals] == ["unknown_key", "missing"]  # type: ignore[attr-defined]
    assert all("qqqq" not in r.getMessage() for r in refusals)
    assert all(r.fields["client"] for r in refusals)  # type: ignore[attr-defined]
    metrics = client.get("/metrics").text
    assert 'inferstack_auth_failures_total{reason="unknown_key"} 1.0' in metrics
    assert 'inferstack_auth_failures_total{reason="missing"} 1.0' in metrics
