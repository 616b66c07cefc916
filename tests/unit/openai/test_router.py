"""The OpenAI front door end to end over a faked engine, driven by the official SDK."""

from __future__ import annotations

import json
from pathlib import Path

import openai
import pytest
from fastapi.testclient import TestClient

from api_server.app import create_app
from api_server.config import Settings
from api_server.registry import ModelRegistry
from tests.unit.scripted_engine import ScriptedEngine

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}


@pytest.fixture
def sdk(client: TestClient) -> openai.OpenAI:
    return openai.OpenAI(
        base_url="http://testserver/v1", api_key="unused", http_client=client, max_retries=0
    )


def test_chat_completion_returns_engine_text_and_usage(
    sdk: openai.OpenAI, engine: ScriptedEngine
) -> None:
    reply = sdk.chat.completions.create(
        model="TINY",  # aliases resolve case-insensitively
        messages=[{"role": "user", "content": "What is the capital of France?"}],
        temperature=0,
    )
    assert reply.model == "tiny-chatml"
    assert reply.choices[0].message.content == "The capital of France is Paris."
    assert reply.choices[0].finish_reason == "stop"
    assert (reply.usage.prompt_tokens, reply.usage.completion_tokens) == (7, 3)
    sent = engine.last_request
    assert sent["prompt"].endswith("<|im_start|>assistant\n")
    assert "What is the capital of France?" in sent["prompt"]
    assert sent["temperature"] == 0
    assert sent["stream"] is True
    assert "<|im_end|>" in sent["stop"]


