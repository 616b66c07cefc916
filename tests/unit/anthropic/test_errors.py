"""Errors under /v1/messages reach the client in Anthropic's envelope with its status codes;
the OpenAI routes keep OpenAI's."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from api_server.anthropic.errors import anthropic_envelope
from api_server.errors import (
    ClientGoneError,
    ContextLengthExceededError,
    EngineOverloadedError,
    EngineResponseError,
    EngineTimeoutError,
    EngineUnavailableError,
    InferstackError,
    InvalidRequestError,
    ModelNotFoundError,
    QueueFullError,
    QueueTimeoutError,
    RequestTooLargeError,
    UnsupportedFeatureError,
)
from tests.unit.scripted_engine import Scripted, ScriptedEngine

MESSAGES = "/v1/messages"
HELLO = [{"role": "user", "content": "hi"}]


def http_error(status: int) -> InferstackError:
    error = InferstackError("x")
    error.status_code = status
    return error


@pytest.mark.parametrize(
    ("error", "status", "error_type"),
    [
        (InvalidRequestError("x"), 400, "invalid_request_error"),
        (ContextLengthExceededError("x"), 400, "invalid_request_error"),
        (UnsupportedFeatureError("x"), 400, "invalid_request_error"),
        (http_error(401), 401, "authentication_error"),
        (http_error(403), 403, "permission_error"),
        (ModelNotFoundError("x"), 404, "not_found_error"),
        (http_error(405), 405, "invalid_request_error"),
        (RequestTooLargeError("x"), 413, "request_too_large"),
        (EngineOverloadedError("x"), 429, "rate_limit_error"),
        (QueueFullError("x"), 429, "rate_limit_error"),
        (ClientGoneError("x"), 499, "invalid_request_error"),
        (InferstackError("x"), 500, "api_error"),
        (EngineResponseError("x"), 502, "api_error"),
        (EngineUnavailableError("x"), 529, "overloaded_error"),
        (QueueTimeoutError("x"), 529, "overloaded_error"),  # busy: back off and retry
        (EngineTimeoutError("x"), 504, "timeout_error"),
    ],
)
def test_status_and_type(error: InferstackError, status: int, error_type: str) -> None:
    assert anthropic_envelope(error) == (
        status,
        {"type": "error", "error": {"type": error_type, "message": "x"}},
    )


def assert_envelope(response: Any, status: int, error_type: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"type", "error"} and body["type"] == "error"
    assert set(body["error"]) == {"type", "message"}
    assert body["error"]["type"] == error_type
    message: str = body["error"]["message"]
    assert message
    return message


@pytest.mark.parametrize(
    ("body", "status", "error_type", "says"),
    [
        ({"model": "tiny", "messages": HELLO}, 400, "invalid_request_error", "max_tokens"),
        (
            {"model": "tiny", "max_tokens": 0, "messages": HELLO},
            400,
            "invalid_request_error",
            "max_tokens",
        ),
        (
            {"model": "tiny", "max_tokens": 8, "messages": []},
            400,
            "invalid_request_error",
            "messages",
        ),
        (
            {"model": "tiny", "max_tokens": 8, "messages": HELLO, "temperature": 1.5},
            400,
            "invalid_request_error",
            "temperature",
        ),
        ({"model": "gpt-9", "max_tokens": 8, "messages": HELLO}, 404, "not_found_error", "gpt-9"),
        (
            {
                "model": "tiny",
                "max_tokens": 8,
                "messages": [{"role": "user", "content": [{"type": "document"}]}],
            },
            400,
            "invalid_request_error",
            "document",
        ),
        (
            {"model": "engine-down", "max_tokens": 8, "messages": HELLO},
            529,
            "overloaded_error",
            "not reachable",
        ),
    ],
)
def test_http_errors_use_anthropics_envelope(
    client: TestClient, body: dict[str, Any], status: int, error_type: str, says: str
) -> None:
    message = assert_envelope(client.post(MESSAGES, json=body), status, error_type)
    assert says in message


@pytest.mark.parametrize(
    ("stops", "says"),
    [
        (["a", "b", "c", "d", "e"], "at most 4 stop sequences"),
        (["END", "x" * 257], "stop sequence 1 is 257 characters long"),
    ],
)
def test_stop_sequences_are_bounded_like_openais_stop(
    client: TestClient, engine: ScriptedEngine, stops: list[str], says: str
) -> None:
    body = {"model": "tiny", "max_tokens": 8, "messages": HELLO, "stop_sequences": stops}
    response = client.post(MESSAGES, json=body)
    assert says in assert_envelope(response, 400, "invalid_request_error")
    assert engine.requests == []
    at_the_bound = {**body, "stop_sequences": ["a", "b", "c", "x" * 256]}
    assert client.post(MESSAGES, json=at_the_bound).status_code == 200


def test_malformed_json_and_oversized_bodies(client: TestClient) -> None:
    response = client.post(MESSAGES, content=b"{nope", headers={"content-type": "application/json"})
    assert "JSON" in assert_envelope(response, 400, "invalid_request_error")
    huge = b'{"x": "' + b"a" * 70_000 + b'"}'
    response = client.post(MESSAGES, content=huge, headers={"content-type": "application/json"})
    assert_envelope(response, 413, "request_too_large")


def test_wrong_method_and_count_tokens_use_it_too(client: TestClient) -> None:
    assert_envelope(client.get(MESSAGES), 405, "invalid_request_error")
    response = client.post(f"{MESSAGES}/count_tokens", json={"model": "nope", "messages": HELLO})
    assert_envelope(response, 404, "not_found_error")


def test_engine_429_keeps_retry_after(client: TestClient, engine: ScriptedEngine) -> None:
    engine.script = Scripted(429, [b'{"error": "busy"}'], {"Retry-After": "3"})
    response = client.post(MESSAGES, json={"model": "tiny", "max_tokens": 8, "messages": HELLO})
    assert_envelope(response, 429, "rate_limit_error")
    assert response.headers["retry-after"] == "3"


def test_openai_routes_keep_openais_envelope(client: TestClient) -> None:
    response = client.post("/v1/chat/completions", json={"model": "gpt-9", "messages": HELLO})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "model_not_found"
