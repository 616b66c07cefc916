"""Anthropic requests -> the chat domain, table-driven."""

from __future__ import annotations

import json
from typing import Any

import pytest

from api_server.anthropic.protocol import CountTokensRequest, MessagesRequest
from api_server.anthropic.tool_names import safe_tool_name
from api_server.anthropic.translate import to_conversation, to_sampling, tool_names_for
from api_server.chat.conversation import ChatMessage, Conversation, NamedToolChoice, ToolCall
from api_server.errors import InvalidRequestError, UnsupportedFeatureError
from api_server.registry import ModelRegistry, ModelSpec

WEATHER = {
    "name": "get_weather",
    "description": "Weather for a city",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
}
USE = {"type": "tool_use", "id": "toolu_01", "name": "get_weather", "input": {"city": "Paris"}}
RESULT = {"type": "tool_result", "tool_use_id": "toolu_01", "content": "18 C, sunny"}
PNG = {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}


def convert(**fields: Any) -> Conversation:
    request = MessagesRequest.model_validate({"model": "m", "max_tokens": 8, **fields})
    return to_conversation(request, tool_names_for(request, {}), "tiny-chatml")


def user(text: str) -> ChatMessage:
    return ChatMessage(role="user", content=text)


@pytest.mark.parametrize(
    ("fields", "messages"),
    [
        ({"messages": [{"role": "user", "content": "hi"}]}, [user("hi")]),
        (
            {"system": "Be brief.", "messages": [{"role": "user", "content": "hi"}]},
            [ChatMessage(role="system", content="Be brief."), user("hi")],
        ),
        (
            {
                "system": [
                    {"type": "text", "text": "One.", "cache_control": {"type": "ephemeral"}},
                    {"type": "text", "text": "Two."},
                ],
                "messages": [
                    {
                        "role": "user",
                        "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}],
                    }
                ],
            },
            [ChatMessage(role="system", content="One.\n\nTwo."), user("a\n\nb")],
        ),
        (
            {
                "messages": [
                    {"role": "user", "content": "Weather in Paris?"},
                    {"role": "assistant", "content": [{"type": "text", "text": "Checking."}, USE]},
                    {"role": "user", "content": [RESULT, {"type": "text", "text": "And now?"}]},
                ]
            },
            [
                user("Weather in Paris?"),
                ChatMessage(
                    role="assistant",
                    content="Checking.",
                    tool_calls=(
                        ToolCall("toolu_01", "get_weather", json.dumps({"city": "Paris"})),
                    ),
                ),
                ChatMessage(
                    role="tool", content="18 C, sunny", tool_call_id="toolu_01", name="get_weather"
                ),
                user("And now?"),
            ],
        ),
        (
            {
                "messages": [
                    {
                        "role": "assistant",
                        "content": [{"type": "thinking", "thinking": "hm", "signature": "s"}, USE],
                    },
                    {
                        "role": "user",
                        "content": [
                            {
                                "type": "tool_result",
                                "tool_use_id": "toolu_01",
                                "content": [{"type": "text", "text": "no such city"}],
                                "is_error": True,
                            }
                        ],
                    },
                ]
            },
            [
                ChatMessage(
                    role="assistant",
                    tool_calls=(ToolCall("toolu_01", "get_weather", '{"city": "Paris"}'),),
                ),
                ChatMessage(
                    role="tool",
                    content="Error: no such city",
                    tool_call_id="toolu_01",
                    name="get_weather",
                ),
            ],
        ),
        (
            {
                "messages": [
                    {"role": "assistant", "content": [{**USE, "name": "get.weather"}]},
                    {"role": "user", "content": [{**RESULT, "content": None}]},
                ]
            },
            [
                ChatMessage(
                    role="assistant",
                    tool_calls=(
                        ToolCall("toolu_01", safe_tool_name("get.weather"), '{"city": "Paris"}'),
                    ),
                ),
                ChatMessage(
                    role="tool",
                    content="",
                    tool_call_id="toolu_01",
                    name=safe_tool_name("get.weather"),
                ),
            ],
        ),
    ],
    ids=[
        "string",
        "system-string",
        "system-blocks",
        "tool-round-trip",
        "error-result",
        "unsafe-name",
    ],
)
def test_messages(fields: dict[str, Any], messages: list[ChatMessage]) -> None:
    assert convert(**fields).messages == tuple(messages)


HELLO = [{"role": "user", "content": "hi"}]
LOOKUP = {**WEATHER, "name": "lookup.city"}