def test_streaming_yields_deltas_then_usage(sdk: openai.OpenAI) -> None:
    stream = sdk.chat.completions.create(
        model="tiny-chatml",
        messages=[{"role": "user", "content": "hi"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "The capital of France is Paris."
    assert chunks[0].choices[0].delta.role == "assistant"
    finishing = [c for c in chunks if c.choices and c.choices[0].finish_reason]
    assert [c.choices[0].finish_reason for c in finishing] == ["stop"]
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None and chunks[-1].usage.total_tokens == 10


def test_hermes_tool_call_is_parsed(sdk: openai.OpenAI, engine: ScriptedEngine) -> None:
    engine.texts = [
        "<tool_call>\n",
        '{"name": "get_weather", ',
        '"arguments": {"city": "Paris"}}',
        "\n</tool_call>",
    ]
    reply = sdk.chat.completions.create(
        model="tiny-chatml",
        messages=[{"role": "user", "content": "Weather in Paris?"}],
        tools=[WEATHER_TOOL],
    )
    choice = reply.choices[0]
    assert choice.finish_reason == "tool_calls"
    calls = choice.message.tool_calls
    assert calls is not None and len(calls) == 1
    assert calls[0].function.name == "get_weather"
    assert json.loads(calls[0].function.arguments) == {"city": "Paris"}
    assert calls[0].id.startswith("call_")
    assert "<tools>" in engine.last_request["prompt"]


def test_streamed_tool_call_carries_index_id_and_arguments(
    sdk: openai.OpenAI, engine: ScriptedEngine
) -> None:
    engine.texts = [
        "Let me check. ",
        "<tool_call>\n",
        '{"name": "get_weather", "arguments": ',
        '{"city": ',
        '"Paris"}}\n</tool_call>',
    ]
    stream = sdk.chat.completions.create(
        model="tiny-chatml",
        messages=[{"role": "user", "content": "Weather in Paris?"}],
        tools=[WEATHER_TOOL],
        stream=True,
    )
    content, calls, finish = "", {}, None
    for chunk in stream:
        delta = chunk.choices[0].delta
        content += delta.content or ""
        for call in delta.tool_calls or []:
            entry = calls.setdefault(call.index, {"id": None, "name": "", "arguments": ""})
            entry["id"] = entry["id"] or call.id
            if call.function and call.function.name:
                entry["name"] = call.function.name
            if call.function and call.function.arguments:
                entry["arguments"] += call.function.arguments
        finish = chunk.choices[0].finish_reason or finish
    assert content.strip() == "Let me check."
    assert list(calls) == [0]
    assert calls[0]["name"] == "get_weather"
    assert calls[0]["id"].startswith("call_")
    assert json.loads(calls[0]["arguments"]) == {"city": "Paris"}
    assert finish == "tool_calls"


def test_tool_choice_none_leaves_tools_out_of_prompt(
    sdk: openai.OpenAI, engine: ScriptedEngine
) -> None:
    engine.texts = ['<tool_call>{"name": "x"}</tool_call>']
    reply = sdk.chat.completions.create(
        model="tiny-chatml",
        messages=[{"role": "user", "content": "hi"}],
        tools=[WEATHER_TOOL],
        tool_choice="none",
    )
    assert "<tools>" not in engine.last_request["prompt"]
    assert reply.choices[0].message.tool_calls is None
    assert reply.choices[0].message.content == '<tool_call>{"name": "x"}</tool_call>'


def test_text_completion_passes_raw_prompt(sdk: openai.OpenAI, engine: ScriptedEngine) -> None:
    reply = sdk.completions.create(model="tiny-chatml", prompt="Once upon", max_tokens=5)
    assert engine.last_request["prompt"] == "Once upon"
    assert engine.last_request["max_tokens"] == 5
    assert reply.choices[0].text == "The capital of France is Paris."
    assert reply.object == "text_completion"


def test_streamed_text_completion(sdk: openai.OpenAI) -> None:
    chunks = list(sdk.completions.create(model="tiny-chatml", prompt="x", stream=True))
    assert "".join(c.choices[0].text for c in chunks if c.choices) == (
        "The capital of France is Paris."
    )
    assert chunks[-1].choices[0].finish_reason == "stop"


def test_vllm_gets_no_second_bos_and_keeps_special_tokens(
    sdk: openai.OpenAI, engine: ScriptedEngine
) -> None:
    sdk.chat.completions.create(
        model="llama-3.1-8b-instruct", messages=[{"role": "user", "content": "hi"}]
    )
    sent = engine.last_request
    assert sent["prompt"].startswith("<|begin_of_text|>")
    assert sent["add_special_tokens"] is False
    assert sent["skip_special_tokens"] is False
    assert sent["model"] == "meta-llama/Llama-3.1-8B-Instruct"


def test_models_lists_registry(client: TestClient) -> None:
    body = client.get("/v1/models").json()
    assert [m["id"] for m in body["data"]] == [
        "tiny-chatml",
        "Llama-3.1-8B-Instruct",
        "Devstral-Small-2507",
        "llama-on-cpu",
        "engine-down",
    ]
    assert body["object"] == "list"


def test_request_id_is_ours_returned_and_forwarded(
    client: TestClient, engine: ScriptedEngine
) -> None:
    response = client.post(
        "/v1/chat/completions",
        json={"model": "tiny", "messages": [{"role": "user", "content": "hi"}]},
        headers={"X-Request-ID": "req-123"},
    )
    ours = response.headers["x-request-id"]
    assert len(ours) == 32 and ours != "req-123"
    assert response.headers["x-client-request-id"] == "req-123"
    assert engine.request_headers[-1]["x-request-id"] == ours
    generated = client.get("/health/live").headers["x-request-id"]
    assert len(generated) == 32 and generated != ours


def test_health_and_ready_report_engines(client: TestClient, engine: ScriptedEngine) -> None:
    assert client.get("/health/live").json() == {"status": "alive"}
    ready = client.get("/health/ready")
    # engine-down points at a closed port on purpose.
    assert ready.status_code == 503
    models = ready.json()["models"]
    assert models["tiny-chatml"]["llamacpp#0"]["status"] == "up"
    assert models["engine-down"]["llamacpp#0"]["status"] == "down"
    assert ready.json()["components"] == {}  # no backing service configured here


def test_loading_engine_is_not_ready(client: TestClient, engine: ScriptedEngine) -> None:
    engine.healthy = False  # llama.cpp answers 503 while it loads the model
    models = client.get("/health/ready").json()["models"]
    assert models["tiny-chatml"]["llamacpp#0"]["status"] == "down"


@pytest.mark.parametrize(("adds_bos", "sent_bos"), [(True, False), (False, True)])
def test_llamacpp_bos_is_never_doubled(
    client: TestClient, engine: ScriptedEngine, adds_bos: bool, sent_bos: bool
) -> None:
    """llama-server always tokenizes with add_special: when it adds BOS itself (learnt
    from its /tokenize during health probes), the gateway drops the template's BOS text."""
    engine.adds_bos = adds_bos
    client.get("/health/ready")
    chat = {"model": "llama-on-cpu", "messages": [{"role": "user", "content": "hi"}]}
    client.post("/v1/chat/completions", json=chat)
    prompt = engine.last_request["prompt"]
    assert prompt.startswith("<|begin_of_text|>") is sent_bos
    assert prompt.removeprefix("<|begin_of_text|>").startswith("<|start_header_id|>system")
    assert "add_special_tokens" not in engine.last_request


def test_metrics_count_requests(client: TestClient) -> None:
    client.post(
        "/v1/chat/completions",
        json={"model": "tiny", "messages": [{"role": "user", "content": "hi"}]},
    )
    text = client.get("/metrics").text
    labels = 'endpoint="/v1/chat/completions",model="tiny-chatml",status="200"'
    assert f"inferstack_requests_total{{{labels}}} 1.0" in text
    assert "inferstack_time_to_first_token_seconds_bucket" in text
    assert 'inferstack_completion_tokens_total{model="tiny-chatml"} 3.0' in text


def test_index_names_the_service(client: TestClient) -> None:
    body = client.get("/").json()
    assert body["name"] == "inferstack"
    assert body["links"]["chat_completions"] == "/v1/chat/completions"


def test_metrics_count_refused_requests(client: TestClient) -> None:
    client.post("/v1/chat/completions", json={"model": "nope", "messages": []})
    client.post("/v1/chat/completions", json={"model": "tiny", "messages": [], "n": 2})
    text = client.get("/metrics").text
    labels = 'endpoint="/v1/chat/completions",model="unknown",status="400"'
    assert f"inferstack_requests_total{{{labels}}} 2.0" in text
    assert 'inferstack_requests_in_flight{model="unknown"} 0.0' in text


def test_named_tool_choice_prefills_the_call(sdk: openai.OpenAI, engine: ScriptedEngine) -> None:
    engine.texts = ['{"city": ', '"Paris"}}', "\n</tool_call>"]
    reply = sdk.chat.completions.create(
        model="tiny-chatml",
        messages=[{"role": "user", "content": "Weather in Paris?"}],
        tools=[WEATHER_TOOL],
        tool_choice={"type": "function", "function": {"name": "get_weather"}},
    )
    assert engine.last_request["prompt"].endswith(
        '<|im_start|>assistant\n<tool_call>\n{"name": "get_weather", "arguments": '
    )
    # The rest is constrained to the tool's parameters (llama.cpp turns it into a grammar).
    assert engine.last_request["json_schema"] == WEATHER_TOOL["function"]["parameters"]
    calls = reply.choices[0].message.tool_calls
    assert calls is not None
    assert calls[0].function.name == "get_weather"
    assert json.loads(calls[0].function.arguments) == {"city": "Paris"}


def test_unsafe_client_request_id_is_ignored(client: TestClient) -> None:
    response = client.get("/health/live", headers={"X-Request-ID": "bad id\twith spaces"})
    assert len(response.headers["x-request-id"]) == 32
    assert "x-client-request-id" not in response.headers


def test_tool_call_cut_by_max_tokens_finishes_with_length(
    sdk: openai.OpenAI, engine: ScriptedEngine
) -> None:
    engine.texts = ['<tool_call>\n{"name": "get_weather", "arguments": {"city": "Pa']
    engine.finish_reason = "length"
    reply = sdk.chat.completions.create(
        model="tiny-chatml",
        messages=[{"role": "user", "content": "Weather in Paris?"}],
        tools=[WEATHER_TOOL],
    )
    assert reply.choices[0].finish_reason == "length"


def test_llamacpp_bos_is_learnt_at_startup(models_file: Path, engine: ScriptedEngine) -> None:
    engine.adds_bos = True
    app = create_app(Settings(models_file=models_file), ModelRegistry.from_file(models_file))
    with TestClient(app) as client:
        chat = {"model": "llama-on-cpu", "messages": [{"role": "user", "content": "hi"}]}
        client.post("/v1/chat/completions", json=chat)  # no health call before it
    assert engine.last_request["prompt"].startswith("<|start_header_id|>")


def test_engine_gauges_are_exported(client: TestClient, engine: ScriptedEngine) -> None:
    engine.queued = 2
    client.get("/health/ready")  # probes scrape each engine's queue
    text = client.get("/metrics").text
    label = 'engine="llamacpp#0",model="tiny-chatml"'
    assert f"inferstack_engine_queue_depth{{{label}}} 2.0" in text
    assert f"inferstack_engine_requests_in_flight{{{label}}} 0.0" in text
