"""The registry's tool-call rules over chat events: call limits and strict arguments."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from typing import Any

import pytest

from api_server.chat.conversation import ChatMessage, Conversation, ToolSpec
from api_server.chat.events import (
    ChatEvent,
    Finished,
    FinishReason,
    TextDelta,
    ToolCallArgumentsDelta,
    ToolCallStart,
    Usage,
)
from api_server.errors import InvalidSchemaError, ToolArgumentsError, ToolCallLimitError
from api_server.generation.tool_rules import enforce_tool_rules, tool_rules_apply
from api_server.registry import ToolCallSettings
from tests.unit.tools.helpers import run_parser


def tool(name: str, parameters: dict[str, Any]) -> ToolSpec:
    """As a front door makes it: the schema compiled."""
    return ToolSpec.from_client(name, None, parameters, param="tools[0].function.parameters")


WEATHER = tool(
    "get_weather",
    {
        "type": "object",
        "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
        "required": ["city"],
    },
)
TIME = tool("get_time", {"type": "object", "properties": {"tz": {"type": "string"}}})
UNTYPED = ToolSpec("ping")  # no schema: nothing to check its arguments against
HELLO = (ChatMessage(role="user", content="hi"),)

THREE_CALLS = (
    "Checking. <tool_call>\n"
    '{"name": "get_weather", "arguments": {"city": "Paris", "days": 2}}\n</tool_call>\n'
    '<tool_call>\n{"name": "get_time", "arguments": {"tz": "Europe/Paris"}}\n</tool_call>\n'
    '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Lyon"}}\n</tool_call>'
)
# Whole, split into single characters, and at steps that cut tags and JSON strings apart.
STEPS = [len(THREE_CALLS), 1, 3, 7, 13]


def conversation(
    *, parallel: bool = True, tools: Iterable[ToolSpec] = (WEATHER, TIME)
) -> Conversation:
    return Conversation(messages=HELLO, tools=tuple(tools), parallel_tool_calls=parallel)


def parsed(output: str, step: int, reason: FinishReason = "tool_calls") -> list[ChatEvent]:
    """The hermes parser's events for `output` fed `step` characters at a time."""
    pieces = [output[i : i + step] for i in range(0, len(output), step)]
    events: list[ChatEvent] = list(run_parser("hermes", pieces))
    events.append(Finished(reason, Usage(prompt_tokens=5, completion_tokens=9)))
    return events


async def enforce(
    events: list[ChatEvent], conv: Conversation, settings: ToolCallSettings
) -> list[ChatEvent]:
    async def source() -> AsyncIterator[ChatEvent]:
        for event in events:
            yield event

    return [event async for event in enforce_tool_rules(source(), conv, settings, "tiny")]


@dataclass
class Seen:
    """What a client makes of the events."""

    content: str = ""
    calls: list[tuple[int, str]] = field(default_factory=list)  # (index, name) in order
    fragments: dict[int, list[str]] = field(default_factory=dict)
    finish: str | None = None

    def arguments(self, index: int) -> Any:
        return json.loads("".join(self.fragments.get(index, [])) or "{}")


def seen(events: list[ChatEvent]) -> Seen:
    out = Seen()
    for event in events:
        if isinstance(event, TextDelta):
            out.content += event.text
        elif isinstance(event, ToolCallStart):
            out.calls.append((event.index, event.name))
            out.fragments[event.index] = []
        elif isinstance(event, ToolCallArgumentsDelta):
            assert event.index in out.fragments, "arguments before their call's start"
            out.fragments[event.index].append(event.fragment)
        else:
            out.finish = event.reason
    return out


@pytest.mark.parametrize(
    ("conv", "settings", "applies"),
    [
        (conversation(), ToolCallSettings(), False),
        (conversation(), ToolCallSettings(max_parallel_calls=2), True),
        (conversation(), ToolCallSettings(strict_arguments=True), True),
        (conversation(parallel=False), ToolCallSettings(), True),
        (
            conversation(tools=()),
            ToolCallSettings(max_parallel_calls=1, strict_arguments=True),
            False,
        ),
        (
            Conversation(messages=HELLO, tools=(WEATHER,), tool_choice="none"),
            ToolCallSettings(strict_arguments=True),
            False,
        ),
    ],
    ids=["defaults", "limit", "strict", "parallel-off", "no-tools", "tool-choice-none"],
)
def test_rules_apply_only_when_they_can_change_something(
    conv: Conversation, settings: ToolCallSettings, applies: bool
) -> None:
    assert tool_rules_apply(conv, settings) is applies


