"""`prepare_relay_body`, table-driven: what a relayed body is completed with, per path."""

from __future__ import annotations

from typing import Any

import pytest

from api_server.registry import ModelSpec
from api_server.upstreams.relay_body import prepare_relay_body

CHAT = "/v1/chat/completions"
USAGE = {"include_usage": True}


def spec(kind: str, max_tokens_field: str = "max_tokens") -> ModelSpec:
    return ModelSpec.model_validate(
        {
            "name": "up",
            "engine": {
                "kind": kind,
                "served_name": "served",
                "urls": ["http://127.0.0.1:9"],
                "max_tokens_field": max_tokens_field,
            },
            "context_length": 1000,
            "max_tokens": {"default": 64, "limit": 256},
        }
    )


@pytest.mark.parametrize(
    ("kind", "field", "path", "body", "expected"),
    [
        # chat takes the model's field; legacy completions know only max_tokens
        ("openai", "max_completion_tokens", CHAT, {}, {"max_completion_tokens": 64}),
        ("openai", "max_completion_tokens", "/v1/completions", {}, {"max_tokens": 64}),
        ("openai", "max_tokens", CHAT, {"max_tokens": 9}, {"max_tokens": 9}),
        ("openai", "max_tokens", CHAT, {"max_completion_tokens": 9}, {"max_completion_tokens": 9}),
        ("anthropic", "max_tokens", "/v1/messages", {}, {"max_tokens": 64}),
        ("anthropic", "max_tokens", "/v1/messages/count_tokens", {}, {}),
    ],
)
def test_the_budget_is_filled_in(
    kind: str, field: str, path: str, body: dict[str, Any], expected: dict[str, Any]
) -> None:
    plan = prepare_relay_body(body, spec(kind, field), path)
    assert body == {"model": "served", **expected}
    assert not plan.strip_stream_usage


@pytest.mark.parametrize(
    ("options", "sent", "strip"),
    [
        (None, USAGE, True),
        ({"include_usage": False}, USAGE, True),
        ({"include_usage": True}, USAGE, False),
        ({"continuous_usage_stats": True}, {"continuous_usage_stats": True, **USAGE}, True),
    ],
)
def test_a_stream_always_asks_for_usage(
    options: dict[str, Any] | None, sent: dict[str, Any], strip: bool
) -> None:
    body: dict[str, Any] = {"stream": True, "max_tokens": 5, "stream_options": options}
    plan = prepare_relay_body(body, spec("openai"), CHAT)
    assert body["stream_options"] == sent and plan.strip_stream_usage is strip
