"""The Responses API over hosted upstreams: translated through the chat domain to an
OpenAI-style upstream's chat completions and to an Anthropic-style upstream's messages,
streamed and not, tool calls and their outputs included, chained by previous_response_id."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest
from fastapi.testclient import TestClient

from api_server.app import create_app
from api_server.config import Settings
from api_server.registry import ModelRegistry
from tests.unit.responses.fakes import WEATHER, MemoryResponseStore
from tests.unit.upstreams.conftest import upstream_models
from tests.unit.upstreams.sdk import openai_client, received


@pytest.fixture
def sdk(
    tmp_path: Path, fake_upstream_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[openai.OpenAI]:
    monkeypatch.setenv("FAKE_OPENAI_KEY", "sk-ours")
    path = tmp_path / "models.yaml"
    path.write_text(upstream_models(fake_upstream_url))
    settings = Settings(models_file=path, redis_url=None, database_url=None, cache_enabled=False)
    app = create_app(settings, ModelRegistry.from_file(path), response_store=MemoryResponseStore())
    with TestClient(app) as gateway:
        yield openai_client(gateway)


@pytest.mark.parametrize(
    ("model", "path"), [("gpt-up", "/v1/chat/completions"), ("claude-up", "/v1/messages")]
)
def test_a_chained_conversation_reaches_the_upstream_whole(
    sdk: openai.OpenAI, upstream: httpx.Client, model: str, path: str
) -> None:
    first = sdk.responses.create(model=model, input="hello there", instructions="Be kind.")
    assert first.output_text == "Echo: hello there"
    second = sdk.responses.create(model=model, input="and again", previous_response_id=first.id)
    assert second.output_text == "Echo: and again"
    sent = received(upstream)[-1]
    assert sent["path"] == path
    body = sent["body"]
    messages = [(m["role"], m["content"]) for m in body["messages"]]
    texts = [
        (role, content if isinstance(content, str) else content[0]["text"])
        for role, content in messages
    ]
    assert texts == [
        ("user", "hello there"),
        ("assistant", "Echo: hello there"),
        ("user", "and again"),
    ]
    assert "Be kind." not in json.dumps(body)  # instructions belong to their own response


@pytest.mark.parametrize("model", ["gpt-tool", "claude-tool"])
def test_a_tool_call_and_its_output_through_an_upstream(
    sdk: openai.OpenAI, upstream: httpx.Client, model: str
) -> None:
    with sdk.responses.stream(model=model, input="Weather?", tools=[WEATHER]) as stream:  # type: ignore[list-item]
        deltas = [e.delta for e in stream if e.type == "response.function_call_arguments.delta"]
        asked = stream.get_final_response()
    [call] = asked.output
    assert call.type == "function_call" and call.name == "get_weather"
    assert json.loads(call.arguments) == {"city": "Paris"} == json.loads("".join(deltas))
    sdk.responses.create(
        model=model,
        previous_response_id=asked.id,
        input=[{"type": "function_call_output", "call_id": call.call_id, "output": "18 C"}],
        tools=[WEATHER],  # type: ignore[list-item]
    )
    sent = json.dumps(received(upstream)[-1]["body"])
    assert call.call_id in sent and "18 C" in sent
