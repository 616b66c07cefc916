"""Claude model names through proxy mode (`inferstack run`), driven by the official SDKs:
mapped by `anthropic_model_map` and spelled as the OpenAI-style upstream lists its models;
an Anthropic upstream gets them as the client sent them."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from anthropic.types import MessageParam
from fastapi.testclient import TestClient

from api_server.app import create_app
from api_server.config import Settings
from tests.unit.upstreams.sdk import anthropic_client, openai_client, received

HI: list[MessageParam] = [{"role": "user", "content": "hi"}]


@pytest.fixture
def proxy(tmp_path: Path, fake_upstream_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """`inferstack run --base-url … --type …` with these settings, as a test client."""
    monkeypatch.setenv("INFERSTACK_CONFIG_FILE", os.devnull)  # as `run` does: no gateway.yaml
    clients: list[TestClient] = []

    def start(kind: str, **settings: Any) -> TestClient:
        base_url = f"{fake_upstream_url}/v1" if kind == "openai" else fake_upstream_url
        app = create_app(
            Settings(
                upstream={"base_url": base_url, "type": kind},
                models_file=tmp_path / "unused.yaml",
                **settings,
            )
        )
        client = TestClient(app)
        clients.append(client.__enter__())
        return client

    yield start
    for client in clients:
        client.__exit__(None, None, None)


def test_claude_names_are_mapped_and_spelled_as_the_openai_upstream_lists_them(
    proxy: Any, upstream: httpx.Client
) -> None:
    gateway = proxy(
        "openai",
        anthropic_model_map={"claude-*haiku*": "FAKE-ECHO-MODEL", "claude-*": "gpt-4o"},
    )
    client = anthropic_client(gateway, key="sk-client")
    message = client.messages.create(model="claude-3-5-haiku-latest", max_tokens=20, messages=HI)
    assert message.content[0].text == "Echo: hi"  # type: ignore[union-attr]
    assert message.model == "Fake-Echo-Model"
    listed, sent = received(upstream)
    assert listed["path"] == "/v1/models"
    assert listed["headers"]["authorization"] == "Bearer sk-client"  # the client's key
    assert sent["path"] == "/v1/chat/completions"
    assert sent["body"]["model"] == "Fake-Echo-Model"  # the upstream's own spelling

    with client.messages.stream(model="claude-sonnet-4-5", max_tokens=20, messages=HI) as stream:
        assert "".join(stream.text_stream) == "Echo: hi"
    assert [request["path"] for request in received(upstream)[2:]] == ["/v1/chat/completions"]
    assert received(upstream)[2]["body"]["model"] == "gpt-4o"  # mapped; the list is kept


def test_names_are_spelled_as_listed_and_default_keeps_them(
    proxy: Any, upstream: httpx.Client
) -> None:
    gateway = proxy("openai")  # anthropic_model_map: {"claude-*": "default"}, no default
    client = anthropic_client(gateway)
    client.messages.create(model="FAKE-echo-MODEL", max_tokens=20, messages=HI)
    client.messages.create(model="claude-3-5-haiku-latest", max_tokens=20, messages=HI)
    openai_client(gateway).chat.completions.create(
        model="FAKE-ECHO-MODEL", messages=[{"role": "user", "content": "hi"}]
    )
    assert [(r["path"], r["body"].get("model")) for r in received(upstream)] == [
        ("/v1/models", None),
        ("/v1/chat/completions", "Fake-Echo-Model"),
        ("/v1/chat/completions", "claude-3-5-haiku-latest"),  # not listed: as asked
        ("/v1/chat/completions", "FAKE-ECHO-MODEL"),  # the OpenAI door passes names on
    ]


def test_an_anthropic_upstream_gets_claude_names_as_sent(
    proxy: Any, upstream: httpx.Client
) -> None:
    gateway = proxy("anthropic")
    client = anthropic_client(gateway, key="sk-client")
    message = client.messages.create(model="claude-3-5-haiku-latest", max_tokens=20, messages=HI)
    assert message.content[0].text == "Echo: hi"  # type: ignore[union-attr]
    [sent] = received(upstream)  # relayed, and no model list asked for
    assert (sent["path"], sent["body"]["model"]) == ("/v1/messages", "claude-3-5-haiku-latest")
