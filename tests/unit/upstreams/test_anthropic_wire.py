"""The chat domain to an Anthropic Messages body, and its stream events back:
table-driven."""

from __future__ import annotations

import json
from typing import Any

import pytest

from api_server.chat.conversation import (
    ChatMessage,
    Conversation,
    NamedToolChoice,
    ToolCall,
    ToolChoice,
    ToolSpec,
)
from api_server.chat.events import (
    ChatEvent,
    Finished,
    FinishReason,
    TextDelta,
    ToolCallArgumentsDelta,
    ToolCallStart,
    Usage,
)
from api_server.chat.sampling import OutputFormat, SamplingParams
from api_server.errors import (
    EngineError,
    EngineOverloadedError,
    EngineResponseError,
    UnsupportedFeatureError,
)
from api_server.upstreams.anthropic_wire import (
    AnthropicEventReader,
    anthropic_messages_body,
    finish_reason,
)

WEATHER = ToolSpec(
    "get_weather",
    "Weather for a city",
    {"type": "object", "properties": {"city": {"type": "string"}}},
)
HELLO = (ChatMessage("user", "hello"),)


def body(conversation: Conversation, sampling: SamplingParams | None = None) -> dict[str, Any]:
    return anthropic_messages_body(
        conversation, sampling or SamplingParams(max_tokens=64), "claude-x"
    )


def text(value: str) -> dict[str, Any]:
    return {"type": "text", "text": value}


def test_the_minimal_body() -> None:
    assert body(Conversation(HELLO)) == {
        "model": "claude-x",
        "messages": [{"role": "user", "content": [text("hello")]}],
        "max_tokens": 64,
        "stream": True,
    }


@pytest.mark.parametrize(
    ("sampling", "param"),
    [
        (SamplingParams(max_tokens=64, output_format=OutputFormat()), "response_format"),
        (SamplingParams(max_tokens=64, logprobs=0), "logprobs"),
        (SamplingParams(max_tokens=64, ignore_eos=True), "ignore_eos"),
    ],
)
def test_what_anthropic_has_not_is_refused_naming_the_model(
    sampling: SamplingParams, param: str
) -> None:
    with pytest.raises(UnsupportedFeatureError, match="claude-x") as refused:
        body(Conversation(HELLO), sampling)
    assert refused.value.param == param and refused.value.status_code == 400


@pytest.mark.parametrize(
    ("messages", "system"),
    [
        ((ChatMessage("system", "Be brief."), *HELLO), "Be brief."),
        (
            (ChatMessage("system", "One."), *HELLO, ChatMessage("system", "Two.")),
            "One.\n\nTwo.",
        ),
        ((ChatMessage("system", ""), *HELLO), None),  # empty system messages dropped
        (HELLO, None),
    ],
)
def test_system_messages_are_joined_into_system(
    messages: tuple[ChatMessage, ...], system: str | None
) -> None:
    sent = body(Conversation(messages))
    assert sent.get("system") == system
    assert sent["messages"] == [{"role": "user", "content": [text("hello")]}]


