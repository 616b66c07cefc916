from __future__ import annotations

from typing import Any

from api_server.aisdk.render import UIMessageChunks, UIMessageStreamRenderer
from api_server.chat.events import (
    ChatEvent,
    Finished,
    TextDelta,
    ToolCallArgumentsDelta,
    ToolCallStart,
    Usage,
)
from api_server.errors import InferstackError

DONE = Finished("stop", Usage(prompt_tokens=1, completion_tokens=1))


def fold(events: list[ChatEvent]) -> list[Any]:
    chunks = UIMessageChunks(message_id="m")
    return [chunk for event in events for chunk in chunks.add(event)]


def test_text_runs_share_an_id() -> None:
    assert fold([TextDelta("a"), TextDelta(""), TextDelta("b"), DONE]) == [
        {"type": "text-start", "id": "m-text-1"},
        {"type": "text-delta", "id": "m-text-1", "delta": "a"},
        {"type": "text-delta", "id": "m-text-1", "delta": "b"},
        {"type": "text-end", "id": "m-text-1"},
        {"type": "finish-step"},
        {"type": "finish"},
    ]


def test_tool_calls_close_text_and_each_other() -> None:
    chunks = fold(
        [
            TextDelta("a"),
            ToolCallStart(0, "f", model_id="abcdefghi"),
            ToolCallArgumentsDelta(0, '{"x": 1}'),
            ToolCallStart(1, "g", model_id="ABCDEFGHI"),
            ToolCallArgumentsDelta(1, "{broken"),
            ToolCallArgumentsDelta(7, "unknown call"),
            DONE,
        ]
    )
    assert chunks == [
        {"type": "text-start", "id": "m-text-1"},
        {"type": "text-delta", "id": "m-text-1", "delta": "a"},
        {"type": "text-end", "id": "m-text-1"},
        {"type": "tool-input-start", "toolCallId": "abcdefghi", "toolName": "f"},
        {"type": "tool-input-delta", "toolCallId": "abcdefghi", "inputTextDelta": '{"x": 1}'},
        {
            "type": "tool-input-available",
            "toolCallId": "abcdefghi",
            "toolName": "f",
            "input": {"x": 1},
        },
        {"type": "tool-input-start", "toolCallId": "ABCDEFGHI", "toolName": "g"},
        {"type": "tool-input-delta", "toolCallId": "ABCDEFGHI", "inputTextDelta": "{broken"},
        {
            "type": "tool-input-error",
            "toolCallId": "ABCDEFGHI",
            "toolName": "g",
            "input": "{broken",
            "errorText": "The model's tool arguments are not a JSON object (cut off or malformed)",
        },
        {"type": "finish-step"},
        {"type": "finish"},
    ]


def test_renderer_frames_sse_and_ends_with_done() -> None:
    renderer = UIMessageStreamRenderer()
    assert renderer.opening().startswith(b'data: {"type":"start","messageId":"msg_')
    assert renderer.render(DONE).endswith(b'data: {"type":"finish"}\n\ndata: [DONE]\n\n')
    assert renderer.render_error(InferstackError("boom")) == (
        b'data: {"type":"error","errorText":"boom"}\n\ndata: [DONE]\n\n'
    )


def test_arguments_that_are_no_object_are_an_input_error() -> None:
    for arguments in ('["x"]', '{"cut": "off'):
        chunks = fold(
            [
                ToolCallStart(0, "f", model_id="abcdefghi"),
                ToolCallArgumentsDelta(0, arguments),
                DONE,
            ]
        )
        assert chunks[2]["type"] == "tool-input-error" and chunks[2]["input"] == arguments


def test_no_arguments_are_an_empty_input() -> None:
    chunks = fold([ToolCallStart(0, "f", model_id="abcdefghi"), DONE])
    assert chunks[1] == {
        "type": "tool-input-available",
        "toolCallId": "abcdefghi",
        "toolName": "f",
        "input": {},
    }


def test_a_failure_mid_text_sends_the_error_part_then_done_without_finish() -> None:
    renderer = UIMessageStreamRenderer()
    renderer.opening()
    streamed = renderer.render(TextDelta("Hel")) + renderer.render_error(InferstackError("cut"))
    assert streamed.endswith(b'data: {"type":"error","errorText":"cut"}\n\ndata: [DONE]\n\n')
    assert b'"finish' not in streamed and b"text-end" not in streamed