@pytest.mark.parametrize("step", STEPS)
async def test_nothing_applies_events_pass_untouched(step: int) -> None:
    events = parsed(THREE_CALLS, step)
    assert await enforce(events, conversation(), ToolCallSettings()) == events


@pytest.mark.parametrize("step", STEPS)
@pytest.mark.parametrize(
    ("conv", "settings", "kept"),
    [
        (conversation(), ToolCallSettings(max_parallel_calls=2), 2),
        (conversation(), ToolCallSettings(max_parallel_calls=1), 1),
        (conversation(), ToolCallSettings(max_parallel_calls=3), 3),
        (conversation(parallel=False), ToolCallSettings(), 1),
        (conversation(parallel=False), ToolCallSettings(max_parallel_calls=2), 1),
    ],
    ids=["max-2", "max-1", "max-3-is-all", "parallel-off", "parallel-off-beats-max"],
)
async def test_truncation_drops_extra_calls_whole(
    step: int, conv: Conversation, settings: ToolCallSettings, kept: int
) -> None:
    original = seen(parsed(THREE_CALLS, step))
    out = seen(await enforce(parsed(THREE_CALLS, step), conv, settings))
    assert out.calls == original.calls[:kept]
    assert [index for index, _ in out.calls] == list(range(kept))
    assert set(out.fragments) == set(range(kept))
    for index in range(kept):
        assert out.fragments[index] == original.fragments[index]
    assert out.content == original.content == "Checking. "
    assert out.finish == "tool_calls"


async def test_calls_are_renumbered_from_zero_without_gaps() -> None:
    # Parsers number from 0; should one ever skip, the client still sees 0..n-1.
    events: list[ChatEvent] = [
        ToolCallStart(3, "get_time"),
        ToolCallArgumentsDelta(3, '{"tz": "UTC"}'),
        ToolCallStart(5, "get_weather"),
        ToolCallArgumentsDelta(5, '{"city": "Oslo"}'),
        Finished("tool_calls", Usage(prompt_tokens=1, completion_tokens=1)),
    ]
    out = await enforce(events, conversation(), ToolCallSettings(max_parallel_calls=1))
    assert out == [
        ToolCallStart(0, "get_time"),
        ToolCallArgumentsDelta(0, '{"tz": "UTC"}'),
        events[-1],
    ]


@pytest.mark.parametrize("step", STEPS)
async def test_error_mode_fails_on_the_first_extra_call(step: int) -> None:
    settings = ToolCallSettings(max_parallel_calls=2, on_extra_calls="error")
    with pytest.raises(ToolCallLimitError, match=r"more than 2 tool call.*'get_weather'") as info:
        await enforce(parsed(THREE_CALLS, step), conversation(), settings)
    assert (info.value.status_code, info.value.code) == (502, "tool_call_limit_exceeded")


async def test_error_mode_lets_calls_within_the_limit_through() -> None:
    settings = ToolCallSettings(max_parallel_calls=3, on_extra_calls="error")
    events = parsed(THREE_CALLS, 5)
    assert await enforce(events, conversation(), settings) == events


@pytest.mark.parametrize("step", STEPS)
async def test_strict_valid_calls_come_out_as_one_fragment_each(step: int) -> None:
    settings = ToolCallSettings(strict_arguments=True)
    events = await enforce(parsed(THREE_CALLS, step), conversation(), settings)
    out = seen(events)
    assert out.calls == [(0, "get_weather"), (1, "get_time"), (2, "get_weather")]
    assert all(len(fragments) == 1 for fragments in out.fragments.values())
    assert [out.arguments(i) for i in range(3)] == [
        {"city": "Paris", "days": 2},
        {"tz": "Europe/Paris"},
        {"city": "Lyon"},
    ]
    # Each call's single fragment comes right after its start, before the next event.
    starts = [i for i, event in enumerate(events) if isinstance(event, ToolCallStart)]
    assert all(isinstance(events[i + 1], ToolCallArgumentsDelta) for i in starts)
    assert out.finish == "tool_calls"


async def test_strict_and_limit_together() -> None:
    settings = ToolCallSettings(max_parallel_calls=1, strict_arguments=True)
    out = seen(await enforce(parsed(THREE_CALLS, 4), conversation(), settings))
    assert out.calls == [(0, "get_weather")]
    assert out.fragments == {0: ['{"city": "Paris", "days": 2}']}