@pytest.mark.parametrize(
    ("messages", "expected"),
    [
        pytest.param(
            (
                ChatMessage("user", "Weather in Oslo and Rome?"),
                ChatMessage(
                    "assistant",
                    "Checking.",
                    (
                        ToolCall("call_a", "get_weather", '{"city": "Oslo"}'),
                        ToolCall("call_b", "get_weather", '{"city": "Rome"}'),
                    ),
                ),
                ChatMessage("tool", "3 C", tool_call_id="call_a"),
                ChatMessage("tool", "21 C", tool_call_id="call_b"),
                ChatMessage("user", "Thanks, and Paris?"),
            ),
            [
                {"role": "user", "content": [text("Weather in Oslo and Rome?")]},
                {
                    "role": "assistant",
                    "content": [
                        text("Checking."),
                        {
                            "type": "tool_use",
                            "id": "call_a",
                            "name": "get_weather",
                            "input": {"city": "Oslo"},
                        },
                        {
                            "type": "tool_use",
                            "id": "call_b",
                            "name": "get_weather",
                            "input": {"city": "Rome"},
                        },
                    ],
                },
                {
                    "role": "user",  # tool results first, then the user's text, one turn
                    "content": [
                        {"type": "tool_result", "tool_use_id": "call_a", "content": "3 C"},
                        {"type": "tool_result", "tool_use_id": "call_b", "content": "21 C"},
                        text("Thanks, and Paris?"),
                    ],
                },
            ],
            id="tool-round-trip",
        ),
        pytest.param(
            (
                ChatMessage("assistant", None, (ToolCall("c", "f", ""),)),
                ChatMessage("tool", None, tool_call_id="c"),
            ),
            [
                {
                    "role": "assistant",
                    "content": [{"type": "tool_use", "id": "c", "name": "f", "input": {}}],
                },
                {
                    "role": "user",
                    "content": [{"type": "tool_result", "tool_use_id": "c", "content": ""}],
                },
            ],
            id="no-text-empty-arguments-empty-result",
        ),
        pytest.param(
            (*HELLO, ChatMessage("assistant", ""), ChatMessage("assistant", None)),
            [{"role": "user", "content": [text("hello")]}],
            id="empty-assistant-dropped",
        ),
        pytest.param(
            (*HELLO, ChatMessage("user", "again")),
            [{"role": "user", "content": [text("hello"), text("again")]}],
            id="same-role-neighbours-merge",
        ),
        pytest.param(
            (*HELLO, ChatMessage("assistant", "a"), ChatMessage("assistant", "b")),
            [
                {"role": "user", "content": [text("hello")]},
                {"role": "assistant", "content": [text("a"), text("b")]},
            ],
            id="assistant-neighbours-merge",
        ),
    ],
)
def test_turns(messages: tuple[ChatMessage, ...], expected: list[dict[str, Any]]) -> None:
    assert body(Conversation(messages))["messages"] == expected


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ('{"city": "Oslo"}', {"city": "Oslo"}),
        ("", {}),
        ("{}", {}),
        ('{"city": "Os', {}),  # invalid JSON
        ("[1, 2]", {}),  # not an object
        ('"text"', {}),
        ("null", {}),
    ],
)
def test_tool_use_input_is_the_parsed_arguments(arguments: str, expected: dict[str, Any]) -> None:
    message = ChatMessage("assistant", None, (ToolCall("c", "f", arguments),))
    [turn] = body(Conversation((message,)))["messages"]
    assert turn["content"][0]["input"] == expected


@pytest.mark.parametrize(
    ("choice", "parallel", "expected"),
    [
        ("auto", True, {"type": "auto"}),
        ("auto", False, {"type": "auto", "disable_parallel_tool_use": True}),
        ("required", True, {"type": "any"}),
        ("required", False, {"type": "any", "disable_parallel_tool_use": True}),
        (NamedToolChoice("get_weather"), True, {"type": "tool", "name": "get_weather"}),
        (
            NamedToolChoice("get_weather"),
            False,
            {"type": "tool", "name": "get_weather", "disable_parallel_tool_use": True},
        ),
        ("none", True, {"type": "none"}),
        ("none", False, {"type": "none"}),  # the flag means nothing with none
    ],
)
def test_tool_choice(choice: ToolChoice, parallel: bool, expected: dict[str, Any]) -> None:
    sent = body(Conversation(HELLO, (WEATHER,), choice, parallel))
    assert sent["tool_choice"] == expected
    assert sent["tools"] == [
        {
            "name": "get_weather",
            "description": "Weather for a city",
            "input_schema": WEATHER.parameters,
        }
    ]


def test_a_tool_without_description_or_schema_gets_an_empty_object_schema() -> None:
    sent = body(Conversation(HELLO, (ToolSpec("ping"),)))
    assert sent["tools"] == [{"name": "ping", "input_schema": {"type": "object", "properties": {}}}]


def test_no_tools_no_tool_fields() -> None:
    sent = body(Conversation(HELLO, (), "required", parallel_tool_calls=False))
    assert "tools" not in sent and "tool_choice" not in sent


