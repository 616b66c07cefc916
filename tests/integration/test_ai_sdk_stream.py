"""The AI SDK UI message stream (`POST /api/chat`) and titles against the running stack:
text from the real llama-server + SmolLM2, a tool call from the fake engine, each stream
checked part by part against the protocol."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.integration

MODEL = "SmolLM2-135M-Instruct"


def ui_message(text: str, message_id: str = "m1") -> dict[str, Any]:
    return {"id": message_id, "role": "user", "parts": [{"type": "text", "text": text}]}


def stream_parts(http: httpx.Client, body: dict[str, Any]) -> tuple[httpx.Response, list[Any]]:
    response = http.post("/api/chat", json=body, timeout=120)
    assert response.status_code == 200, response.text
    events = response.text.split("\n\n")
    assert events[-2:] == ["data: [DONE]", ""], "the stream ends with [DONE]"
    assert all(event.startswith("data: ") for event in events[:-2])
    return response, [json.loads(event[6:]) for event in events[:-2]]


def test_text_stream_from_the_real_model(http: httpx.Client) -> None:
    body = {
        "model": MODEL,
        "temperature": 0,
        "messages": [ui_message("What is the capital of France?")],
    }
    response, parts = stream_parts(http, body)
    assert response.headers["x-vercel-ai-ui-message-stream"] == "v1"
    assert response.headers["content-type"].startswith("text/event-stream")
    kinds = [part["type"] for part in parts]
    assert kinds[:3] == ["start", "start-step", "text-start"]
    assert kinds[-3:] == ["text-end", "finish-step", "finish"]
    assert set(kinds[3:-3]) == {"text-delta"}
    block_ids = {part["id"] for part in parts if part["type"].startswith("text-")}
    assert len(block_ids) == 1  # one text block, opened, filled and closed
    text = "".join(part["delta"] for part in parts if part["type"] == "text-delta")
    assert "Paris" in text


def test_tool_call_stream_from_the_fake_engine(http: httpx.Client) -> None:
    tool = {
        "type": "function",
        "function": {
            "name": "get_weather",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
        },
    }
    body = {"model": "fake-hermes", "messages": [ui_message("Weather?")], "tools": [tool]}
    _, parts = stream_parts(http, body)
    kinds = [part["type"] for part in parts]
    assert kinds[0:2] == ["start", "start-step"] and kinds[-2:] == ["finish-step", "finish"]
    start = next(part for part in parts if part["type"] == "tool-input-start")
    available = next(part for part in parts if part["type"] == "tool-input-available")
    deltas = [part for part in parts if part["type"] == "tool-input-delta"]
    assert start["toolName"] == available["toolName"] == "get_weather"
    assert {part["toolCallId"] for part in [start, available, *deltas]} == {start["toolCallId"]}
    assert json.loads("".join(part["inputTextDelta"] for part in deltas)) == available["input"]
    assert available["input"] == {"city": "Paris", "unit": "celsius"}
    assert kinds.index("tool-input-start") < kinds.index("tool-input-available")


def test_title_from_the_real_model(http: httpx.Client) -> None:
    messages = [ui_message("Plan a three day trip to Rome in May with museums and food")]
    response = http.post("/v1/title", json={"model": MODEL, "messages": messages}, timeout=60)
    assert response.status_code == 200, response.text
    title = response.json()["title"]
    assert 0 < len(title) <= 60 and "\n" not in title
    assert not title.endswith((".", "!", "?", '"'))
