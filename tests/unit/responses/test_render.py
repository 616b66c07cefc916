"""The Responses API renderer: the whole event list of a stream, exactly, for text, a tool
call, text then a call, an answer cut at max_output_tokens and an error mid-stream; and
the non-streamed Response object folded from the same events."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest

from api_server.chat.events import (
    ChatEvent,
    Finished,
    Logprobs,
    TextDelta,
    TokenLogprob,
    ToolCallArgumentsDelta,
    ToolCallStart,
    Usage,
)
from api_server.errors import EngineOverloadedError, EngineResponseError
from api_server.responses.render import ResponseOutput, ResponseStreamRenderer, assemble
from api_server.sse import parse_sse

ECHO = {"store": True, "tools": []}
USAGE = Usage(prompt_tokens=5, completion_tokens=2)
USAGE_OUT = {
    "input_tokens": 5,
    "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
    "output_tokens": 2,
    "output_tokens_details": {"reasoning_tokens": 0},
    "total_tokens": 7,
}
_ID = re.compile(r"^(resp|msg|fc|call)_[0-9a-f]{24,48}$")


def normalized(value: Any, names: dict[str, str] | None = None) -> Any:
    """Ids as <msg_1>, <fc_1>... in order of appearance; times as 0."""
    names = {} if names is None else names
    if isinstance(value, dict):
        return {
            key: 0 if key in ("created_at", "completed_at") and item else normalized(item, names)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [normalized(item, names) for item in value]
    if isinstance(value, str) and _ID.match(value):
        prefix = value.split("_")[0]
        if value not in names:
            names[value] = (
                f"<{prefix}_{sum(n.startswith(f'<{prefix}_') for n in names.values()) + 1}>"
            )
        return names[value]
    return value


def streamed(events: list[ChatEvent], error: Exception | None = None) -> list[dict[str, Any]]:
    renderer = ResponseStreamRenderer(ResponseOutput("tiny", ECHO))
    body = renderer.opening() + b"".join(renderer.render(event) for event in events)
    if error is not None:
        body += renderer.render_error(error)  # type: ignore[arg-type]
    payloads = []
    for event in parse_sse(body):
        payload = orjson.loads(event.data)
        assert event.event == payload["type"]  # the SSE event name is the event's type
        payloads.append(payload)
    assert [p.pop("sequence_number") for p in payloads] == list(range(len(payloads)))
    return normalized(payloads)  # type: ignore[no-any-return]


def response(status: str, output: list[dict[str, Any]], **fields: Any) -> dict[str, Any]:
    return {
        "id": "<resp_1>",
        "object": "response",
        "created_at": 0,
        "status": status,
        "background": False,
        "completed_at": None,
        "error": None,
        "incomplete_details": None,
        "model": "tiny",
        "output": output,
        "usage": None,
        **ECHO,
        **fields,
    }


def message(status: str, text: str | None, item: str = "<msg_1>") -> dict[str, Any]:
    content = [] if text is None else [part(text)]
    return {"id": item, "type": "message", "status": status, "role": "assistant",
            "content": content}  # fmt: skip


def part(text: str) -> dict[str, Any]:
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


def call(
    status: str, arguments: str, item: str = "<fc_1>", call_id: str = "<call_1>"
) -> dict[str, Any]:
    return {"id": item, "type": "function_call", "status": status, "call_id": call_id,
            "name": "get_weather", "arguments": arguments}  # fmt: skip


OPENING = [
    {"type": "response.created", "response": response("in_progress", [])},
    {"type": "response.in_progress", "response": response("in_progress", [])},
]


def message_events(text_parts: list[str], status: str, index: int = 0) -> list[dict[str, Any]]:
    where = {"item_id": f"<msg_{index + 1}>", "output_index": index}
    item = f"<msg_{index + 1}>"
    return [
        {"type": "response.output_item.added", "output_index": index,
         "item": message("in_progress", None, item)},
        {"type": "response.content_part.added", **where, "content_index": 0, "part": part("")},
        *[
            {"type": "response.output_text.delta", **where, "content_index": 0, "delta": text,
             "logprobs": []}
            for text in text_parts
        ],
        {"type": "response.output_text.done", **where, "content_index": 0,
         "text": "".join(text_parts), "logprobs": []},
        {"type": "response.content_part.done", **where, "content_index": 0,
         "part": part("".join(text_parts))},
        {"type": "response.output_item.done", "output_index": index,
         "item": message(status, "".join(text_parts), item)},
    ]  # fmt: skip


def test_a_text_answer_streams_the_documented_sequence() -> None:
    events = streamed([TextDelta("Hel"), TextDelta("lo"), Finished("stop", USAGE)])
    final = response("completed", [message("completed", "Hello")], usage=USAGE_OUT, completed_at=0)
    assert events == [
        *OPENING,
        *message_events(["Hel", "lo"], "completed"),
        {"type": "response.completed", "response": final},
    ]


def test_a_tool_call_streams_its_arguments() -> None:
    events = streamed(
        [
            ToolCallStart(0, "get_weather"),
            ToolCallArgumentsDelta(0, '{"city":'),
            ToolCallArgumentsDelta(0, ' "Paris"}'),
            Finished("tool_calls", USAGE),
        ]
    )
    where = {"item_id": "<fc_1>", "output_index": 0}
    arguments = '{"city": "Paris"}'
    final = response("completed", [call("completed", arguments)], usage=USAGE_OUT, completed_at=0)
    assert events == [
        *OPENING,
        {"type": "response.output_item.added", "output_index": 0, "item": call("in_progress", "")},
        {"type": "response.function_call_arguments.delta", **where, "delta": '{"city":'},
        {"type": "response.function_call_arguments.delta", **where, "delta": ' "Paris"}'},
        {"type": "response.function_call_arguments.done", **where, "arguments": arguments},
        {"type": "response.output_item.done", "output_index": 0,
         "item": call("completed", arguments)},
        {"type": "response.completed", "response": final},
    ]  # fmt: skip


def test_text_then_two_calls_are_three_items_each_closed_before_the_next() -> None:
    events = streamed(
        [
            TextDelta("Checking."),
            ToolCallStart(0, "get_weather"),
            ToolCallArgumentsDelta(0, "{}"),
            ToolCallStart(1, "get_weather"),
            Finished("tool_calls", USAGE),
        ]
    )
    kinds = [(e["type"], e.get("output_index")) for e in events]
    assert kinds == [
        ("response.created", None),
        ("response.in_progress", None),
        ("response.output_item.added", 0),
        ("response.content_part.added", 0),
        ("response.output_text.delta", 0),
        ("response.output_text.done", 0),
        ("response.content_part.done", 0),
        ("response.output_item.done", 0),
        ("response.output_item.added", 1),
        ("response.function_call_arguments.delta", 1),
        ("response.function_call_arguments.done", 1),
        ("response.output_item.done", 1),
        ("response.output_item.added", 2),
        ("response.function_call_arguments.done", 2),
        ("response.output_item.done", 2),
        ("response.completed", None),
    ]
    assert events[-1]["response"]["output"] == [
        message("completed", "Checking."),
        call("completed", "{}", "<fc_1>", "<call_1>"),
        call("completed", "", "<fc_2>", "<call_2>"),
    ]


def test_an_answer_cut_at_max_output_tokens_ends_incomplete() -> None:
    events = streamed([TextDelta("Once upon"), Finished("length", USAGE)])
    final = response(
        "incomplete",
        [message("incomplete", "Once upon")],
        usage=USAGE_OUT,
        incomplete_details={"reason": "max_output_tokens"},
    )
    assert events == [
        *OPENING,
        *message_events(["Once upon"], "incomplete"),
        {"type": "response.incomplete", "response": final},
    ]


def test_an_error_mid_stream_ends_with_response_failed() -> None:
    events = streamed([TextDelta("Hel")], error=EngineResponseError("the engine broke"))
    where = {"item_id": "<msg_1>", "output_index": 0}
    failed = response(
        "failed",
        [message("incomplete", "Hel")],
        error={"code": "server_error", "message": "the engine broke"},
    )
    assert events == [
        *OPENING,
        {"type": "response.output_item.added", "output_index": 0,
         "item": message("in_progress", None)},
        {"type": "response.content_part.added", **where, "content_index": 0, "part": part("")},
        {"type": "response.output_text.delta", **where, "content_index": 0, "delta": "Hel",
         "logprobs": []},
        {"type": "response.failed", "response": failed},
    ]  # fmt: skip


def test_an_overloaded_engine_fails_as_rate_limited() -> None:
    events = streamed([], error=EngineOverloadedError("busy"))
    assert events[-1]["response"]["error"] == {"code": "rate_limit_exceeded", "message": "busy"}


def test_an_empty_answer_is_one_empty_message() -> None:
    events = streamed([TextDelta(""), Finished("stop", USAGE)])
    assert events[2:] == [
        *message_events([], "completed"),
        {"type": "response.completed",
         "response": response("completed", [message("completed", "")], usage=USAGE_OUT,
                              completed_at=0)},
    ]  # fmt: skip


async def _events(*events: ChatEvent) -> AsyncIterator[ChatEvent]:
    for event in events:
        yield event


@pytest.mark.parametrize("stored_first", [False, True])
def test_the_assembled_response_is_the_streams_last(stored_first: bool) -> None:
    """Streamed or not, one fold: the final object is what response.completed carries,
    also when the service took it (to store it) before the stream's end was rendered."""
    events: list[ChatEvent] = [
        TextDelta("Checking."),
        ToolCallStart(0, "get_weather"),
        ToolCallArgumentsDelta(0, "{}"),
        Finished("tool_calls", USAGE),
    ]
    output = ResponseOutput("tiny", ECHO)
    renderer = ResponseStreamRenderer(output)
    streamed_events = [renderer.render(event) for event in events[:-1]]
    final_event = events[-1]
    assert isinstance(final_event, Finished)
    stored = output.finish(final_event) if stored_first else None
    last = orjson.loads(list(parse_sse(renderer.render(final_event)))[-1].data)["response"]
    assert streamed_events and (stored is None or stored == last)
    assembled = asyncio.run(assemble(ResponseOutput("tiny", ECHO), _events(*events)))
    assert normalized(assembled) == normalized(last)


