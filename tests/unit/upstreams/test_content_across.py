"""What else crosses between the APIs for hosted upstreams: images (OpenAI `image_url`,
Anthropic image blocks, AI SDK image files), the end-user id, and token counting."""

from __future__ import annotations

from typing import Any

import anthropic
import httpx
import pytest
from fastapi.testclient import TestClient

from tests.unit.upstreams.sdk import anthropic_client, openai_client, received

PIXEL = (  # a 1x1 PNG
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


def test_openai_images_reach_an_anthropic_upstream(
    gateway: TestClient, upstream: httpx.Client
) -> None:
    reply = openai_client(gateway).chat.completions.create(
        model="claude-up",
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What is in these?"},
                    {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PIXEL}"}},
                    {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg"}},
                ],
            }
        ],
    )
    assert reply.choices[0].message.content == "Echo: What is in these?"
    [turn] = received(upstream)[0]["body"]["messages"]
    assert turn["content"] == [
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PIXEL}},
        {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}},
        {"type": "text", "text": "What is in these?"},
    ]


def test_anthropic_images_reach_an_openai_upstream(
    gateway: TestClient, upstream: httpx.Client
) -> None:
    message = anthropic_client(gateway).messages.create(
        model="gpt-up",
        max_tokens=20,
        messages=[
            {
                "role": "user",
                "content": [
                    {
                        "type": "image",
                        "source": {"type": "base64", "media_type": "image/png", "data": PIXEL},
                    },
                    {
                        "type": "image",
                        "source": {"type": "url", "url": "https://example.com/a.png"},
                    },
                    {"type": "text", "text": "Describe them"},
                ],
            }
        ],
    )
    assert message.content[0].text == "Echo: Describe them"  # type: ignore[union-attr]
    [turn] = received(upstream)[0]["body"]["messages"]
    assert turn["content"] == [
        {"type": "text", "text": "Describe them"},
        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PIXEL}"}},
        {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}},
    ]


def test_images_to_a_local_model_are_still_refused(client: TestClient) -> None:
    response = client.post(
        "/v1/messages",
        json={
            "model": "tiny",
            "max_tokens": 5,
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {
                            "type": "image",
                            "source": {"type": "base64", "media_type": "image/png", "data": PIXEL},
                        }
                    ],
                }
            ],
        },
    )
    assert response.status_code == 400
    assert "accepts text only" in response.json()["error"]["message"]


def test_the_end_user_id_crosses_over(gateway: TestClient, upstream: httpx.Client) -> None:
    anthropic_client(gateway).messages.create(
        model="gpt-up",
        max_tokens=5,
        metadata={"user_id": "user-42"},
        messages=[{"role": "user", "content": "x"}],
    )
    openai_client(gateway).chat.completions.create(
        model="claude-up", user="user-43", messages=[{"role": "user", "content": "x"}]
    )
    to_openai, to_anthropic = (request["body"] for request in received(upstream))
    assert to_openai["user"] == "user-42"
    assert to_anthropic["metadata"] == {"user_id": "user-43"}


def test_counting_tokens_through_an_openai_upstream_says_why_not(gateway: TestClient) -> None:
    with pytest.raises(anthropic.BadRequestError, match="no token-counting endpoint"):
        anthropic_client(gateway).messages.count_tokens(
            model="gpt-up", messages=[{"role": "user", "content": "x"}]
        )


def test_ai_sdk_image_files_reach_an_upstream_and_are_refused_locally(
    gateway: TestClient, upstream: httpx.Client, client: TestClient
) -> None:
    parts = [
        {"type": "text", "text": "Look"},
        {"type": "file", "mediaType": "image/png", "url": f"data:image/png;base64,{PIXEL}"},
    ]
    body: dict[str, Any] = {"messages": [{"id": "1", "role": "user", "parts": parts}]}
    assert gateway.post("/api/chat", json={**body, "model": "claude-up"}).status_code == 200
    [turn] = received(upstream)[0]["body"]["messages"]
    assert turn["content"][0]["source"] == {
        "type": "base64",
        "media_type": "image/png",
        "data": PIXEL,
    }

    refused = client.post("/api/chat", json={**body, "model": "tiny"})  # a local text model
    assert refused.status_code == 400
    assert "an image cannot be sent to this model" in refused.json()["error"]["message"]
