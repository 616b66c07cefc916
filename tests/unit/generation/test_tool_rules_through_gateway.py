"""A model's tool-call rules (`tools:` in the registry) seen through each front door."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api_server.app import create_app
from api_server.config import Settings
from api_server.registry import ModelRegistry
from tests.recording_server import RecordingServer
from tests.unit.scripted_engine import ScriptedEngine

CHAT = "/v1/chat/completions"
MESSAGES = "/v1/messages"
ASK = [{"role": "user", "content": "Weather in Paris and Lyon?"}]
WEATHER_SCHEMA: Any = {
    "type": "object",
    "properties": {"city": {"type": "string"}},
    "required": ["city"],
}
OPENAI_TOOLS: Any = [
    {"type": "function", "function": {"name": "get_weather", "parameters": WEATHER_SCHEMA}}
]
ANTHROPIC_TOOLS: Any = [{"name": "get_weather", "input_schema": WEATHER_SCHEMA}]
STRICT_OPENAI: Any = {"model": "strict-tiny", "messages": ASK, "tools": OPENAI_TOOLS}
TWO_CALLS = [
    "<tool_call>\n",
    '{"name": "get_weather", "arguments": {"ci',
    'ty": "Paris"}}\n</tool_call>\n<tool_',
    'call>\n{"name": "get_weather", "arguments": {"city": "Lyon"}}\n</tool_call>',
]
BAD_CALL = ["<tool_call>\n", '{"name": "get_weather", ', '"arguments": {"city": 75}}\n</tool_call>']


@pytest.fixture
def client(tmp_path: Path, engine: ScriptedEngine) -> Iterator[TestClient]:
    # Two tiny chatml models on the scripted engine: one with the rules, one without.
    entries = "".join(
        f"""
  - name: {name}
    prompt_family: chatml
    tool_call_syntax: hermes
    engine: {{kind: llamacpp, served_name: tiny, urls: ["{engine.url}"]}}
    context_length: 2048
    max_tokens: {{default: 16, limit: 64}}
    tools: {tools}"""
        for name, tools in [
            ("strict-tiny", "{max_parallel_calls: 1, strict_arguments: true}"),
            ("lenient-tiny", "{}"),
        ]
    )
    path = tmp_path / "models.yaml"
    path.write_text(f"default_model: strict-tiny\nmodels:{entries}\n")
    settings = Settings(models_file=path, max_body_bytes=64 * 1024)
    with TestClient(create_app(settings, ModelRegistry.from_file(path))) as test_client:
        yield test_client


def openai_stream(client: TestClient, body: dict[str, Any]) -> list[Any]:
    with client.stream("POST", CHAT, json={**body, "stream": True}) as response:
        assert response.status_code == 200
        lines = [line for line in response.iter_lines() if line.startswith("data: ")]
    assert lines[-1] == "data: [DONE]"
    return [json.loads(line.removeprefix("data: ")) for line in lines[:-1]]


def streamed_calls(chunks: list[Any]) -> dict[int, dict[str, Any]]:
    calls: dict[int, dict[str, Any]] = {}
    for chunk in chunks:
        for choice in chunk.get("choices", []):
            for call in choice["delta"].get("tool_calls") or []:
                entry = calls.setdefault(call["index"], {"name": "", "fragments": []})
                function = call.get("function") or {}
                entry["name"] += function.get("name") or ""
                if function.get("arguments"):
                    entry["fragments"].append(function["arguments"])
    return calls


def anthropic_events(client: TestClient, body: dict[str, Any]) -> list[Any]:
    response = client.post(MESSAGES, json={**body, "stream": True})
    assert response.status_code == 200
    frames = [frame for frame in response.text.split("\n\n") if frame]
    return [json.loads(frame.split("\n")[1].removeprefix("data: ")) for frame in frames]


def test_openai_extra_calls_are_dropped(client: TestClient, engine: ScriptedEngine) -> None:
    engine.texts = TWO_CALLS
    body = STRICT_OPENAI
    reply = client.post(CHAT, json=body)
    assert reply.status_code == 200, reply.text
    choice = reply.json()["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    calls = choice["message"]["tool_calls"]
    assert [(c["function"]["name"], json.loads(c["function"]["arguments"])) for c in calls] == [
        ("get_weather", {"city": "Paris"})
    ]


def test_openai_stream_carries_one_call_with_its_arguments_whole(
    client: TestClient, engine: ScriptedEngine
) -> None:
    engine.texts = TWO_CALLS
    body = STRICT_OPENAI
    chunks = openai_stream(client, body)
    calls = streamed_calls(chunks)
    assert list(calls) == [0]
    assert calls[0] == {"name": "get_weather", "fragments": ['{"city": "Paris"}']}
    finishes = [c["choices"][0]["finish_reason"] for c in chunks if c.get("choices")]
    assert "tool_calls" in finishes


def test_openai_parallel_tool_calls_false_keeps_one_call(
    client: TestClient, engine: ScriptedEngine
) -> None:
    engine.texts = TWO_CALLS
    body = {"model": "lenient-tiny", "messages": ASK, "tools": OPENAI_TOOLS}
    both = client.post(CHAT, json=body).json()["choices"][0]["message"]["tool_calls"]
    assert len(both) == 2
    one = client.post(CHAT, json={**body, "parallel_tool_calls": False}).json()
    assert len(one["choices"][0]["message"]["tool_calls"]) == 1


def test_openai_schema_violation_is_502(client: TestClient, engine: ScriptedEngine) -> None:
    engine.texts = BAD_CALL
    body = STRICT_OPENAI
    response = client.post(CHAT, json=body)
    assert response.status_code == 502, response.text
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["code"] == "tool_arguments_invalid"
    assert "get_weather" in error["message"] and "$.city" in error["message"]


def test_openai_stream_schema_violation_ends_with_an_error_event(
    client: TestClient, engine: ScriptedEngine
) -> None:
    engine.texts = BAD_CALL
    body = STRICT_OPENAI
    chunks = openai_stream(client, body)
    error = chunks[-1]["error"]
    assert error["code"] == "tool_arguments_invalid"
    assert "get_weather" in error["message"]
    # The bad arguments never reached the client.
    assert all(not c["fragments"] for c in streamed_calls(chunks).values())


def test_anthropic_extra_calls_are_dropped(client: TestClient, engine: ScriptedEngine) -> None:
    engine.texts = TWO_CALLS
    body = {"model": "strict-tiny", "max_tokens": 16, "messages": ASK, "tools": ANTHROPIC_TOOLS}
    reply = client.post(MESSAGES, json=body)
    assert reply.status_code == 200, reply.text
    message = reply.json()
    assert message["stop_reason"] == "tool_use"
    uses = [block for block in message["content"] if block["type"] == "tool_use"]
    assert [(u["name"], u["input"]) for u in uses] == [("get_weather", {"city": "Paris"})]


def test_anthropic_disable_parallel_tool_use_keeps_one_call(
    client: TestClient, engine: ScriptedEngine
) -> None:
    engine.texts = TWO_CALLS
    body = {
        "model": "lenient-tiny",
        "max_tokens": 16,
        "messages": ASK,
        "tools": ANTHROPIC_TOOLS,
        "tool_choice": {"type": "auto", "disable_parallel_tool_use": True},
    }
    events = anthropic_events(client, body)
    starts = [e for e in events if e["type"] == "content_block_start"]
    assert [e["content_block"]["type"] for e in starts] == ["tool_use"]


def test_anthropic_schema_violation(client: TestClient, engine: ScriptedEngine) -> None:
    engine.texts = BAD_CALL
    body = {"model": "strict-tiny", "max_tokens": 16, "messages": ASK, "tools": ANTHROPIC_TOOLS}
    response = client.post(MESSAGES, json=body)
    assert response.status_code == 502, response.text
    assert response.json()["type"] == "error"
    assert "get_weather" in response.json()["error"]["message"]
    last = anthropic_events(client, body)[-1]
    assert last["type"] == "error" and "$.city" in last["error"]["message"]


def aisdk_body(tools: Any) -> dict[str, Any]:
    return {
        "model": "strict-tiny",
        "messages": [{"id": "m1", "role": "user", "parts": [{"type": "text", "text": "?"}]}],
        "tools": tools,
    }


def test_aisdk_stream_carries_one_call(client: TestClient, engine: ScriptedEngine) -> None:
    engine.texts = TWO_CALLS
    response = client.post("/api/chat", json=aisdk_body(OPENAI_TOOLS))
    assert response.status_code == 200, response.text
    frames = [f.removeprefix("data: ") for f in response.text.split("\n\n") if f]
    parts = [json.loads(frame) for frame in frames if frame != "[DONE]"]
    available = [p for p in parts if p["type"] == "tool-input-available"]
    assert [(p["toolName"], p["input"]) for p in available] == [("get_weather", {"city": "Paris"})]


@pytest.fixture
def server() -> Iterator[RecordingServer]:
    with RecordingServer() as running:
        yield running


def remote_ref_schema(url: str) -> Any:
    return {"type": "object", "properties": {"city": {"$ref": url}}}


@pytest.mark.parametrize("model", ["strict-tiny", "lenient-tiny"])
@pytest.mark.parametrize("stream", [False, True])
def test_openai_refuses_a_remote_ref_before_the_engine(
    client: TestClient, engine: ScriptedEngine, server: RecordingServer, model: str, stream: bool
) -> None:
    # Every model refuses it, strict or not: a schema the gateway will not check is the
    # client's error, whoever reads it next.
    tools = [
        OPENAI_TOOLS[0],
        {
            "type": "function",
            "function": {"name": "f", "parameters": remote_ref_schema(server.url)},
        },
    ]
    body = {"model": model, "messages": ASK, "tools": tools, "stream": stream}
    response = client.post(CHAT, json=body)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert (error["type"], error["code"]) == ("invalid_request_error", "invalid_schema")
    assert error["param"] == "tools[1].function.parameters"
    assert server.url in error["message"]
    assert (engine.requests, server.hits) == ([], [])


def test_anthropic_refuses_a_bad_pattern_in_its_envelope(
    client: TestClient, engine: ScriptedEngine
) -> None:
    schema = {"type": "object", "properties": {"city": {"type": "string", "pattern": "(?!x)"}}}
    body = {
        "model": "strict-tiny",
        "max_tokens": 16,
        "messages": ASK,
        "tools": [{"name": "get_weather", "input_schema": schema}],
    }
    response = client.post(MESSAGES, json=body)
    assert response.status_code == 400, response.text
    assert response.json()["type"] == "error"
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert "tools[0].input_schema" in error["message"] and "(?!x)" in error["message"]
    assert engine.requests == []


def test_aisdk_refuses_an_invalid_schema(client: TestClient, engine: ScriptedEngine) -> None:
    tools = [{"type": "function", "function": {"name": "f", "parameters": {"type": 7}}}]
    response = client.post("/api/chat", json=aisdk_body(tools))
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert (error["code"], error["param"]) == ("invalid_schema", "tools[0].function.parameters")
    assert "not a valid JSON Schema" in error["message"]
    assert engine.requests == []


def test_a_backtracking_pattern_is_checked_in_linear_time(
    client: TestClient, engine: ScriptedEngine
) -> None:
    # With Python's `re` this call's check would take hours: the test would hang.
    schema = {"type": "object", "properties": {"city": {"type": "string", "pattern": "^(a+)+$"}}}
    tools = [{"type": "function", "function": {"name": "get_weather", "parameters": schema}}]
    evil = "a" * 50 + "!"
    engine.texts = [
        "<tool_call>\n",
        json.dumps({"name": "get_weather", "arguments": {"city": evil}}),
        "\n</tool_call>",
    ]
    response = client.post(CHAT, json={"model": "strict-tiny", "messages": ASK, "tools": tools})
    assert response.status_code == 502, response.text
    assert "does not match '^(a+)+$'" in response.json()["error"]["message"]


def patterned_tool(index: int) -> dict[str, Any]:
    properties = {f"p{i}": {"type": "string", "pattern": f"^{index}-{i}$"} for i in range(20)}
    parameters = {"type": "object", "properties": properties}
    return {"type": "function", "function": {"name": f"f{index}", "parameters": parameters}}


def test_a_request_is_bounded_in_tools_and_in_patterns_together(
    client: TestClient, engine: ScriptedEngine
) -> None:
    # Each schema alone is within its limits; seven together hold 140 patterns to compile.
    body = {"model": "strict-tiny", "messages": ASK, "tools": [patterned_tool(i) for i in range(7)]}
    response = client.post(CHAT, json=body)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert (error["code"], error["param"]) == ("invalid_schema", "tools[6].function.parameters")
    assert "more than 128 patterns together" in error["message"]

    body["tools"] = [OPENAI_TOOLS[0]] * 129
    response = client.post(CHAT, json=body)
    assert response.status_code == 400, response.text
    assert "tools" in response.json()["error"]["message"]
    assert engine.requests == []