def test_a_stream_whose_end_could_not_be_stored_fails_with_what_it_announced() -> None:
    """The service takes the final object (to store it) before the end is rendered; when
    storing fails, the failed response shows the items as the client saw them."""
    output = ResponseOutput("tiny", ECHO)
    renderer = ResponseStreamRenderer(output)
    renderer.opening()
    renderer.render(TextDelta("Hel"))
    output.finish(Finished("stop", USAGE))
    [failed] = [orjson.loads(e.data) for e in parse_sse(renderer.render_error(
        EngineResponseError("not stored")))]  # fmt: skip
    assert normalized(failed["response"]["output"]) == [message("incomplete", "Hel")]


def test_an_empty_answer_whose_end_could_not_be_stored_shows_no_items() -> None:
    output = ResponseOutput("tiny", ECHO)
    renderer = ResponseStreamRenderer(output)
    renderer.opening()
    output.finish(Finished("stop", USAGE))  # makes the empty message, not yet announced
    [failed] = [orjson.loads(e.data) for e in parse_sse(renderer.render_error(
        EngineResponseError("not stored")))]  # fmt: skip
    assert failed["response"]["output"] == []


def test_logprobs_events_change_nothing() -> None:
    """Made only when a request asks (top_logprobs, refused on /v1/responses for now)."""
    plain = [TextDelta("Hel"), TextDelta("lo"), Finished("stop", USAGE)]
    with_logprobs = [Logprobs((TokenLogprob("Hel", -0.1),)), *plain]
    assert streamed(with_logprobs) == streamed(plain)