@pytest.mark.parametrize(
    ("tool_choice", "tools", "choice", "offered"),
    [
        (None, [WEATHER], "auto", ["get_weather"]),
        ({"type": "auto"}, [WEATHER], "auto", ["get_weather"]),
        ({"type": "none"}, [WEATHER], "none", ["get_weather"]),
        (
            {"type": "any"},
            [WEATHER, LOOKUP],
            "required",
            ["get_weather", safe_tool_name("lookup.city")],
        ),
        (
            {"type": "tool", "name": "lookup.city"},
            [WEATHER, LOOKUP],
            NamedToolChoice(safe_tool_name("lookup.city")),
            [safe_tool_name("lookup.city")],
        ),
        ({"type": "auto", "disable_parallel_tool_use": True}, [], "auto", []),
    ],
)
def test_tools_and_tool_choice(
    tool_choice: dict[str, Any] | None,
    tools: list[dict[str, Any]],
    choice: object,
    offered: list[str],
) -> None:
    conversation = convert(messages=HELLO, tools=tools, tool_choice=tool_choice)
    assert conversation.tool_choice == choice
    assert [tool.name for tool in conversation.tools] == offered
    if offered:
        assert conversation.tools[0].parameters["type"] == "object"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"tool_choice": {"type": "any"}}, "needs at least one tool"),
        (
            {"tool_choice": {"type": "tool", "name": "nope"}, "tools": [WEATHER]},
            "not among the tools",
        ),
        (
            {"messages": [{"role": "user", "content": [USE]}]},
            "tool_use blocks belong in assistant messages",
        ),
        (
            {"messages": [{"role": "assistant", "content": [RESULT]}]},
            "tool_result blocks belong in user messages",
        ),
    ],
)
def test_invalid_requests(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidRequestError, match=message):
        convert(**{"messages": HELLO, **fields})


@pytest.mark.parametrize(
    ("content", "param"),
    [
        ([{"type": "image", "source": PNG}], "messages[0].content[0]"),
        (
            [
                {"type": "text", "text": "see"},
                {"type": "image", "source": {"type": "url", "url": "https://x/y.png"}},
            ],
            "messages[0].content[1]",
        ),
        (
            [{**RESULT, "content": [{"type": "image", "source": PNG}]}],
            "messages[0].content[0].content",
        ),
    ],
)
def test_images_to_a_text_model_are_refused_not_dropped(
    content: list[dict[str, Any]], param: str
) -> None:
    with pytest.raises(UnsupportedFeatureError, match="accepts text only") as raised:
        convert(messages=[{"role": "user", "content": content}])
    assert raised.value.param == param
    assert raised.value.status_code == 400
    assert "tiny-chatml" in raised.value.message


def test_count_tokens_request_translates_the_same_way() -> None:
    request = CountTokensRequest.model_validate(
        {"model": "m", "system": "s", "messages": HELLO, "tools": [WEATHER]}
    )
    conversation = to_conversation(request, tool_names_for(request, {}), "tiny-chatml")
    assert conversation.messages == (ChatMessage(role="system", content="s"), user("hi"))
    assert [tool.name for tool in conversation.tools] == ["get_weather"]


@pytest.fixture
def spec() -> ModelSpec:
    registry = ModelRegistry(
        (
            ModelSpec.model_validate(
                {
                    "name": "tiny-chatml",
                    "prompt_family": "chatml",
                    "engine": {"kind": "llamacpp", "served_name": "t", "urls": ["http://x"]},
                    "context_length": 2048,
                    "max_tokens": {"default": 16, "limit": 64},
                }
            ),
        )
    )
    return registry.resolve("tiny-chatml")


def test_sampling(spec: ModelSpec) -> None:
    request = MessagesRequest.model_validate(
        {
            "model": "m",
            "max_tokens": 32,
            "messages": HELLO,
            "temperature": 0,
            "top_p": 0.9,
            "top_k": 40,
            "stop_sequences": ["\n\nHuman:", "END"],
            "metadata": {"user_id": "u-1"},
        }
    )
    sampling = to_sampling(request, spec, default_temperature=0.7)
    assert (sampling.max_tokens, sampling.temperature, sampling.top_p, sampling.top_k) == (
        32,
        0,
        0.9,
        40,
    )
    assert sampling.stop == ("\n\nHuman:", "END")


def test_sampling_defaults_and_limit(spec: ModelSpec) -> None:
    request = MessagesRequest.model_validate({"model": "m", "max_tokens": 8, "messages": HELLO})
    sampling = to_sampling(request, spec, default_temperature=0.7)
    assert (sampling.temperature, sampling.top_k, sampling.stop) == (0.7, None, ())
    too_many = MessagesRequest.model_validate({"model": "m", "max_tokens": 65, "messages": HELLO})
    with pytest.raises(InvalidRequestError, match="exceeds the limit of 64") as raised:
        to_sampling(too_many, spec, default_temperature=0.7)
    assert raised.value.param == "max_tokens"
