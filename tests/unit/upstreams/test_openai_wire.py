"""The chat domain to an OpenAI `/chat/completions` body, and its stream chunks back:
table-driven."""

from __future__ import annotations

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
    Logprobs,
    TextDelta,
    TokenLogprob,
    ToolCallArgumentsDelta,
    ToolCallStart,
    Usage,
)
from api_server.chat.sampling import OutputFormat, SamplingParams
from api_server.upstreams.openai_wire import OpenAIChunkReader, openai_chat_body

WEATHER = ToolSpec(
    "get_weather",
    "Weather for a city",
    {"type": "object", "properties": {"city": {"type": "string"}}},
)
HELLO = Conversation((ChatMessage("user", "hello"),))


def body(
    conversation: Conversation = HELLO, sampling: SamplingParams | None = None
) -> dict[str, Any]:
    return openai_chat_body(conversation, sampling or SamplingParams(max_tokens=64), "gpt-x")


def test_the_minimal_body_streams_with_usage() -> None:
    assert body() == {
        "model": "gpt-x",
        "messages": [{"role": "user", "content": "hello"}],
        "max_tokens": 64,
        "stream": True,
        "stream_options": {"include_usage": True},
    }


@pytest.mark.parametrize(
    ("output_format", "expected"),
    [
        (OutputFormat(), {"type": "json_object"}),
        (
            OutputFormat(schema={"type": "object"}, name="city", strict=True),
            {
                "type": "json_schema",
                "json_schema": {"name": "city", "schema": {"type": "object"}, "strict": True},
            },
        ),
        (
            OutputFormat(schema={"type": "array"}),
            {
                "type": "json_schema",
                "json_schema": {"name": "response", "schema": {"type": "array"}, "strict": False},
            },
        ),
    ],
)
def test_a_structured_output_is_asked_as_response_format(
    output_format: OutputFormat, expected: dict[str, Any]
) -> None:
    sampling = SamplingParams(max_tokens=64, output_format=output_format)
    assert body(sampling=sampling)["response_format"] == expected
    assert "response_format" not in body()


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (ChatMessage("system", "be brief"), {"role": "system", "content": "be brief"}),
        (ChatMessage("user", "hi"), {"role": "user", "content": "hi"}),
        (ChatMessage("assistant", "sure"), {"role": "assistant", "content": "sure"}),
        (ChatMessage("assistant", None), {"role": "assistant", "content": ""}),
        (
            ChatMessage("assistant", None, (ToolCall("call_1", "get_weather", '{"city":"Oslo"}'),)),
            {
                "role": "assistant",
                "content": None,  # OpenAI's own shape for a turn of only tool calls
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city":"Oslo"}'},
                    }
                ],
            },
        ),
        (
            ChatMessage(
                "assistant",
                "Looking.",
                (ToolCall("a", "f", "{}"), ToolCall("b", "g", '{"x": 1}')),
            ),
            {
                "role": "assistant",
                "content": "Looking.",
                "tool_calls": [
                    {"id": "a", "type": "function", "function": {"name": "f", "arguments": "{}"}},
                    {
                        "id": "b",
                        "type": "function",
                        "function": {"name": "g", "arguments": '{"x": 1}'},
                    },
                ],
            },
        ),
        (
            ChatMessage("tool", "18 C", tool_call_id="call_1", name="get_weather"),
            {"role": "tool", "content": "18 C", "tool_call_id": "call_1"},
        ),
        (
            ChatMessage("tool", None, tool_call_id="call_1"),
            {"role": "tool", "content": "", "tool_call_id": "call_1"},
        ),
    ],
)
def test_messages(message: ChatMessage, expected: dict[str, Any]) -> None:
    assert body(Conversation((message,)))["messages"] == [expected]


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        ("auto", "auto"),
        ("none", "none"),
        ("required", "required"),
        (NamedToolChoice("get_weather"), {"type": "function", "function": {"name": "get_weather"}}),
    ],
)
def test_tool_choice(choice: ToolChoice, expected: Any) -> None:
    sent = body(Conversation(HELLO.messages, (WEATHER,), choice))
    assert sent["tool_choice"] == expected
    assert sent["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "Weather for a city",
                "parameters": WEATHER.parameters,
            },
        }
    ]


def test_a_tool_without_description_or_schema_gets_an_empty_object_schema() -> None:
    sent = body(Conversation(HELLO.messages, (ToolSpec("ping"),)))
    assert sent["tools"] == [
        {
            "type": "function",
            "function": {"name": "ping", "parameters": {"type": "object", "properties": {}}},
        }
    ]