@pytest.mark.parametrize(
    ("sampling", "expected"),
    [
        (SamplingParams(max_tokens=8), {}),
        (SamplingParams(max_tokens=8, temperature=0.0), {"temperature": 0.0}),
        (SamplingParams(max_tokens=8, top_p=0.9), {"top_p": 0.9}),
        (SamplingParams(max_tokens=8, top_k=40), {"top_k": 40}),  # Anthropic has top_k
        (SamplingParams(max_tokens=8, stop=("END",)), {"stop_sequences": ["END"]}),
        (SamplingParams(max_tokens=8, seed=7), {}),  # no Anthropic field
        (SamplingParams(max_tokens=8, presence_penalty=1.0, frequency_penalty=1.0), {}),
    ],
)
def test_sampling_fields(sampling: SamplingParams, expected: dict[str, Any]) -> None:
    sent = body(Conversation(HELLO), sampling)
    fixed = {"model", "messages", "max_tokens", "stream"}
    assert {key: value for key, value in sent.items() if key not in fixed} == expected
    assert (sent["max_tokens"], sent["stream"]) == (8, True)


# -- the stream back ---------------------------------------------------------------------


def message_start(**usage: int) -> dict[str, Any]:
    return {
        "type": "message_start",
        "message": {
            "id": "msg_1",
            "type": "message",
            "role": "assistant",
            "content": [],
            "usage": usage,
        },
    }


def message_delta(
    stop_reason: str, stop_sequence: str | None = None, output: int = 0
) -> dict[str, Any]:
    return {
        "type": "message_delta",
        "delta": {"stop_reason": stop_reason, "stop_sequence": stop_sequence},
        "usage": {"output_tokens": output},
    }


def block_start(index: int, block: dict[str, Any]) -> dict[str, Any]:
    return {"type": "content_block_start", "index": index, "content_block": block}


def block_delta(index: int, delta: dict[str, Any]) -> dict[str, Any]:
    return {"type": "content_block_delta", "index": index, "delta": delta}


def block_stop(index: int) -> dict[str, Any]:
    return {"type": "content_block_stop", "index": index}


PING = {"type": "ping"}
MESSAGE_STOP = {"type": "message_stop"}


def read(payloads: list[dict[str, Any]]) -> tuple[list[ChatEvent], Finished]:
    reader = AnthropicEventReader()
    events = [event for p in payloads for event in reader.feed(p.get("type"), p)]
    return events, reader.finished()


def test_a_full_recorded_stream() -> None:
    events, finished = read(
        [
            message_start(
                input_tokens=10,
                cache_creation_input_tokens=5,
                cache_read_input_tokens=100,
                output_tokens=1,
            ),
            block_start(0, {"type": "thinking", "thinking": ""}),
            block_delta(0, {"type": "thinking_delta", "thinking": "Let me think."}),
            block_delta(0, {"type": "signature_delta", "signature": "sig"}),
            block_stop(0),
            PING,
            block_start(1, {"type": "text", "text": ""}),
            block_delta(1, {"type": "text_delta", "text": "Let me "}),
            block_delta(1, {"type": "text_delta", "text": "check."}),
            block_stop(1),
            block_start(
                2, {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {}}
            ),
            block_delta(2, {"type": "input_json_delta", "partial_json": ""}),
            block_delta(2, {"type": "input_json_delta", "partial_json": '{"city": '}),
            block_delta(2, {"type": "input_json_delta", "partial_json": '"Oslo"}'}),
            block_stop(2),
            message_delta("tool_use", output=42),
            MESSAGE_STOP,
        ]
    )
    assert events == [
        TextDelta("Let me "),
        TextDelta("check."),
        ToolCallStart(0, "get_weather", "toolu_1"),
        ToolCallArgumentsDelta(0, '{"city": '),
        ToolCallArgumentsDelta(0, '"Oslo"}'),
    ]
    assert finished == Finished("tool_calls", Usage(115, 42))


def test_two_tool_use_blocks_are_numbered_from_0() -> None:
    events, _ = read(
        [
            block_start(0, {"type": "text", "text": "Hi"}),  # text in the start block
            block_start(1, {"type": "tool_use", "id": "t1", "name": "f", "input": {"a": 1}}),
            block_start(2, {"type": "tool_use", "id": "t2", "name": "g", "input": {}}),
            block_delta(2, {"type": "input_json_delta", "partial_json": "{}"}),
            block_delta(7, {"type": "input_json_delta", "partial_json": "{}"}),  # no such block
        ]
    )
    assert events == [
        TextDelta("Hi"),
        ToolCallStart(0, "f", "t1"),
        ToolCallArgumentsDelta(0, json.dumps({"a": 1})),  # a complete input in the start
        ToolCallStart(1, "g", "t2"),
        ToolCallArgumentsDelta(1, "{}"),
    ]


