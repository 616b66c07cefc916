"""The AI SDK stream through the gateway, against the scripted engine: a mid-stream failure
ends with the protocol's error part, and tool results sent with the request are passed to
the engine but never echoed back as `tool-output-available` (the gateway runs no tools)."""

from __future__ import annotations

import json
from typing import Any

from fastapi.testclient import TestClient

from tests.unit.scripted_engine import Scripted, ScriptedEngine

CHAT = "/api/chat"
HELLO = [{"id": "u1", "role": "user", "parts": [{"type": "text", "text": "hello"}]}]


def _stream(client: TestClient, body: dict[str, Any]) -> tuple[list[dict[str, Any]], list[str]]:
    with client.stream("POST", CHAT, json=body) as response:
        assert response.status_code == 200
        assert response.headers["x-vercel-ai-ui-message-stream"] == "v1"
        lines = [line for line in response.iter_lines() if line.startswith("data: ")]
    chunks = [json.loads(line[6:]) for line in lines if line != "data: [DONE]"]
    return chunks, lines


def test_engine_failure_mid_stream_ends_with_the_error_part(
    client: TestClient, engine: ScriptedEngine
) -> None:
    engine.script = Scripted(
        200,
        [
            b'data: {"choices": [{"index": 0, "text": "Hel", "finish_reason": null}]}\n\n',
            b'data: {"error": {"message": "slot crashed"}}\n\n',
        ],
    )
    chunks, lines = _stream(client, {"model": "tiny", "messages": HELLO})
    assert [chunk["type"] for chunk in chunks] == [
        "start",
        "start-step",
        "text-start",
        "text-delta",
        "error",
    ]
    assert chunks[3]["delta"] == "Hel"
    assert set(chunks[-1]) == {"type", "errorText"} and "slot crashed" in chunks[-1]["errorText"]
    assert lines[-1] == "data: [DONE]"


def test_dropped_engine_connection_ends_with_the_error_part(
    client: TestClient, engine: ScriptedEngine
) -> None:
    engine.script = Scripted(
        200,
        [b'data: {"choices": [{"index": 0, "text": "Hel", "finish_reason": null}]}\n\n'],
        drop_after_chunks=True,
    )
    chunks, lines = _stream(client, {"model": "tiny", "messages": HELLO})
    assert chunks[-1]["type"] == "error" and chunks[-1]["errorText"]
    assert not any(chunk["type"] in ("finish", "finish-step") for chunk in chunks)
    assert lines[-1] == "data: [DONE]"


def test_tool_results_reach_the_engine_and_are_not_echoed(
    client: TestClient, engine: ScriptedEngine
) -> None:
    assistant = {
        "id": "a1",
        "role": "assistant",
        "parts": [
            {
                "type": "tool-weather",
                "toolCallId": "call_1",
                "state": "output-available",
                "input": {"city": "Paris"},
                "output": {"celsius": 21},
            }
        ],
    }
    tools = [{"type": "function", "function": {"name": "weather", "parameters": {}}}]
    body = {"model": "tiny", "messages": [*HELLO, assistant], "tools": tools}
    chunks, lines = _stream(client, body)
    assert '<tool_response>\n{"celsius": 21}\n</tool_response>' in engine.last_request["prompt"]
    assert "tool-output-available" not in {chunk["type"] for chunk in chunks}
    assert chunks[-1] == {"type": "finish"} and lines[-1] == "data: [DONE]"
