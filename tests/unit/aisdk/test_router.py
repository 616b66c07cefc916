"""The AI SDK front door end to end over the scripted engine, checked chunk by chunk."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from api_server.app import create_app
from api_server.config import Settings
from api_server.registry import ModelRegistry
from tests.unit.scripted_engine import Scripted, ScriptedEngine

WEATHER_TOOL: Any = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}
FRANCE: Any = [
    {"id": "m1", "role": "user", "parts": [{"type": "text", "text": "Capital of France?"}]}
]


def chunks(text: str) -> list[Any]:
    events = text.split("\n\n")
    assert events[-2:] == ["data: [DONE]", ""], "the stream ends with [DONE]"
    return [json.loads(event.removeprefix("data: ")) for event in events[:-2]]


def test_text_stream_chunk_by_chunk(client: TestClient, engine: ScriptedEngine) -> None:
    response = client.post("/api/chat", json={"messages": FRANCE})
    assert response.status_code == 200, response.text
    assert response.headers["x-vercel-ai-ui-message-stream"] == "v1"
    assert response.headers["content-type"].startswith("text/event-stream")
    parts = chunks(response.text)
    start, text_id = parts[0], parts[2]["id"]
    assert start["type"] == "start" and start["messageId"].startswith("msg_")
    assert parts == [
        start,
        {"type": "start-step"},
        {"type": "text-start", "id": text_id},
        {"type": "text-delta", "id": text_id, "delta": "The capital"},
        {"type": "text-delta", "id": text_id, "delta": " of France"},
        {"type": "text-delta", "id": text_id, "delta": " is Paris."},
        {"type": "text-end", "id": text_id},
        {"type": "finish-step"},
        {"type": "finish"},
    ]
    assert "<|im_start|>user\nCapital of France?<|im_end|>" in engine.last_request["prompt"]


def test_tool_call_stream(client: TestClient, engine: ScriptedEngine) -> None:
    engine.texts = [
        "Let me check. ",
        "<tool_call>\n",
        '{"name": "get_weather", "arguments": ',
        '{"city": ',
        '"Paris"}}\n</tool_call>',
    ]
    body = {"model": "tiny", "messages": FRANCE, "tools": [WEATHER_TOOL]}
    response = client.post("/api/chat", json=body)
    assert response.status_code == 200, response.text
    parts = chunks(response.text)
    kinds = [part["type"] for part in parts]
    assert kinds[:3] == ["start", "start-step", "text-start"]
    assert kinds[-2:] == ["finish-step", "finish"]
    text = "".join(part["delta"] for part in parts if part["type"] == "text-delta")
    assert text.strip() == "Let me check."
    first = kinds.index("tool-input-start")
    assert kinds[first - 1] == "text-end"
    start = parts[first]
    call_id = start["toolCallId"]
    assert start == {"type": "tool-input-start", "toolCallId": call_id, "toolName": "get_weather"}
    deltas = [part for part in parts if part["type"] == "tool-input-delta"]
    assert all(delta["toolCallId"] == call_id for delta in deltas)
    assert json.loads("".join(d["inputTextDelta"] for d in deltas)) == {"city": "Paris"}
    assert parts[-3] == {
        "type": "tool-input-available",
        "toolCallId": call_id,
        "toolName": "get_weather",
        "input": {"city": "Paris"},
    }
    assert "get_weather" in engine.last_request["prompt"]  # the tool is offered


def test_tool_results_go_back_to_the_model(client: TestClient, engine: ScriptedEngine) -> None:
    assistant = {
        "id": "m2",
        "role": "assistant",
        "parts": [
            {"type": "step-start"},
            {
                "type": "tool-get_weather",
                "toolCallId": "call_1",
                "state": "output-available",
                "input": {"city": "Paris"},
                "output": {"temp": 21},
            },
        ],
    }
    body = {"messages": [*FRANCE, assistant], "tools": [WEATHER_TOOL]}
    response = client.post("/api/chat", json=body)
    assert response.status_code == 200, response.text
    prompt = engine.last_request["prompt"]
    assert '"city": "Paris"' in prompt and '{"temp": 21}' in prompt


def test_content_string_messages_are_accepted(client: TestClient, engine: ScriptedEngine) -> None:
    body = {"messages": [{"role": "user", "content": "Hi there"}]}
    response = client.post("/api/chat", json=body)
    assert response.status_code == 200, response.text
    assert "Hi there" in engine.last_request["prompt"]


def test_error_mid_stream_ends_with_an_error_part(
    client: TestClient, engine: ScriptedEngine
) -> None:
    engine.script = Scripted(
        200,
        [b'data: {"choices": [{"index": 0, "text": "Hel", "finish_reason": null}]}\n\n',
         b'data: {"error": {"message": "out of memory"}}\n\n'],
        {"content-type": "text/event-stream"},
    )  # fmt: skip
    response = client.post("/api/chat", json={"messages": FRANCE})
    assert response.status_code == 200
    parts = chunks(response.text)
    assert [part["type"] for part in parts[:4]] == [
        "start",
        "start-step",
        "text-start",
        "text-delta",
    ]
    assert parts[-1]["type"] == "error"
    assert "out of memory" in parts[-1]["errorText"]


def test_errors_before_the_stream_are_plain_http(client: TestClient) -> None:
    response = client.post("/api/chat", json={"model": "no-such-model", "messages": FRANCE})
    assert response.status_code == 404
    assert "error" in response.json()
    assert client.post("/api/chat", json={"messages": []}).status_code == 400


def test_title_end_to_end(client: TestClient, engine: ScriptedEngine) -> None:
    engine.texts = ['"Capital of France."', "\nThis title is short."]
    messages = [
        {"role": "user", "content": "What is the capital of France?"},
        {"role": "assistant", "content": "Paris."},
    ]
    response = client.post("/v1/title", json={"messages": messages})
    assert response.status_code == 200, response.text
    assert response.json() == {"title": "Capital of France"}
    sent = engine.last_request
    assert sent["temperature"] == 0 and sent["max_tokens"] == 16
    assert "user: What is the capital of France?" in sent["prompt"]
    assert "assistant: Paris." in sent["prompt"]


def test_title_falls_back_to_the_first_user_words(
    client: TestClient, engine: ScriptedEngine
) -> None:
    engine.texts = ['""']
    messages = [
        {"role": "user", "parts": [{"type": "text", "text": "Plan a trip to Rome in May please"}]}
    ]
    response = client.post("/v1/title", json={"messages": messages, "model": "tiny"})
    assert response.status_code == 200, response.text
    assert response.json() == {"title": "Plan a trip to Rome in"}


def test_titles_come_from_the_configured_small_model(
    models_file: Path, engine: ScriptedEngine
) -> None:
    engine.texts = ["Rome trip"]
    settings = Settings(models_file=models_file, title_model="llama-on-cpu")
    with TestClient(create_app(settings, ModelRegistry.from_file(models_file))) as client:
        messages = [{"role": "user", "content": "Plan a trip to Rome"}]
        response = client.post("/v1/title", json={"messages": messages, "model": "tiny"})
    assert response.json() == {"title": "Rome trip"}
    assert engine.last_request["model"] == "llama"  # llama-on-cpu's served name, not tiny's


def test_title_length_is_the_configured_one(models_file: Path, engine: ScriptedEngine) -> None:
    engine.texts = ["A trip to Rome in May with the family"]
    settings = Settings(models_file=models_file, title_max_chars=16)
    with TestClient(create_app(settings, ModelRegistry.from_file(models_file))) as client:
        messages = [{"role": "user", "content": "Plan a trip to Rome"}]
        response = client.post("/v1/title", json={"messages": messages, "model": "tiny"})
    assert response.json() == {"title": "A trip to Rome"}
