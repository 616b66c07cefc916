"""The archive object of one request, as the writer serializes it."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import UTC, datetime

import orjson

from api_server.archive.capture import PayloadCapture
from api_server.chat.events import (
    ChatEvent,
    Finished,
    TextDelta,
    ToolCallArgumentsDelta,
    ToolCallStart,
    Usage,
)
from api_server.errors import EngineUnavailableError
from api_server.generation.translation import TranslationCapture
from api_server.logs.record import RequestLogRecord

BODY = b'{"model": "m", "messages": [{"role": "user", "content": "hi"}]}'


def _record(**fields: object) -> RequestLogRecord:
    record = RequestLogRecord(
        id="req-1",
        received_at=datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC),
        endpoint="/v1/chat/completions",
        api_flavour="openai",
        model="m",
        status_code=200,
    )
    for name, value in fields.items():
        setattr(record, name, value)
    return record


async def _events() -> AsyncGenerator[ChatEvent, None]:
    events: list[ChatEvent] = [
        TextDelta("Let me "),
        TextDelta("check."),
        ToolCallStart(0, "get_weather", None),
        ToolCallArgumentsDelta(0, '{"city": '),
        ToolCallArgumentsDelta(0, '"Paris"}'),
        Finished("tool_calls", Usage(7, 5)),
    ]
    for event in events:
        yield event


async def test_a_stream_is_archived_as_its_assembled_text_calls_and_usage() -> None:
    capture = PayloadCapture(BODY)
    passed = [event async for event in capture.observe(_events())]
    assert len(passed) == 6  # observing changes nothing the client gets
    entry = capture.entry("2025/01/02/req-1.json", _record(stream=True), None)
    payload = orjson.loads(entry.to_json())
    assert payload == {
        "id": "req-1",
        "received_at": "2025-01-02T03:04:05+00:00",
        "endpoint": "/v1/chat/completions",
        "model": "m",
        "stream": True,
        "status_code": 200,
        "request": {"model": "m", "messages": [{"role": "user", "content": "hi"}]},
        "response": {
            "content": "Let me check.",
            "tool_calls": [{"name": "get_weather", "arguments": '{"city": "Paris"}'}],
            "finish_reason": "tool_calls",
            "usage": {"prompt_tokens": 7, "completion_tokens": 5, "total_tokens": 12},
        },
        "error": None,
    }


async def test_a_non_stream_keeps_its_response_object_as_sent() -> None:
    capture = PayloadCapture(BODY)
    async for _ in capture.observe(_events()):
        pass
    capture.response = {"id": "chatcmpl-1", "object": "chat.completion", "choices": []}
    payload = orjson.loads(capture.entry("k", _record(), None).to_json())
    assert payload["response"] == capture.response


async def test_closing_the_observer_closes_the_engine_stream() -> None:
    closed = False

    async def engine() -> AsyncGenerator[ChatEvent, None]:
        nonlocal closed
        try:
            yield TextDelta("a")
            yield TextDelta("b")
        finally:
            closed = True

    observed = PayloadCapture(BODY).observe(engine())
    assert await anext(observed) == TextDelta("a")
    await observed.aclose()
    assert closed


def test_a_refused_request_keeps_its_body_as_text_and_the_error() -> None:
    capture = PayloadCapture(b"{not json")
    error = EngineUnavailableError("no replica")
    record = _record(status_code=503, error_type="service_unavailable")
    payload = orjson.loads(capture.entry("k", record, error).to_json())
    assert payload["request"] == "{not json"
    assert payload["response"] is None
    assert payload["error"] == {"type": "service_unavailable", "message": "no replica"}


async def test_a_debugged_stream_keeps_the_prompt_and_raw_text() -> None:
    capture = PayloadCapture(BODY)
    capture.translation = TranslationCapture("<|im_start|>user\nhi", ["Let me check."])
    _ = [event async for event in capture.observe(_events())]
    entry = capture.entry("2025/01/02/req-1.json", _record(stream=True), None)
    response = orjson.loads(entry.to_json())["response"]
    assert response["inferstack_debug"] == {
        "prompt": "<|im_start|>user\nhi",
        "raw_completion": "Let me check.",
    }
    assert response["content"] == "Let me check."
