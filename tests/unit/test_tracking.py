"""Each request leaves exactly one request-log record with what happened."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest
from fastapi.testclient import TestClient

from api_server.app import create_app
from api_server.config import Settings
from api_server.logs.record import RequestLogRecord
from api_server.registry import ModelRegistry
from tests.unit.scripted_engine import Scripted, ScriptedEngine

HELLO = [{"role": "user", "content": "hi"}]


class RecordingSink:
    def __init__(self) -> None:
        self.records: list[RequestLogRecord] = []

    def enqueue(self, record: RequestLogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def sink() -> RecordingSink:
    return RecordingSink()


@pytest.fixture
def logged(models_file: Path, sink: RecordingSink) -> Iterator[TestClient]:
    app = create_app(Settings(models_file=models_file), ModelRegistry.from_file(models_file), sink)
    with TestClient(app) as client:
        yield client


def test_success_is_logged_with_tokens_and_timings(
    logged: TestClient, sink: RecordingSink, engine: ScriptedEngine
) -> None:
    body = {"model": "tiny", "messages": HELLO, "user": "alice"}
    response = logged.post("/v1/chat/completions", json=body, headers={"X-Request-ID": "req-1"})
    [record] = sink.records
    # The row's id is the gateway's, the one the response names; the client's is its own.
    assert record.id == response.headers["x-request-id"] != "req-1"
    assert record.client_request_id == "req-1"
    assert record.tenant is None  # auth off: anonymous
    assert (record.endpoint, record.api_flavour, record.model) == (
        "/v1/chat/completions",
        "openai",
        "tiny-chatml",
    )
    assert (record.engine, record.replica) == ("llamacpp", engine.url)
    assert (record.status_code, record.error_type) == (200, None)
    assert (record.prompt_tokens, record.completion_tokens) == (7, 3)
    assert record.end_user == "alice"
    assert record.stream is False
    assert record.client_addr
    assert record.latency_ms is not None and record.ttft_ms is not None
    assert 0 <= record.ttft_ms <= record.latency_ms
    assert record.received_at <= record.first_token_at <= record.finished_at  # type: ignore[operator]


def test_streams_and_failures_are_logged_once(
    logged: TestClient, sink: RecordingSink, engine: ScriptedEngine
) -> None:
    logged.post("/v1/chat/completions", json={"model": "tiny", "messages": HELLO, "stream": True})
    engine.script = Scripted(500, [b"boom"])
    logged.post("/v1/chat/completions", json={"model": "tiny", "messages": HELLO})
    logged.post("/v1/chat/completions", json={"model": "nope", "messages": HELLO})
    logged.post("/v1/completions", json={"model": "tiny", "prompt": "x"})
    assert [(r.stream, r.status_code, r.model) for r in sink.records] == [
        (True, 200, "tiny-chatml"),
        (False, 502, "tiny-chatml"),
        (False, 404, None),
        (False, 502, "tiny-chatml"),
    ]
    assert sink.records[1].error_type == "engine_error"
    assert sink.records[3].endpoint == "/v1/completions"
    assert len({r.id for r in sink.records}) == 4


def test_a_reused_client_id_still_leaves_one_row_per_request(
    logged: TestClient, sink: RecordingSink
) -> None:
    body = {"model": "tiny", "messages": HELLO}
    for header in ("X-Request-ID", "X-Client-Request-Id", "X-Request-ID"):
        response = logged.post("/v1/chat/completions", json=body, headers={header: "same"})
        assert response.headers["x-client-request-id"] == "same"
    ids = [record.id for record in sink.records]
    assert len(set(ids)) == 3
    assert [record.client_request_id for record in sink.records] == ["same"] * 3


def test_each_caller_is_its_own_tenant_in_the_row(models_file: Path, sink: RecordingSink) -> None:
    """JWT callers have no key: before the tenant column their rows could not be told
    apart (api_key_id NULL for all). Two subjects of one issuer, and one subject of two
    issuers, are three tenants."""
    secret = "a-shared-secret-of-32-characters"
    settings = Settings(
        models_file=models_file,
        auth_mode="jwt",
        jwt_secret=secret,
        jwt_verify_audience=False,  # two issuers: the check the tenant must not need
        jwt_verify_issuer=False,
        jwt_default_models=["*"],
    )
    app = create_app(settings, ModelRegistry.from_file(models_file), sink)
    callers = [("https://idp-a", "alice"), ("https://idp-a", "bob"), ("https://idp-b", "alice")]
    body = {"model": "tiny", "messages": HELLO}
    with TestClient(app) as client:
        for issuer, subject in callers:
            claims = {"iss": issuer, "sub": subject, "exp": int(time.time()) + 60}
            token = jwt.encode(claims, secret, "HS256")
            headers = {"authorization": f"Bearer {token}", "X-Session-ID": "shared"}
            assert client.post("/v1/chat/completions", json=body, headers=headers).is_success
    tenants = [record.tenant for record in sink.records]
    assert len(set(tenants)) == 3 and all(t is not None and t.startswith("jwt:") for t in tenants)
    assert {record.api_key_id for record in sink.records} == {None}
    # One session id, three tenants: the logs API reads a session within one tenant's rows.
    assert {record.session_id for record in sink.records} == {"shared"}