@pytest.mark.parametrize(
    ("tools", "parallel", "expected"),
    [
        ((WEATHER,), True, None),  # the upstream's default: not sent
        ((WEATHER,), False, False),
        ((), False, None),  # no tools: no tool fields at all
    ],
)
def test_parallel_tool_calls_is_sent_only_when_disabled(
    tools: tuple[ToolSpec, ...], parallel: bool, expected: bool | None
) -> None:
    sent = body(Conversation(HELLO.messages, tools, parallel_tool_calls=parallel))
    assert sent.get("parallel_tool_calls") == expected
    assert ("tools" in sent) == bool(tools)
    assert ("tool_choice" in sent) == bool(tools)


@pytest.mark.parametrize(
    ("sampling", "expected"),
    [
        (SamplingParams(max_tokens=8), {}),
        (SamplingParams(max_tokens=8, temperature=0.0), {"temperature": 0.0}),  # 0 is set
        (SamplingParams(max_tokens=8, top_p=0.9), {"top_p": 0.9}),
        (SamplingParams(max_tokens=8, seed=7), {"seed": 7}),
        (SamplingParams(max_tokens=8, presence_penalty=0.5), {"presence_penalty": 0.5}),
        (SamplingParams(max_tokens=8, frequency_penalty=-0.5), {"frequency_penalty": -0.5}),
        (SamplingParams(max_tokens=8, stop=("\n\n", "END")), {"stop": ["\n\n", "END"]}),
        (SamplingParams(max_tokens=8, top_k=40), {}),  # top_k has no OpenAI field
        (
            SamplingParams(max_tokens=8, temperature=0.2, top_p=0.5, top_k=5, seed=1, stop=("x",)),
            {"temperature": 0.2, "top_p": 0.5, "seed": 1, "stop": ["x"]},
        ),
    ],
)
def test_sampling_fields_are_sent_only_when_set(
    sampling: SamplingParams, expected: dict[str, Any]
) -> None:
    sent = body(sampling=sampling)
    fixed = {"model", "messages", "max_tokens", "stream", "stream_options"}
    assert {key: value for key, value in sent.items() if key not in fixed} == expected
    assert sent["max_tokens"] == 8
    assert (sent["stream"], sent["stream_options"]) == (True, {"include_usage": True})


# -- the stream back ---------------------------------------------------------------------


def chunk(
    delta: dict[str, Any] | None = None,
    finish: str | None = None,
    index: int = 0,
    usage: dict[str, Any] | None = None,
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "object": "chat.completion.chunk",
        "choices": [{"index": index, "delta": delta or {}, "finish_reason": finish}],
    }
    if usage is not None:
        out["usage"] = usage
    return out


def usage_chunk(prompt: int, completion: int) -> dict[str, Any]:
    return {
        "object": "chat.completion.chunk",
        "choices": [],
        "usage": {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        },
    }


def tool_delta(
    index: int, id: str | None = None, name: str | None = None, args: str = ""
) -> dict[str, Any]:
    call: dict[str, Any] = {"index": index, "function": {"arguments": args}}
    if id is not None:
        call["id"], call["type"] = id, "function"
        call["function"]["name"] = name
    return {"tool_calls": [call]}


def read(chunks: list[dict[str, Any]]) -> tuple[list[ChatEvent], Finished]:
    reader = OpenAIChunkReader()
    events = [event for item in chunks for event in reader.feed(None, item)]
    return events, reader.finished()


def test_text_deltas_and_usage() -> None:
    events, finished = read(
        [
            chunk({"role": "assistant", "content": ""}),
            chunk({"content": "Hel"}),
            chunk({"content": "lo"}),
            chunk({}, "stop"),
            usage_chunk(11, 2),
        ]
    )
    assert events == [TextDelta("Hel"), TextDelta("lo")]
    assert finished == Finished("stop", Usage(11, 2))


def test_ignore_eos_is_sent_only_when_asked() -> None:
    assert body(sampling=SamplingParams(max_tokens=8, ignore_eos=True))["ignore_eos"] is True
    assert "ignore_eos" not in body(sampling=SamplingParams(max_tokens=8))


def test_logprobs_are_asked_for_and_read_before_their_text() -> None:
    assert {"logprobs": True, "top_logprobs": 3}.items() <= body(
        sampling=SamplingParams(max_tokens=8, logprobs=3)
    ).items()
    assert "top_logprobs" not in body(sampling=SamplingParams(max_tokens=8, logprobs=0))
    hel = {"token": "Hel", "logprob": -0.5, "bytes": [72, 101, 108], "top_logprobs": []}
    with_logprobs = chunk({"content": "Hel"})
    with_logprobs["choices"][0]["logprobs"] = {"content": [hel], "refusal": None}
    events, _ = read([with_logprobs, chunk({}, "stop")])
    assert events == [Logprobs((TokenLogprob("Hel", -0.5, (72, 101, 108)),)), TextDelta("Hel")]


