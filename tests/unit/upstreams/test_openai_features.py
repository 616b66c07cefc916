"""response_format, logprobs and n with hosted upstreams (the fake provider): relayed as
they are to an OpenAI-style upstream, asked in its own fields when the request came through
another front door, refused naming the model where an Anthropic-style upstream has none."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.unit.upstreams.sdk import anthropic_client, openai_client, received

HELLO = [{"role": "user", "content": "hello"}]
CITY = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
AS_CITY = {"type": "json_schema", "json_schema": {"name": "city", "schema": CITY, "strict": True}}


@pytest.mark.parametrize(
    "extra",
    [
        {"response_format": AS_CITY},
        {"response_format": {"type": "json_object"}},
        {"logprobs": True, "top_logprobs": 2},
        {"n": 3},
    ],
)
def test_an_openai_client_relayed_keeps_its_fields(
    gateway: TestClient, upstream: httpx.Client, extra: dict[str, Any]
) -> None:
    response = gateway.post(
        "/v1/chat/completions", json={"model": "gpt-up", "messages": HELLO, **extra}
    )
    assert response.status_code == 200, response.text
    (sent,) = received(upstream)
    assert extra.items() <= sent["body"].items()


def test_an_anthropic_clients_output_format_is_asked_as_response_format(
    gateway: TestClient, upstream: httpx.Client
) -> None:
    anthropic_client(gateway).messages.create(
        model="gpt-up",
        max_tokens=32,
        messages=HELLO,  # type: ignore[arg-type]
        extra_body={"output_format": {"type": "json_schema", "schema": CITY}},
    )
    (sent,) = received(upstream)
    assert sent["body"]["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "output", "schema": CITY, "strict": False},
    }


@pytest.mark.parametrize(
    ("extra", "param"),
    [
        ({"response_format": AS_CITY}, "response_format"),
        ({"logprobs": True}, "logprobs"),
    ],
)
def test_an_anthropic_style_upstream_refuses_what_it_has_not(
    gateway: TestClient, upstream: httpx.Client, extra: dict[str, Any], param: str
) -> None:
    response = gateway.post(
        "/v1/chat/completions",
        json={"model": "claude-up", "messages": HELLO, **extra},
        headers={"authorization": "Bearer sk-client"},
    )
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["param"] == param and "claude-echo" in error["message"]
    assert received(upstream) == []


def test_n_choices_of_an_anthropic_style_upstream_are_a_request_each(
    gateway: TestClient, upstream: httpx.Client
) -> None:
    reply = openai_client(gateway).chat.completions.create(
        model="claude-up",
        messages=HELLO,
        n=2,  # type: ignore[arg-type]
    )
    assert [choice.index for choice in reply.choices] == [0, 1]
    assert all(choice.message.content for choice in reply.choices)
    assert len(received(upstream)) == 2
