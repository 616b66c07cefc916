"""A relayed request (the client speaks its upstream's protocol) is held to the registry's
limits exactly as a translated one: max_tokens within the model's limit (its default when
the client sets none), one choice, at most 4 stop sequences. An OpenAI stream is always
asked for its usage, so the tokens are logged (and charged to TPM from the log row), while
a client that did not ask for usage receives the very bytes it would have without it."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.unit.auth.fakes import ListSink
from tests.unit.upstreams.sdk import received

HELLO = [{"role": "user", "content": "one two three"}]


@pytest.mark.parametrize(
    ("extra", "param"),
    [
        ({"max_tokens": 257}, "max_tokens"),
        ({"max_completion_tokens": 1000}, "max_tokens"),
        ({"n": 17}, "n"),
        ({"stop": ["a", "b", "c", "d", "e"]}, "stop"),
        ({"max_tokens": "lots"}, "max_tokens"),
    ],
)
def test_an_openai_relay_over_the_models_limits_is_refused(
    gateway: TestClient, upstream: httpx.Client, extra: dict[str, Any], param: str
) -> None:
    response = gateway.post(
        "/v1/chat/completions", json={"model": "gpt-up", "messages": HELLO, **extra}
    )
    assert response.status_code == 400, response.text
    error = response.json()["error"]  # OpenAI's envelope
    assert error["param"] == param and error["type"] == "invalid_request_error"
    assert received(upstream) == []  # refused here, never sent


def test_a_text_completion_relay_is_held_to_the_same_limits(
    gateway: TestClient, upstream: httpx.Client
) -> None:
    response = gateway.post("/v1/completions", json={"model": "gpt-up", "prompt": "x", "n": 17})
    assert response.status_code == 400 and response.json()["error"]["param"] == "n"
    assert received(upstream) == []


def test_an_anthropic_relay_over_the_limit_is_refused_in_its_envelope(
    gateway: TestClient, upstream: httpx.Client
) -> None:
    response = gateway.post(
        "/v1/messages",
        json={"model": "claude-up", "max_tokens": 100_000, "messages": HELLO},
        headers={"x-api-key": "sk-theirs"},
    )
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["type"] == "error" and body["error"]["type"] == "invalid_request_error"
    assert "exceeds the limit of 256" in body["error"]["message"]
    assert received(upstream) == []


def test_a_relay_without_max_tokens_gets_the_models_default(
    gateway: TestClient, upstream: httpx.Client
) -> None:
    response = gateway.post("/v1/chat/completions", json={"model": "gpt-up", "messages": HELLO})
    assert response.status_code == 200, response.text
    [sent] = received(upstream)
    assert sent["body"]["max_tokens"] == 64  # not the upstream's own, unbounded default


def test_a_relay_within_the_limits_is_sent_as_asked(
    gateway: TestClient, upstream: httpx.Client
) -> None:
    body = {"model": "gpt-up", "messages": HELLO, "max_tokens": 256, "n": 1, "stop": ["x"] * 4}
    assert gateway.post("/v1/chat/completions", json=body).status_code == 200
    [sent] = received(upstream)
    assert (sent["body"]["max_tokens"], sent["body"]["n"]) == (256, 1)
    assert "max_completion_tokens" not in sent["body"]


def test_a_count_tokens_relay_needs_no_max_tokens(
    gateway: TestClient, upstream: httpx.Client
) -> None:
    response = gateway.post(
        "/v1/messages/count_tokens",
        json={"model": "claude-up", "messages": HELLO},
        headers={"x-api-key": "sk-theirs"},
    )
    assert response.status_code == 200, response.text
    [sent] = received(upstream)
    assert "max_tokens" not in sent["body"]


def _stream(client: httpx.Client | TestClient, body: dict[str, Any]) -> bytes:
    with client.stream("POST", "/v1/chat/completions", json=body) as response:
        assert response.status_code == 200
        return response.read()


def test_a_stream_without_include_usage_is_logged_with_its_tokens_and_unchanged(
    gateway: TestClient, upstream: httpx.Client, sink: ListSink, fake_upstream_url: str
) -> None:
    body = {"model": "gpt-up", "messages": HELLO, "stream": True, "max_tokens": 64}
    relayed = _stream(gateway, body)
    [sent] = received(upstream)
    assert sent["body"]["stream_options"] == {"include_usage": True}  # asked upstream
    # What the upstream sends a client that does not ask for usage, byte for byte.
    with httpx.Client(base_url=fake_upstream_url) as direct:
        plain = _stream(direct, {**body, "model": "echo-model"})
    assert relayed == plain
    assert b'"usage"' not in relayed
    [record] = sink.records
    assert record.status_code == 200
    assert record.prompt_tokens is not None and record.prompt_tokens > 0
    assert record.completion_tokens is not None and record.completion_tokens > 0


def test_a_stream_that_asked_for_usage_keeps_it(
    gateway: TestClient, upstream: httpx.Client, sink: ListSink
) -> None:
    body = {
        "model": "gpt-up",
        "messages": HELLO,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    relayed = _stream(gateway, body)
    assert relayed.count(b'"usage"') == 1  # the usage chunk, passed on
    [record] = sink.records
    assert record.completion_tokens is not None and record.completion_tokens > 0