def test_a_tool_call_at_upstream_index_2_is_renumbered_to_0() -> None:
    events, finished = read(
        [
            chunk(tool_delta(2, "call_a", "get_weather")),
            chunk(tool_delta(2, args='{"city":')),
            chunk(tool_delta(2, args=' "Oslo"}')),
            chunk({}, "tool_calls"),
        ]
    )
    assert events == [
        ToolCallStart(0, "get_weather", "call_a"),
        ToolCallArgumentsDelta(0, '{"city":'),
        ToolCallArgumentsDelta(0, ' "Oslo"}'),
    ]
    assert finished.reason == "tool_calls"


def test_two_tool_calls_are_numbered_in_the_order_they_start() -> None:
    events, _ = read(
        [
            chunk({"content": "Checking."}),
            chunk(tool_delta(5, "call_a", "f", "{}")),  # name and arguments in one chunk
            chunk(tool_delta(3, "call_b", "g")),
            chunk(tool_delta(3, args='{"x": 1}')),
            chunk({}, "tool_calls"),
        ]
    )
    assert events == [
        TextDelta("Checking."),
        ToolCallStart(0, "f", "call_a"),
        ToolCallArgumentsDelta(0, "{}"),
        ToolCallStart(1, "g", "call_b"),
        ToolCallArgumentsDelta(1, '{"x": 1}'),
    ]


def test_a_tool_call_without_index_gets_the_next_one() -> None:
    events, _ = read(
        [{"choices": [{"delta": {"tool_calls": [{"id": "c", "function": {"name": "f"}}]}}]}]
    )
    assert events == [ToolCallStart(0, "f", "c")]


@pytest.mark.parametrize(
    ("finish", "with_tool_call", "expected"),
    [
        ("stop", False, "stop"),
        ("length", False, "length"),
        ("tool_calls", True, "tool_calls"),
        ("function_call", True, "tool_calls"),  # the legacy name
        ("content_filter", False, "stop"),
        ("something_new", False, "stop"),
        (None, False, "stop"),  # the stream ended without one
        ("stop", True, "tool_calls"),  # some upstreams say stop after a call
        ("length", True, "length"),  # cut off mid-call stays a cut-off
    ],
)
def test_finish_reasons(finish: str | None, with_tool_call: bool, expected: str) -> None:
    chunks = [chunk(tool_delta(0, "c", "f"))] if with_tool_call else [chunk({"content": "x"})]
    _, finished = read([*chunks, chunk({}, finish)])
    assert finished.reason == expected


@pytest.mark.parametrize(
    ("chunks", "usage"),
    [
        ([chunk({"content": "a"}), chunk({}, "stop"), usage_chunk(5, 1)], Usage(5, 1)),
        (
            [chunk({"content": "a"}, "stop", usage={"prompt_tokens": 3, "completion_tokens": 4})],
            Usage(3, 4),
        ),
        # No usage from the upstream: one token per text chunk, the prompt unknown.
        (
            [
                chunk({"content": "a"}),
                chunk({"content": "b"}),
                chunk({"content": "c"}),
                chunk({}, "stop"),
            ],
            Usage(0, 3),
        ),
        ([chunk({}, "stop")], Usage(0, 0)),
        (
            [chunk({"content": "a"}, usage={"prompt_tokens": None, "completion_tokens": None})],
            Usage(0, 0),
        ),
        ([chunk({"content": "a"}), {"choices": [], "usage": None}], Usage(0, 1)),  # usage: null
    ],
)
def test_usage(chunks: list[dict[str, Any]], usage: Usage) -> None:
    assert read(chunks)[1].usage == usage


def test_choices_other_than_index_0_are_ignored() -> None:
    events, finished = read(
        [
            chunk({"content": "zero"}),
            chunk({"content": "one"}, index=1),
            chunk(tool_delta(0, "c", "f"), index=1),
            chunk({}, "length", index=1),
            chunk({}, "stop"),
        ]
    )
    assert events == [TextDelta("zero")]
    assert finished == Finished("stop", Usage(0, 1))


@pytest.mark.parametrize(
    "item",
    [
        {"choices": []},
        {"choices": None},
        {},
        {"choices": [{"index": 0}]},  # no delta
        {"choices": [{"index": 0, "delta": None}]},
        {"choices": [{"index": 0, "delta": {"content": None}}]},
        {"choices": [{"index": 0, "delta": {"content": ""}}]},
    ],
)
def test_chunks_with_nothing_for_the_client(item: dict[str, Any]) -> None:
    reader = OpenAIChunkReader()
    assert reader.feed(None, item) == []
    assert reader.text_chunks == 0
