"""Chat events -> Anthropic messages and SSE events, snapshot-checked event by event."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from api_server.anthropic.render import (
    MessageAssembler,
    MessageStreamRenderer,
    stop_reason,
)
from api_server.anthropic.tool_names import ToolNameMap, safe_tool_name
from api_server.chat.events import (
    ChatEvent,
    Finished,
    TextDelta,
    ToolCallArgumentsDelta,
    ToolCallStart,
    Usage,
)
from api_server.errors import EngineResponseError

USAGE = Usage(prompt_tokens=12, completion_tokens=5)
NAMES = ToolNameMap.for_names(["get.weather"])
WEATHER = safe_tool_name("get.weather")


def parse_sse(raw: bytes) -> list[tuple[str, dict[str, Any]]]:
    """(event, data) pairs, with random ids replaced by stable placeholders."""
    text = re.sub(r"msg_[0-9a-f]{24}", "msg_ID", raw.decode())
    text = re.sub(r"toolu_[0-9a-f]{24}", "toolu_ID", text)
    events = []
    for frame in text.split("\n\n"):
        if not frame:
            continue
        event_line, data_line = frame.split("\n")
        assert event_line.startswith("event: ") and data_line.startswith("data: ")
        data = json.loads(data_line.removeprefix("data: "))
        assert data["type"] == event_line.removeprefix("event: ")
        events.append((data["type"], data))
    return events


def stream(events: list[ChatEvent]) -> list[tuple[str, dict[str, Any]]]:
    renderer = MessageStreamRenderer("tiny-chatml", NAMES)
    return parse_sse(renderer.opening() + b"".join(renderer.render(e) for e in events))


MESSAGE_START = (
    "message_start",
    {
        "type": "message_start",
        "message": {
            "id": "msg_ID",
            "type": "message",
            "role": "assistant",
            "model": "tiny-chatml",
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": 0, "output_tokens": 0},
        },
    },
)
PING = ("ping", {"type": "ping"})


def block_start(index: int, block: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return (
        "content_block_start",
        {"type": "content_block_start", "index": index, "content_block": block},
    )


def delta(index: int, body: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return ("content_block_delta", {"type": "content_block_delta", "index": index, "delta": body})


def block_stop(index: int) -> tuple[str, dict[str, Any]]:
    return ("content_block_stop", {"type": "content_block_stop", "index": index})


def ending(reason: str, sequence: str | None = None) -> list[tuple[str, dict[str, Any]]]:
    return [
        (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": reason, "stop_sequence": sequence},
                "usage": {"input_tokens": 12, "output_tokens": 5},
            },
        ),
        ("message_stop", {"type": "message_stop"}),
    ]


TOOL_BLOCK = {"type": "tool_use", "id": "toolu_ID", "name": "get.weather", "input": {}}


def test_text_stream() -> None:
    events = stream(
        [TextDelta("The capital"), TextDelta(""), TextDelta(" is Paris."), Finished("stop", USAGE)]
    )
    assert events == [
        MESSAGE_START,
        block_start(0, {"type": "text", "text": ""}),
        PING,
        delta(0, {"type": "text_delta", "text": "The capital"}),
        delta(0, {"type": "text_delta", "text": " is Paris."}),
        block_stop(0),
        *ending("end_turn"),
    ]


def test_tool_use_stream() -> None:
    events = stream(
        [
            ToolCallStart(0, WEATHER),
            ToolCallArgumentsDelta(0, '{"city": '),
            ToolCallArgumentsDelta(0, '"Paris"}'),
            Finished("tool_calls", USAGE),
        ]
    )
    assert events == [
        MESSAGE_START,
        block_start(0, TOOL_BLOCK),
        PING,
        delta(0, {"type": "input_json_delta", "partial_json": '{"city": '}),
        delta(0, {"type": "input_json_delta", "partial_json": '"Paris"}'}),
        block_stop(0),
        *ending("tool_use"),
    ]


def test_text_then_two_tool_calls_stream() -> None:
    events = stream(
        [
            TextDelta("Let me check."),
            ToolCallStart(0, WEATHER, model_id="a1B2c3D4e"),
            ToolCallArgumentsDelta(0, '{"city": "Paris"}'),
            ToolCallStart(1, "get_time"),
            ToolCallArgumentsDelta(1, "{}"),
            Finished("tool_calls", USAGE),
        ]
    )
    assert events == [
        MESSAGE_START,
        block_start(0, {"type": "text", "text": ""}),
        PING,
        delta(0, {"type": "text_delta", "text": "Let me check."}),
        block_stop(0),
        block_start(1, TOOL_BLOCK),
        delta(1, {"type": "input_json_delta", "partial_json": '{"city": "Paris"}'}),
        block_stop(1),
        block_start(2, {**TOOL_BLOCK, "name": "get_time"}),
        delta(2, {"type": "input_json_delta", "partial_json": "{}"}),
        block_stop(2),
        *ending("tool_use"),
    ]


def test_empty_reply_still_pings_and_ends() -> None:
    assert stream([Finished("length", USAGE)]) == [MESSAGE_START, PING, *ending("max_tokens")]


def test_error_mid_stream_ends_with_an_error_event() -> None:
    renderer = MessageStreamRenderer("tiny-chatml", NAMES)
    raw = renderer.opening() + renderer.render(TextDelta("Hel"))
    raw += renderer.render_error(EngineResponseError("Engine failed mid-stream"))
    assert parse_sse(raw) == [
        MESSAGE_START,
        block_start(0, {"type": "text", "text": ""}),
        PING,
        delta(0, {"type": "text_delta", "text": "Hel"}),
        (
            "error",
            {
                "type": "error",
                "error": {"type": "api_error", "message": "Engine failed mid-stream"},
            },
        ),
    ]


def test_message_object() -> None:
    assembler = MessageAssembler("tiny-chatml", NAMES)
    events: list[ChatEvent] = [
        TextDelta("Let me "),
        TextDelta("check."),
        ToolCallStart(0, WEATHER),
        ToolCallArgumentsDelta(0, '{"city": '),
        ToolCallArgumentsDelta(0, '"Paris"}'),
        ToolCallStart(1, "cut_off"),
        ToolCallArgumentsDelta(1, '{"a": '),
        Finished("tool_calls", USAGE),
    ]
    for event in events:
        assembler.add(event)
    message = assembler.result()
    assert re.fullmatch(r"msg_[0-9a-f]{24}", message.pop("id"))
    ids = [block.pop("id") for block in message["content"] if block["type"] == "tool_use"]
    assert all(re.fullmatch(r"toolu_[0-9a-f]{24}", i) for i in ids) and len(set(ids)) == 2
    assert message == {
        "type": "message",
        "role": "assistant",
        "model": "tiny-chatml",
        "content": [
            {"type": "text", "text": "Let me check."},
            {"type": "tool_use", "name": "get.weather", "input": {"city": "Paris"}},
            {"type": "tool_use", "name": "cut_off", "input": {}},
        ],
        "stop_reason": "tool_use",
        "stop_sequence": None,
        "usage": {"input_tokens": 12, "output_tokens": 5},
    }


def test_message_object_with_stop_sequence() -> None:
    assembler = MessageAssembler("tiny-chatml", NAMES)
    assembler.add(TextDelta("1, 2, 3"))
    assembler.add(Finished("stop", USAGE, stop_sequence="4"))
    message = assembler.result()
    assert (message["stop_reason"], message["stop_sequence"]) == ("stop_sequence", "4")
    assert message["content"] == [{"type": "text", "text": "1, 2, 3"}]


@pytest.mark.parametrize(
    ("finished", "expected"),
    [
        (Finished("stop", USAGE), ("end_turn", None)),
        (Finished("stop", USAGE, stop_sequence="END"), ("stop_sequence", "END")),
        (Finished("length", USAGE), ("max_tokens", None)),
        (Finished("tool_calls", USAGE), ("tool_use", None)),
    ],
)
def test_stop_reason(finished: Finished, expected: tuple[str, str | None]) -> None:
    assert stop_reason(finished) == expected
