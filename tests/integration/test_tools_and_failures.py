"""Tool-call syntaxes and engine failures, through the gateway to the fake engine, seen by
the official openai SDK."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import openai
import pytest

from tests.recording_server import RecordingServer

pytestmark = pytest.mark.integration

WEATHER = [{"role": "user", "content": "Weather in Paris?"}]
TOOLS: list[Any] = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}, "unit": {"type": "string"}},
            },
        },
    }
]
EXPECTED_ARGS = {"city": "Paris", "unit": "celsius"}
TOOL_MODELS = ["fake-hermes", "fake-llama3", "fake-devstral-2505", "fake-devstral-2507"]


@pytest.mark.parametrize("model", TOOL_MODELS)
def test_tool_call_is_parsed(client: openai.OpenAI, model: str) -> None:
    reply = client.chat.completions.create(model=model, messages=WEATHER, tools=TOOLS)
    choice = reply.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.tool_calls is not None
    [call] = choice.message.tool_calls
    assert call.type == "function"
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == EXPECTED_ARGS
    assert call.id


@pytest.mark.parametrize("model", TOOL_MODELS)
def test_streamed_tool_call_restores_index(client: openai.OpenAI, model: str) -> None:
    stream = client.chat.completions.create(model=model, messages=WEATHER, tools=TOOLS, stream=True)
    calls: dict[int, dict[str, str]] = {}
    finish = None
    for chunk in stream:
        choice = chunk.choices[0]
        finish = choice.finish_reason or finish
        for delta in choice.delta.tool_calls or []:
            assert delta.index is not None
            entry = calls.setdefault(delta.index, {"id": "", "name": "", "arguments": ""})
            entry["id"] = entry["id"] or (delta.id or "")
            if delta.function is not None:
                entry["name"] += delta.function.name or ""
                entry["arguments"] += delta.function.arguments or ""
    assert finish == "tool_calls"
    assert list(calls) == [0]
    assert calls[0]["name"] == "get_weather"
    assert calls[0]["id"]
    assert json.loads(calls[0]["arguments"]) == EXPECTED_ARGS


def test_mistral_ids_round_trip_as_nine_alphanumerics(
    client: openai.OpenAI, fake_engine: httpx.Client
) -> None:
    messages: list[Any] = [
        *WEATHER,
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_abc123def456",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_abc123def456", "content": '{"temp_c": 21}'},
    ]
    client.chat.completions.create(model="fake-devstral-2507", messages=messages, tools=TOOLS)
    prompt = fake_engine.get("/_last_request").json()["prompt"]
    assert "call_abc123def456" not in prompt
    assert prompt.startswith("<s>")
    reply = client.chat.completions.create(
        model="fake-devstral-2505", messages=WEATHER, tools=TOOLS
    )
    assert reply.choices[0].message.tool_calls is not None
    call_id = reply.choices[0].message.tool_calls[0].id
    assert len(call_id) == 9 and call_id.isalnum()


def test_engine_down_is_503(client: openai.OpenAI) -> None:
    with pytest.raises(openai.APIStatusError) as caught:
        client.chat.completions.create(model="engine-down", messages=WEATHER)
    assert caught.value.status_code == 503
    assert "llamacpp#0" in caught.value.message  # the replica's label, not its address
    assert "127.0.0.1" not in caught.value.message


def test_engine_429_keeps_retry_after(client: openai.OpenAI) -> None:
    with pytest.raises(openai.RateLimitError) as caught:
        client.chat.completions.create(model="fake-429", messages=WEATHER)
    assert caught.value.response.headers["retry-after"] == "2"


def test_engine_500_is_502(client: openai.OpenAI) -> None:
    with pytest.raises(openai.APIStatusError) as caught:
        client.chat.completions.create(model="fake-500", messages=WEATHER)
    assert caught.value.status_code == 502


def test_engine_timeout_is_504(client: openai.OpenAI) -> None:
    with pytest.raises(openai.APIStatusError) as caught:
        client.chat.completions.create(model="fake-hang", messages=WEATHER)
    assert caught.value.status_code == 504


def test_midstream_failure_ends_stream_with_error_event(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(
        model="fake-midstream-error", messages=WEATHER, stream=True
    )
    received = []
    with pytest.raises(openai.APIError, match="mid-stream"):
        for chunk in stream:
            received.append(chunk)
    assert received, "chunks before the failure reach the client"


def test_client_disconnect_stops_the_engine(gateway_url: str, fake_engine: httpx.Client) -> None:
    before = fake_engine.get("/_stats").json()["cancelled_streams"]
    body = {"model": "fake-slow", "messages": WEATHER, "stream": True, "max_tokens": 200}
    with (
        httpx.Client(base_url=gateway_url, timeout=30) as http,
        http.stream("POST", "/v1/chat/completions", json=body) as response,
    ):
        lines = response.iter_lines()
        assert next(lines).startswith("data:")
    deadline = time.monotonic() + 5
    stats: dict[str, Any] = {}
    while time.monotonic() < deadline:
        stats = fake_engine.get("/_stats").json()
        if stats["cancelled_streams"] > before:
            break
        time.sleep(0.1)
    # The engine saw its client (the gateway) go away long before the 200 tokens were done.
    assert stats["cancelled_streams"] == before + 1


def test_client_leaving_a_non_streamed_request_stops_the_engine(
    gateway_url: str, fake_engine: httpx.Client
) -> None:
    # The gateway always streams from the engine, so the engine sees a stream cut short.
    before = fake_engine.get("/_stats").json()["cancelled_streams"]
    body = {"model": "fake-slow", "messages": WEATHER, "max_tokens": 200}
    with pytest.raises(httpx.ReadTimeout), httpx.Client(base_url=gateway_url) as http:
        http.post("/v1/chat/completions", json=body, timeout=0.5)
    deadline = time.monotonic() + 5
    cancelled = before
    while time.monotonic() < deadline and cancelled == before:
        cancelled = fake_engine.get("/_stats").json()["cancelled_streams"]
        time.sleep(0.1)
    assert cancelled == before + 1


@pytest.mark.parametrize(
    ("payload", "status"),
    [
        (b"{oops", 400),
        (b'{"model": "SmolLM2-135M-Instruct", "messages": [], "n": 1}', 400),
        (b'{"model": "smollm2", "messages": [{"role": "user", "content": "x"}], "n": 17}', 400),
        (b'{"model": "nope", "messages": [{"role": "user", "content": "x"}]}', 404),
    ],
)
def test_bad_input_gets_openai_envelope(http: httpx.Client, payload: bytes, status: int) -> None:
    response = http.post(
        "/v1/chat/completions", content=payload, headers={"content-type": "application/json"}
    )
    assert response.status_code == status
    assert set(response.json()["error"]) == {"message", "type", "param", "code"}


def test_a_tool_schema_with_a_remote_ref_is_refused_and_not_fetched(http: httpx.Client) -> None:
    with RecordingServer() as server:
        schema = {"type": "object", "properties": {"city": {"$ref": server.url}}}
        tools = [{"type": "function", "function": {"name": "get_weather", "parameters": schema}}]
        body = {"model": "fake-hermes", "messages": WEATHER, "tools": tools}
        response = http.post("/v1/chat/completions", json=body)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert (error["code"], error["param"]) == ("invalid_schema", "tools[0].function.parameters")
    assert server.hits == []


def test_oversized_body_is_413(http: httpx.Client) -> None:
    big = (
        b'{"model": "fake-hermes", "messages": [{"role": "user", "content": "'
        + b"x" * 5_000_000
        + b'"}]}'
    )
    response = http.post(
        "/v1/chat/completions", content=big, headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "request_too_large"
