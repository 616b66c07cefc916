"""Upstream URLs per kind, and upstream error answers in the gateway's error tree."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from api_server.errors import (
    AuthenticationError,
    ContextLengthExceededError,
    EngineOverloadedError,
    EngineResponseError,
    EngineTimeoutError,
    EngineUnavailableError,
    InferstackError,
    InvalidRequestError,
    ModelNotFoundError,
    PermissionDeniedError,
)
from api_server.registry import sdk_base_url
from api_server.upstreams.endpoints import UPSTREAM_DIALECTS, upstream_url
from api_server.upstreams.errors import upstream_error


@pytest.mark.parametrize(
    ("base_url", "kind", "path", "expected"),
    [
        (
            "https://api.openai.com/v1",
            "openai",
            "/v1/chat/completions",
            "https://api.openai.com/v1/chat/completions",
        ),
        ("https://api.openai.com/v1", "openai", "/v1/models", "https://api.openai.com/v1/models"),
        (
            "http://127.0.0.1:9200/v1",
            "openai",
            "/v1/embeddings",
            "http://127.0.0.1:9200/v1/embeddings",
        ),
        ("https://api.openai.com/v1", "openai", "/health", "https://api.openai.com/v1/health"),
        (
            "https://api.anthropic.com",
            "anthropic",
            "/v1/messages",
            "https://api.anthropic.com/v1/messages",
        ),
        (
            "https://api.anthropic.com",
            "anthropic",
            "/v1/messages/count_tokens",
            "https://api.anthropic.com/v1/messages/count_tokens",
        ),
    ],
)
def test_upstream_url(base_url: str, kind: str, path: str, expected: str) -> None:
    assert upstream_url(base_url, kind, path) == expected


@pytest.mark.parametrize(
    ("base_url", "kind", "expected"),
    [
        # Each SDK's own spelling, and the other one.
        ("https://api.openai.com/v1", "openai", "https://api.openai.com/v1"),
        ("https://api.openai.com", "openai", "https://api.openai.com/v1"),
        ("https://api.openai.com/", "openai", "https://api.openai.com/v1"),
        ("https://api.openai.com/v1/", "openai", "https://api.openai.com/v1"),
        ("http://127.0.0.1:9200", "openai", "http://127.0.0.1:9200/v1"),
        ("https://api.anthropic.com", "anthropic", "https://api.anthropic.com"),
        ("https://api.anthropic.com/v1", "anthropic", "https://api.anthropic.com"),
        ("https://api.anthropic.com/v1/", "anthropic", "https://api.anthropic.com"),
        ("http://127.0.0.1:9200/", "anthropic", "http://127.0.0.1:9200"),
        # Another path is the user's: kept.
        ("https://api.groq.com/openai/v1", "openai", "https://api.groq.com/openai/v1"),
        ("https://openrouter.ai/api", "openai", "https://openrouter.ai/api"),
        ("https://gw.example/anthropic/v1", "anthropic", "https://gw.example/anthropic"),
        ("https://gw.example/anthropic", "anthropic", "https://gw.example/anthropic"),
    ],
)
def test_sdk_base_url(base_url: str, kind: str, expected: str) -> None:
    assert sdk_base_url(base_url, kind) == expected


@pytest.mark.parametrize(
    ("kind", "chat_path"), [("openai", "/chat/completions"), ("anthropic", "/v1/messages")]
)
def test_chat_paths_are_relative_to_the_base_url(kind: str, chat_path: str) -> None:
    assert UPSTREAM_DIALECTS[kind].chat_path == chat_path


def error_body(message: str) -> bytes:
    return json.dumps({"error": {"message": message, "type": "x"}}).encode()


def http_date(delta_s: float) -> str:
    return format_datetime(datetime.now(UTC) + timedelta(seconds=delta_s), usegmt=True)


@pytest.mark.parametrize(
    ("status", "message", "error_class", "client_status"),
    [
        (401, "invalid x-api-key", AuthenticationError, 401),
        (403, "not allowed", PermissionDeniedError, 403),
        (404, "model: claude-nope", ModelNotFoundError, 404),
        (429, "rate limited", EngineOverloadedError, 429),
        (
            400,
            "prompt is too long: 250000 tokens > 200000 maximum",
            ContextLengthExceededError,
            400,
        ),
        (
            400,
            "This model's maximum context length is 8192 tokens",
            ContextLengthExceededError,
            400,
        ),
        (400, "max_tokens: must be positive", InvalidRequestError, 400),
        (422, "bad field", InvalidRequestError, 400),
        (503, "down for maintenance", EngineUnavailableError, 503),
        (529, "Overloaded", EngineUnavailableError, 503),  # Anthropic's overloaded
        (504, "gateway timeout", EngineTimeoutError, 504),
        (500, "internal", EngineResponseError, 502),
        (502, "bad gateway", EngineResponseError, 502),
    ],
)
def test_upstream_error_by_status(
    status: int, message: str, error_class: type[InferstackError], client_status: int
) -> None:
    error = upstream_error("openai", status, error_body(message), None)
    assert type(error) is error_class
    assert error.status_code == client_status
    assert message in error.message


def test_a_404_names_the_model_param() -> None:
    assert upstream_error("x", 404, b"", None).param == "model"


@pytest.mark.parametrize(
    ("retry_after", "low", "high"),
    [
        ("7", 7.0, 7.0),
        ("0.5", 0.5, 0.5),
        (120, 100.0, 120.0),  # an HTTP date too, as RFC 9110 allows: 120 s from now
        (-60, 0.0, 0.0),
    ],
)
def test_a_429_carries_its_retry_after(retry_after: str | int, low: float, high: float) -> None:
    # Dates are made when the test runs, not at collection: a long suite would age them.
    header = http_date(retry_after) if isinstance(retry_after, int) else retry_after
    error = upstream_error("anthropic", 429, error_body("slow down"), header)
    assert isinstance(error, EngineOverloadedError)
    assert error.retry_after_s is not None
    assert low <= error.retry_after_s <= high


@pytest.mark.parametrize("retry_after", [None, "", "soon"])
def test_a_429_without_a_readable_retry_after(retry_after: str | None) -> None:
    assert upstream_error("x", 429, b"{}", retry_after).retry_after_s is None


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (error_body("from json"), "from json"),
        (
            b'{"type": "error", "error": {"type": "x", "message": "anthropic style"}}',
            "anthropic style",
        ),
        (b"plain text body", "plain text body"),
    ],
)
def test_the_upstream_message_is_kept(content: bytes, expected: str) -> None:
    assert expected in upstream_error("up", 500, content, None).message
