"""Hosted upstream models through the gateway, driven by the official SDKs: relayed as is
for a client of the upstream's own protocol, translated both ways for the other, retried
before the first byte, with the credentials each auth style says."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anthropic
import httpx
import openai
import pytest
from fastapi.testclient import TestClient

from api_server.app import create_app
from api_server.config import Settings
from tests.unit.auth.fakes import ListSink
from tests.unit.upstreams.sdk import (
    ANTHROPIC_WEATHER_TOOL,
    WEATHER_TOOL,
    anthropic_client,
    openai_client,
    received,
)

# -- relayed: the upstream's own protocol ----------------------------------------------


def test_openai_client_to_openai_upstream_is_relayed_as_is(
    gateway: TestClient, upstream: httpx.Client, sink: ListSink
) -> None:
    reply = openai_client(gateway).chat.completions.create(
        model="gpt-up",
        messages=[{"role": "user", "content": "hello there"}],
        extra_body={"logprobs": True},  # refused for local models; the upstream judges here
    )
    assert reply.id == "chatcmpl-fake"  # the upstream's own response, not rebuilt
    assert reply.choices[0].message.content == "Echo: hello there"
    [sent] = received(upstream)
    assert sent["path"] == "/v1/chat/completions"
    assert sent["body"]["model"] == "echo-model"  # the public name mapped to the served one
    assert sent["body"]["logprobs"] is True
    assert sent["headers"]["authorization"] == "Bearer sk-ours"  # auth style env
    [record] = sink.records
    assert (record.model, record.engine, record.status_code) == ("gpt-up", "openai", 200)
    assert (record.prompt_tokens, record.completion_tokens) == (
        reply.usage.prompt_tokens,  # type: ignore[union-attr]
        reply.usage.completion_tokens,
    )  # type: ignore[union-attr]


def test_openai_stream_is_relayed_chunk_for_chunk(
    gateway: TestClient, upstream: httpx.Client, sink: ListSink
) -> None:
    stream = openai_client(gateway).chat.completions.create(
        model="gpt-up",
        messages=[{"role": "user", "content": "one two three"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    assert {chunk.id for chunk in chunks} == {"chatcmpl-fake"}
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Echo: one two three"
    assert chunks[-1].usage is not None
    [record] = sink.records
    assert record.stream and record.completion_tokens == chunks[-1].usage.completion_tokens
    assert record.ttft_ms is not None


def test_anthropic_client_to_anthropic_upstream_is_relayed_with_its_key(
    gateway: TestClient, upstream: httpx.Client
) -> None:
    message = anthropic_client(gateway, key="sk-theirs").messages.create(
        model="claude-up", max_tokens=50, messages=[{"role": "user", "content": "hi"}]
    )
    assert message.id == "msg_fake"
    assert message.content[0].text == "Echo: hi"  # type: ignore[union-attr]
    [sent] = received(upstream)
    assert sent["path"] == "/v1/messages" and sent["body"]["model"] == "claude-echo"
    assert sent["headers"]["x-api-key"] == "sk-theirs"  # auth style header
    assert sent["headers"]["anthropic-version"]


def test_upstream_error_answers_are_relayed_in_their_own_envelope(
    gateway: TestClient, upstream: httpx.Client, sink: ListSink
) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        openai_client(gateway).chat.completions.create(
            model="gpt-bad", messages=[{"role": "user", "content": "x"}]
        )
    assert "refuses this model" in caught.value.message
    assert len(received(upstream)) == 1  # a 400 is never retried
    assert sink.records[0].status_code == 400


# -- translated: the other protocol -----------------------------------------------------


def test_openai_client_reaches_an_anthropic_upstream(
    gateway: TestClient, upstream: httpx.Client
) -> None:
    client = openai_client(gateway, key="sk-theirs")
    reply = client.chat.completions.create(
        model="claude-up",
        messages=[
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "what is up"},
        ],
        max_tokens=40,
        temperature=0.2,
    )
    assert reply.choices[0].message.content == "Echo: what is up"
    assert reply.choices[0].finish_reason == "stop"
    assert reply.usage is not None and reply.usage.completion_tokens > 0
    [sent] = received(upstream)
    assert sent["path"] == "/v1/messages"
    body = sent["body"]
    assert body["system"] == "Be brief."
    assert body["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "what is up"}]}
    ]
    assert (body["max_tokens"], body["temperature"], body["stream"]) == (40, 0.2, True)
    assert sent["headers"]["x-api-key"] == "sk-theirs"  # the Bearer key, in Anthropic's header

    stream = client.chat.completions.create(
        model="claude-up", messages=[{"role": "user", "content": "a b"}], stream=True
    )
    assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices) == "Echo: a b"


def test_openai_tool_round_trip_through_an_anthropic_upstream(
    gateway: TestClient, upstream: httpx.Client
) -> None:
    client = openai_client(gateway)
    messages: list[Any] = [{"role": "user", "content": "Weather in Paris?"}]
    reply = client.chat.completions.create(
        model="claude-tool",
        messages=messages,
        tools=[WEATHER_TOOL],  # type: ignore[list-item]
    )
    assert reply.choices[0].finish_reason == "tool_calls"
    [call] = reply.choices[0].message.tool_calls or []
    assert call.function.name == "get_weather"  # type: ignore[union-attr]
    assert json.loads(call.function.arguments) == {"city": "Paris"}  # type: ignore[union-attr]

    messages += [
        reply.choices[0].message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": call.id, "content": "18 C, sunny"},
    ]
    client.chat.completions.create(model="claude-up", messages=messages, tools=[WEATHER_TOOL])  # type: ignore[list-item]
    turns = received(upstream)[-1]["body"]["messages"]
    assert [t["role"] for t in turns] == ["user", "assistant", "user"]
    assert turns[1]["content"][-1] == {
        "type": "tool_use",
        "id": call.id,
        "name": "get_weather",
        "input": {"city": "Paris"},
    }
    assert turns[2]["content"] == [
        {"type": "tool_result", "tool_use_id": call.id, "content": "18 C, sunny"}
    ]


def test_streamed_tool_call_from_an_anthropic_upstream(
    gateway: TestClient, upstream: httpx.Client
) -> None:
    stream = openai_client(gateway).chat.completions.create(
        model="claude-tool",
        messages=[{"role": "user", "content": "Weather?"}],
        tools=[WEATHER_TOOL],  # type: ignore[list-item]
        stream=True,
    )
    chunks = [c for c in stream if c.choices]
    calls = [call for c in chunks for call in c.choices[0].delta.tool_calls or []]
    assert {call.index for call in calls} == {0}
    assert calls[0].function.name == "get_weather"  # type: ignore[union-attr]
    arguments = "".join(call.function.arguments or "" for call in calls)  # type: ignore[union-attr]
    assert json.loads(arguments) == {"city": "Paris"}
    assert chunks[-1].choices[0].finish_reason == "tool_calls"


def test_anthropic_client_reaches_an_openai_upstream(
    gateway: TestClient, upstream: httpx.Client
) -> None:
    client = anthropic_client(gateway)
    message = client.messages.create(
        model="gpt-up",
        max_tokens=30,
        system="Be brief.",
        messages=[{"role": "user", "content": "good morning"}],
    )
    assert message.content[0].text == "Echo: good morning"  # type: ignore[union-attr]
    assert message.stop_reason == "end_turn"
    sent = received(upstream)[0]
    assert sent["path"] == "/v1/chat/completions"
    assert sent["body"]["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "good morning"},
    ]
    assert sent["body"]["stream"] is True and sent["body"]["max_tokens"] == 30
    assert "temperature" not in sent["body"]  # none asked: the upstream keeps its default

    with client.messages.stream(
        model="gpt-up", max_tokens=30, messages=[{"role": "user", "content": "x y z"}]
    ) as stream:
        assert "".join(stream.text_stream) == "Echo: x y z"
        assert stream.get_final_message().usage.output_tokens > 0


def test_anthropic_tool_use_round_trip_through_an_openai_upstream(
    gateway: TestClient, upstream: httpx.Client
) -> None:
    client = anthropic_client(gateway)
    messages: list[Any] = [{"role": "user", "content": "Weather in Paris?"}]
    message = client.messages.create(
        model="gpt-tool",
        max_tokens=50,
        messages=messages,
        tools=[ANTHROPIC_WEATHER_TOOL],  # type: ignore[list-item]
    )
    assert message.stop_reason == "tool_use"
    tool_use = next(block for block in message.content if block.type == "tool_use")
    assert (tool_use.name, tool_use.input) == ("get_weather", {"city": "Paris"})

    messages += [
        {"role": "assistant", "content": [block.model_dump() for block in message.content]},
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": tool_use.id, "content": "18 C"}],
        },
    ]
    client.messages.create(
        model="gpt-up", max_tokens=50, messages=messages, tools=[ANTHROPIC_WEATHER_TOOL]
    )  # type: ignore[list-item]
    sent = received(upstream)[-1]["body"]["messages"]
    assert sent[1]["tool_calls"][0]["function"] == {
        "name": "get_weather",
        "arguments": '{"city": "Paris"}',
    }
    assert sent[2] == {"role": "tool", "content": "18 C", "tool_call_id": tool_use.id}


def test_upstream_errors_reach_a_translated_client_in_its_envelope(
    gateway: TestClient, upstream: httpx.Client
) -> None:
    with pytest.raises(anthropic.BadRequestError) as caught:
        anthropic_client(gateway).messages.create(
            model="gpt-bad", max_tokens=10, messages=[{"role": "user", "content": "x"}]
        )
    assert caught.value.body["type"] == "error"  # type: ignore[index]
    assert "refuses this model" in str(caught.value)


def test_ai_sdk_stream_from_an_upstream(gateway: TestClient, upstream: httpx.Client) -> None:
    response = gateway.post(
        "/api/chat",
        json={
            "model": "claude-up",
            "messages": [{"id": "m1", "role": "user", "parts": [{"type": "text", "text": "hey"}]}],
        },
    )
    assert response.status_code == 200
    deltas = [
        json.loads(line[6:])["delta"]
        for line in response.text.splitlines()
        if line.startswith("data: {") and '"text-delta"' in line
    ]
    assert "".join(deltas) == "Echo: hey"


# -- retries and credentials -------------------------------------------------------------


@pytest.mark.parametrize("model", ["gpt-flaky", "gpt-flaky-429"])
def test_retried_until_the_upstream_answers(
    gateway: TestClient, upstream: httpx.Client, model: str
) -> None:
    reply = openai_client(gateway).chat.completions.create(
        model=model, messages=[{"role": "user", "content": "again"}]
    )
    assert reply.choices[0].message.content == "Echo: again"
    assert len(received(upstream)) == 3  # two failures, then the answer
    reason = "503" if model == "gpt-flaky" else "429"
    retries = [
        line
        for line in gateway.get("/metrics").text.splitlines()
        if line.startswith("inferstack_upstream_retries_total") and f'model="{model}"' in line
    ]
    assert len(retries) == 1 and f'reason="{reason}"' in retries[0]
    assert retries[0].endswith(" 2.0")


def test_translated_requests_are_retried_too(gateway: TestClient, upstream: httpx.Client) -> None:
    message = anthropic_client(gateway).messages.create(
        model="gpt-flaky", max_tokens=10, messages=[{"role": "user", "content": "again"}]
    )
    assert message.content[0].text == "Echo: again"  # type: ignore[union-attr]
    assert len(received(upstream)) == 3


def test_a_retry_after_beyond_the_cap_goes_back_to_the_client(
    gateway: TestClient, upstream: httpx.Client
) -> None:
    response = gateway.post(
        "/v1/chat/completions",
        json={"model": "gpt-always-429", "messages": [{"role": "user", "content": "x"}]},
    )
    assert response.status_code == 429
    assert response.headers["retry-after"] == "120"
    assert len(received(upstream)) == 1


def test_an_unreachable_upstream_is_503_after_the_retries(gateway: TestClient) -> None:
    for path, body in [
        (
            "/v1/chat/completions",
            {"model": "gpt-down", "messages": [{"role": "user", "content": "x"}]},
        ),
        (
            "/v1/messages",
            {"model": "gpt-down", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]},
        ),
    ]:
        response = gateway.post(path, json=body)
        assert response.status_code in (503, 529), response.text
        assert "not reachable" in response.text


def test_both_style_sends_the_clients_key_else_none(
    gateway: TestClient, upstream: httpx.Client
) -> None:
    with pytest.raises(anthropic.AuthenticationError):
        anthropic_client(gateway, key="sk-wrong").messages.create(
            model="claude-needs-key", max_tokens=5, messages=[{"role": "user", "content": "x"}]
        )
    message = anthropic_client(gateway, key="sk-fake-upstream").messages.create(
        model="claude-needs-key", max_tokens=5, messages=[{"role": "user", "content": "x"}]
    )
    assert message.content[0].text == "Echo: x"  # type: ignore[union-attr]


def test_a_non_object_metadata_is_relayed_not_a_crash(
    gateway: TestClient, upstream: httpx.Client
) -> None:
    response = gateway.post(
        "/v1/messages",
        json={
            "model": "claude-up",
            "max_tokens": 5,
            "metadata": "not an object",
            "messages": [{"role": "user", "content": "x"}],
        },
    )
    assert response.status_code == 200, response.text  # the upstream judges it
    assert received(upstream)[0]["body"]["metadata"] == "not an object"


def test_proxy_mode_needs_a_model_name(tmp_path: Path, fake_upstream_url: str) -> None:
    settings = Settings(
        upstream={"base_url": f"{fake_upstream_url}/v1", "type": "openai"},  # type: ignore[arg-type]
        models_file=tmp_path / "unused.yaml",
    )
    with TestClient(create_app(settings)) as client:
        ui = {"messages": [{"id": "1", "role": "user", "parts": [{"type": "text", "text": "hi"}]}]}
        response = client.post("/api/chat", json=ui)
        assert response.status_code == 404
        assert "Name a model" in response.json()["error"]["message"]
        # The model list is the upstream's own: only it knows what the names it takes are.
        listed = openai.OpenAI(
            base_url=f"{client.base_url}/v1", api_key="k", http_client=client
        ).models.list()
        assert [model.id for model in listed] == ["fake-upstream", "Fake-Echo-Model"]


def test_anthropic_stream_and_token_count_are_relayed(
    gateway: TestClient, upstream: httpx.Client, sink: ListSink
) -> None:
    client = anthropic_client(gateway, key="sk-theirs")
    with client.messages.stream(
        model="claude-up", max_tokens=20, messages=[{"role": "user", "content": "a b c"}]
    ) as stream:
        assert "".join(stream.text_stream) == "Echo: a b c"
        final = stream.get_final_message()
    assert final.id == "msg_fake" and final.stop_reason == "end_turn"
    record = sink.records[-1]
    assert record.stream and record.completion_tokens == final.usage.output_tokens
    assert record.prompt_tokens == final.usage.input_tokens

    counted = client.messages.count_tokens(
        model="claude-up", messages=[{"role": "user", "content": "one two three"}]
    )
    assert counted.input_tokens > 0
    assert received(upstream)[-1]["path"] == "/v1/messages/count_tokens"