async def test_strict_flushes_a_call_before_the_text_after_it() -> None:
    events: list[ChatEvent] = [
        ToolCallStart(0, "get_time"),
        ToolCallArgumentsDelta(0, '{"tz":'),
        ToolCallArgumentsDelta(0, ' "UTC"}'),
        TextDelta(" done"),
        Finished("tool_calls", Usage(prompt_tokens=1, completion_tokens=1)),
    ]
    out = await enforce(events, conversation(), ToolCallSettings(strict_arguments=True))
    assert out == [
        ToolCallStart(0, "get_time"),
        ToolCallArgumentsDelta(0, '{"tz": "UTC"}'),
        TextDelta(" done"),
        events[-1],
    ]


def call(name: str, *fragments: str, reason: FinishReason = "tool_calls") -> list[ChatEvent]:
    return [
        ToolCallStart(0, name),
        *(ToolCallArgumentsDelta(0, fragment) for fragment in fragments),
        Finished(reason, Usage(prompt_tokens=1, completion_tokens=1)),
    ]


@pytest.mark.parametrize(
    ("events", "message"),
    [
        (call("get_weather", '{"city": ', '"Par'), r"'get_weather'.*not valid JSON"),
        (
            call("get_weather", '{"city": ', "3}"),
            r"'get_weather'.*at \$\.city: 3 is not of type 'string'",
        ),
        (
            call("get_weather", '{"days": 1}'),
            r"'get_weather'.*at \$: 'city' is a required property",
        ),
        (call("get_weather"), r"'get_weather'.*'city' is a required property"),
        (call("get_weather", '["Paris"]'), r"'get_weather'.*is not of type 'object'"),
        (call("send_email", '{"to": "x"}'), r"'send_email', which was not offered"),
    ],
    ids=[
        "invalid-json",
        "wrong-type",
        "missing-required",
        "no-arguments",
        "not-an-object",
        "unknown-tool",
    ],
)
async def test_strict_rejects_bad_calls(events: list[ChatEvent], message: str) -> None:
    with pytest.raises(ToolArgumentsError, match=message) as info:
        await enforce(events, conversation(), ToolCallSettings(strict_arguments=True))
    assert (info.value.status_code, info.value.code) == (502, "tool_arguments_invalid")
    assert "tiny" in info.value.message


async def test_strict_sends_a_call_cut_off_by_max_tokens_unchecked() -> None:
    # The finish reason "length" already tells the client; the model is not at fault.
    events = call("get_weather", '{"city": ', '"Par', reason="length")
    out = await enforce(events, conversation(), ToolCallSettings(strict_arguments=True))
    assert out == [
        ToolCallStart(0, "get_weather"),
        ToolCallArgumentsDelta(0, '{"city": "Par'),
        events[-1],
    ]


async def test_strict_follows_the_draft_the_schema_names() -> None:
    # Draft 4's boolean exclusiveMaximum: 5 is out of range there (2020-12 would reject the
    # schema itself).
    draft4 = tool(
        "count",
        {
            "$schema": "http://json-schema.org/draft-04/schema#",
            "type": "object",
            "properties": {"n": {"type": "number", "maximum": 5, "exclusiveMaximum": True}},
        },
    )
    conv = conversation(tools=(draft4,))
    settings = ToolCallSettings(strict_arguments=True)
    assert seen(await enforce(call("count", '{"n": 4}'), conv, settings)).arguments(0) == {"n": 4}
    with pytest.raises(ToolArgumentsError, match=r"at \$\.n"):
        await enforce(call("count", '{"n": 5}'), conv, settings)


async def test_strict_streams_arguments_of_a_tool_without_a_schema() -> None:
    events = call("ping", '{"a', '": 1}')
    conv = conversation(tools=(UNTYPED,))
    assert await enforce(events, conv, ToolCallSettings(strict_arguments=True)) == events


def test_a_tool_with_an_invalid_schema_is_refused_when_the_request_is_read() -> None:
    # Before, such a schema was logged and the calls went unchecked: it is the client's
    # mistake, and a 400 tells the client.
    with pytest.raises(InvalidSchemaError, match=r"tools\[0\]\.function\.parameters") as info:
        tool("broken", {"type": "object", "properties": {"x": {"type": 7}}})
    assert (info.value.status_code, info.value.param) == (400, "tools[0].function.parameters")


async def test_strict_checks_patterns_with_re2() -> None:
    # `^(a+)+$` backtracks in Python's `re` for hours on 50 characters; RE2 is linear.
    evil = tool(
        "evil",
        {"type": "object", "properties": {"s": {"type": "string", "pattern": "^(a+)+$"}}},
    )
    events = call("evil", json.dumps({"s": "a" * 50 + "!"}))
    settings = ToolCallSettings(strict_arguments=True)
    with pytest.raises(ToolArgumentsError, match=r"at \$\.s: .* does not match"):
        await enforce(events, conversation(tools=(evil,)), settings)