@pytest.mark.parametrize(
    ("stop_reason", "stop_sequence", "with_tool_use", "expected"),
    [
        ("end_turn", None, False, Finished("stop", Usage(3, 7))),
        ("max_tokens", None, False, Finished("length", Usage(3, 7))),
        ("tool_use", None, True, Finished("tool_calls", Usage(3, 7))),
        ("stop_sequence", "END", False, Finished("stop", Usage(3, 7), "END")),
        ("end_turn", "END", False, Finished("stop", Usage(3, 7))),  # only with stop_sequence
        ("pause_turn", None, False, Finished("stop", Usage(3, 7))),
        ("refusal", None, False, Finished("stop", Usage(3, 7))),
        ("end_turn", None, True, Finished("tool_calls", Usage(3, 7))),
        ("max_tokens", None, True, Finished("length", Usage(3, 7))),
    ],
)
def test_stop_reasons(
    stop_reason: str, stop_sequence: str | None, with_tool_use: bool, expected: Finished
) -> None:
    block = (
        {"type": "tool_use", "id": "t", "name": "f", "input": {}}
        if with_tool_use
        else {"type": "text", "text": "x"}
    )
    _, finished = read(
        [
            message_start(input_tokens=3, output_tokens=1),
            block_start(0, block),
            message_delta(stop_reason, stop_sequence, output=7),
            MESSAGE_STOP,
        ]
    )
    assert finished == expected


def test_no_events_at_all() -> None:
    assert read([]) == ([], Finished("stop", Usage(0, 0)))


@pytest.mark.parametrize(
    "payload",
    [
        PING,
        MESSAGE_STOP,
        block_stop(0),
        {"type": "something_new"},
        block_start(0, {"type": "text", "text": ""}),
        block_start(0, {"type": "server_tool_use", "id": "s", "name": "web_search"}),
        block_start(0, {"type": "redacted_thinking", "data": "x"}),
        block_delta(0, {"type": "text_delta", "text": ""}),
        block_delta(0, {"type": "citations_delta", "citation": {}}),
    ],
)
def test_events_with_nothing_for_the_client(payload: dict[str, Any]) -> None:
    assert AnthropicEventReader().feed(payload["type"], payload) == []


def test_the_event_name_stands_in_for_a_missing_type() -> None:
    reader = AnthropicEventReader()
    events = reader.feed(
        "content_block_delta", {"index": 0, "delta": {"type": "text_delta", "text": "x"}}
    )
    assert events == [TextDelta("x")]


@pytest.mark.parametrize(
    ("error", "raised"),
    [
        ({"type": "overloaded_error", "message": "Overloaded"}, EngineOverloadedError),
        ({"type": "rate_limit_error", "message": "Slow down"}, EngineOverloadedError),
        ({"type": "api_error", "message": "Internal"}, EngineResponseError),
        ({"type": "invalid_request_error", "message": "Bad"}, EngineResponseError),
        ({}, EngineResponseError),
    ],
)
def test_an_error_event_raises(error: dict[str, Any], raised: type[EngineError]) -> None:
    reader = AnthropicEventReader()
    reader.feed("message_start", message_start(input_tokens=1))
    with pytest.raises(EngineError) as caught:
        reader.feed("error", {"type": "error", "error": error})
    assert type(caught.value) is raised
    assert "mid-stream" in caught.value.message
    if error.get("message"):
        assert error["message"] in caught.value.message


@pytest.mark.parametrize(
    ("anthropic", "expected"),
    [
        ("end_turn", "stop"),
        ("stop_sequence", "stop"),
        ("max_tokens", "length"),
        ("tool_use", "tool_calls"),
        ("pause_turn", "stop"),
        ("refusal", "stop"),
        (None, "stop"),
    ],
)
def test_finish_reason_from_anthropic(anthropic: str | None, expected: FinishReason) -> None:
    assert finish_reason(anthropic) == expected
