"""Responses API requests into the chat domain, table-driven: input items (and a stored
chain's) into a Conversation, the input as stored and listed, tools and tool_choice,
text.format, sampling, what the Response object repeats; and each refusal, naming where."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from api_server.chat.conversation import ChatMessage, ImageInput, NamedToolChoice, ToolCall
from api_server.chat.sampling import OutputFormat
from api_server.errors import InvalidRequestError, InvalidSchemaError, UnsupportedFeatureError
from api_server.registry import ModelRegistry
from api_server.responses.protocol import ResponsesRequest
from api_server.responses.translate import (
    input_items,
    output_format,
    parse_items,
    refuse_unsupported,
    request_echo,
    request_items,
    to_conversation,
    to_sampling,
)

WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "Weather for a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
}
CALL = {"type": "function_call", "call_id": "call_1", "name": "get_weather",
        "arguments": '{"city": "Paris"}'}  # fmt: skip
CALL_OUTPUT = {"type": "function_call_output", "call_id": "call_1", "output": "18 C, sunny"}


def request(**fields: Any) -> ResponsesRequest:
    return ResponsesRequest.model_validate({"model": "tiny", "input": "hi", **fields})


def conversation_of(body: dict[str, Any], history: list[dict[str, Any]] | None = None,
                    images: bool = False) -> tuple[ChatMessage, ...]:  # fmt: skip
    parsed = request(**body)
    return to_conversation(
        parse_items(history or []), request_items(parsed), parsed, images
    ).messages


@pytest.mark.parametrize(
    ("body", "messages"),
    [
        pytest.param({"input": "hi"}, [ChatMessage(role="user", content="hi")], id="string"),
        pytest.param(
            {"input": "hi", "instructions": "Be brief."},
            [
                ChatMessage(role="system", content="Be brief."),
                ChatMessage(role="user", content="hi"),
            ],
            id="instructions-first",
        ),
        pytest.param(
            {"input": [
                {"role": "developer", "content": "Answer in French."},
                {"type": "message", "role": "user",
                 "content": [{"type": "input_text", "text": "Hello "},
                             {"type": "input_text", "text": "there"}]},
                {"role": "assistant", "content": [{"type": "output_text", "text": "Bonjour",
                                                   "annotations": []},
                                                  {"type": "refusal", "refusal": "no"}]},
                {"role": "system", "content": "Shorter."},
            ]},
            [
                ChatMessage(role="system", content="Answer in French."),
                ChatMessage(role="user", content="Hello there"),
                ChatMessage(role="assistant", content="Bonjour"),
                ChatMessage(role="system", content="Shorter."),
            ],
            id="roles-and-parts",
        ),
        pytest.param(
            {"input": [{"role": "user", "content": "Weather?"},
                       {"role": "assistant", "content": "Let me check."},
                       CALL, {**CALL, "call_id": "call_2", "arguments": "{}"},
                       CALL_OUTPUT, {**CALL_OUTPUT, "call_id": "call_2", "output": "?"}]},
            [
                ChatMessage(role="user", content="Weather?"),
                ChatMessage(role="assistant", content="Let me check.", tool_calls=(
                    ToolCall("call_1", "get_weather", '{"city": "Paris"}'),
                    ToolCall("call_2", "get_weather", "{}"),
                )),
                ChatMessage(role="tool", content="18 C, sunny", tool_call_id="call_1",
                            name="get_weather"),
                ChatMessage(role="tool", content="?", tool_call_id="call_2",
                            name="get_weather"),
            ],
            id="calls-join-the-assistant-turn",
        ),
        pytest.param(
            {"input": [{"role": "user", "content": "Weather?"}, CALL,
                       {**CALL_OUTPUT, "output": [{"type": "input_text", "text": "18 C"}]}]},
            [
                ChatMessage(role="user", content="Weather?"),
                ChatMessage(role="assistant", tool_calls=(
                    ToolCall("call_1", "get_weather", '{"city": "Paris"}'),)),
                ChatMessage(role="tool", content="18 C", tool_call_id="call_1",
                            name="get_weather"),
            ],
            id="call-without-text",
        ),
        pytest.param(
            {"input": [{"role": "user", "content": [
                {"type": "input_text", "text": "What is it?"},
                {"type": "input_image", "image_url": "data:image/png;base64,AAAA"}]}]},
            [ChatMessage(role="user", content="What is it?",
                         images=(ImageInput(media_type="image/png", data="AAAA"),))],
            id="image-for-a-model-that-takes-them",
        ),
    ],
)  # fmt: skip
def test_input_items_become_chat_messages(
    body: dict[str, Any], messages: list[ChatMessage]
) -> None:
    assert list(conversation_of(body, images=True)) == messages


def test_a_stored_chain_comes_before_the_input_and_its_instructions_do_not() -> None:
    ids = (f"id{n}" for n in itertools.count())
    first = request(input="Weather in Paris?", instructions="Old instructions.")
    history = [
        *input_items(request_items(first), lambda prefix: f"{prefix}_{next(ids)}"),
        {"id": "msg_out", "type": "message", "status": "completed", "role": "assistant",
         "content": [{"type": "output_text", "text": "Let me check.", "annotations": [],
                      "logprobs": []}]},
        {"id": "fc_out", "status": "completed", **CALL},
    ]  # fmt: skip
    messages = conversation_of(
        {"input": [CALL_OUTPUT], "instructions": "New instructions."}, history
    )
    assert messages == (
        ChatMessage(role="system", content="New instructions."),
        ChatMessage(role="user", content="Weather in Paris?"),
        ChatMessage(
            role="assistant",
            content="Let me check.",
            tool_calls=(ToolCall("call_1", "get_weather", '{"city": "Paris"}'),),
        ),
        ChatMessage(role="tool", content="18 C, sunny", tool_call_id="call_1", name="get_weather"),
    )


@pytest.mark.parametrize(
    ("body", "history", "error", "param"),
    [
        ({"input": [CALL_OUTPUT]}, [], InvalidRequestError, "input[0].call_id"),
        ({"input": [{"type": "reasoning", "summary": []}]}, [], UnsupportedFeatureError,
         "input[0].type"),
        ({"input": [{"type": "item_reference", "id": "msg_1"}]}, [], UnsupportedFeatureError,
         "input[0].type"),
        ({"input": [{"role": "user", "content": [{"type": "input_file", "file_id": "f"}]}]}, [],
         UnsupportedFeatureError, "input[0].content"),
        ({"input": [{"role": "user", "content": [{"type": "input_image",
                                                  "image_url": "https://x/y.png"}]}]}, [],
         UnsupportedFeatureError, "input[0].content"),  # a local text model
        ({"input": "hi"}, [{"id": "m", "type": "message", "role": "user", "status": "completed",
                            "content": [{"type": "input_image", "image_url": "https://x/y.png",
                                         "detail": "auto"}]}],
         UnsupportedFeatureError, "previous_response_id.content"),
        ({"tools": [{"type": "web_search"}]}, [], UnsupportedFeatureError, "tools[0].type"),
        ({"tools": [WEATHER, {"type": "file_search", "vector_store_ids": []}]}, [],
         UnsupportedFeatureError, "tools[1].type"),
        ({"tools": [{**WEATHER, "parameters": {"type": "object", "properties": {
            "a": {"$ref": "http://example.com/s.json"}}}}]}, [], InvalidSchemaError,
         "tools[0].parameters"),
        ({"tool_choice": "required"}, [], InvalidRequestError, "tool_choice"),
        ({"tools": [WEATHER], "tool_choice": {"type": "function", "name": "other"}}, [],
         InvalidRequestError, "tool_choice"),
        ({"tools": [WEATHER], "tool_choice": {"type": "web_search_preview"}}, [],
         UnsupportedFeatureError, "tool_choice"),
    ],
)  # fmt: skip
def test_refusals_name_where_the_problem_is(
    body: dict[str, Any], history: list[dict[str, Any]], error: type[Exception], param: str
) -> None:
    parsed = request(**body)
    with pytest.raises(error) as raised:
        to_conversation(
            parse_items(history),
            request_items(parsed),
            parsed,
            accepts_images=False,
        )
        input_items(request_items(parsed), lambda prefix: prefix)
    assert raised.value.param == param  # type: ignore[attr-defined]


def test_item_types_it_cannot_store_are_refused_before_anything_runs() -> None:
    parsed = request(input=[{"role": "user", "content": "hi"}, {"type": "computer_call"}])
    with pytest.raises(UnsupportedFeatureError) as raised:
        input_items(request_items(parsed), lambda prefix: prefix)
    assert raised.value.param == "input[1].type"
    assert "'computer_call'" in raised.value.message


def test_tools_and_a_named_choice() -> None:
    parsed = request(
        tools=[WEATHER, {**WEATHER, "name": "get_time", "parameters": None}],
        tool_choice={"type": "function", "name": "get_weather"},
        parallel_tool_calls=False,
    )
    conversation = to_conversation([], request_items(parsed), parsed)
    assert [tool.name for tool in conversation.tools] == ["get_weather"]  # only the named one
    assert conversation.tool_choice == NamedToolChoice("get_weather")
    assert conversation.parallel_tool_calls is False
    offered = to_conversation([], request_items(parsed), request(tools=parsed.tools))
    assert offered.tools[1].parameters == {"type": "object", "properties": {}}
    assert offered.tool_choice == "auto" and offered.parallel_tool_calls


def test_the_input_as_stored_and_listed() -> None:
    ids = iter(["msg_a", "fc_b", "fco_c", "msg_d"])
    parsed = request(
        input=[
            {"role": "user", "content": "Weather?"},
            CALL,
            CALL_OUTPUT,
            {"role": "assistant", "content": "Sunny.", "id": "msg_kept"},
            {"role": "user", "content": [{"type": "input_image", "image_url": "https://x/y.png"}]},
        ]
    )
    assert input_items(request_items(parsed), lambda prefix: next(ids)) == [
        {"id": "msg_a", "type": "message", "role": "user", "status": "completed",
         "content": [{"type": "input_text", "text": "Weather?"}]},
        {"id": "fc_b", "type": "function_call", "call_id": "call_1", "name": "get_weather",
         "arguments": '{"city": "Paris"}', "status": "completed"},
        {"id": "fco_c", "type": "function_call_output", "call_id": "call_1",
         "output": "18 C, sunny", "status": "completed"},
        {"id": "msg_kept", "type": "message", "role": "assistant", "status": "completed",
         "content": [{"type": "output_text", "text": "Sunny.", "annotations": []}]},
        {"id": "msg_d", "type": "message", "role": "user", "status": "completed",
         "content": [{"type": "input_image", "image_url": "https://x/y.png", "file_id": None,
                      "detail": "auto"}]},
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (None, None),
        ({"format": {"type": "text"}}, None),
        ({"format": {"type": "json_object"}}, OutputFormat(param="text.format")),
        (
            {"format": {"type": "json_schema", "name": "city", "strict": True,
                        "schema": {"type": "object", "properties": {"name": {"type": "string"}},
                                   "required": ["name"], "additionalProperties": False}}},
            OutputFormat(
                schema={"type": "object", "properties": {"name": {"type": "string"}},
                        "required": ["name"], "additionalProperties": False},
                name="city", strict=True, param="text.format",
            ),
        ),
    ],
)  # fmt: skip
def test_text_format_becomes_the_output_format(
    text: dict[str, Any] | None, expected: OutputFormat | None
) -> None:
    assert output_format(request(text=text)) == expected


@pytest.mark.parametrize(
    ("text_format", "param"),
    [
        ({"type": "yaml"}, "text.format.type"),
        ({"type": "json_schema", "schema": {"type": "object"}}, "text.format.name"),
        ({"type": "json_schema", "name": "x", "schema": {"pattern": "(?=a)"}},
         "text.format.schema"),
    ],
)  # fmt: skip
def test_a_bad_text_format_is_refused(text_format: dict[str, Any], param: str) -> None:
    with pytest.raises(InvalidRequestError) as raised:
        output_format(request(text={"format": text_format}))
    assert raised.value.param == param


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"background": True}, "background"),
        ({"truncation": "auto"}, "truncation"),
        ({"conversation": "conv_1"}, "conversation"),
        ({"prompt": {"id": "pmpt_1"}}, "prompt"),
        ({"top_logprobs": 3}, "top_logprobs"),
    ],
)
def test_options_it_cannot_honour_are_refused(fields: dict[str, Any], param: str) -> None:
    with pytest.raises(UnsupportedFeatureError) as raised:
        refuse_unsupported(request(**fields))
    assert raised.value.param == param


def test_options_that_change_nothing_are_accepted() -> None:
    refuse_unsupported(request(background=False, truncation="disabled", top_logprobs=0))


@pytest.fixture
def spec(models_file: Any) -> Any:
    return ModelRegistry.from_file(models_file).resolve("tiny-chatml")


def test_sampling(spec: Any) -> None:
    structured = OutputFormat()
    sampling = to_sampling(
        request(max_output_tokens=32, temperature=0.2, top_p=0.9), spec, 0.7, structured
    )
    assert (sampling.max_tokens, sampling.temperature, sampling.top_p) == (32, 0.2, 0.9)
    assert sampling.output_format is structured
    defaults = to_sampling(request(), spec, 0.7)
    assert (defaults.max_tokens, defaults.temperature) == (spec.max_tokens.default, 0.7)
    with pytest.raises(InvalidRequestError) as raised:
        to_sampling(request(max_output_tokens=10_000), spec, 0.7)
    assert raised.value.param == "max_output_tokens"


def test_what_the_response_repeats_of_the_request(spec: Any) -> None:
    parsed = request(
        instructions="Be brief.",
        tools=[WEATHER],
        tool_choice={"type": "function", "name": "get_weather"},
        metadata={"team": "a"},
        text={"format": {"type": "json_object"}},
        user="u-1",
        previous_response_id="resp_1",
        max_output_tokens=20,
    )
    echo = request_echo(parsed, to_sampling(parsed, spec, 0.7), stored=False)
    assert echo == {
        "instructions": "Be brief.",
        "max_output_tokens": 20,
        "metadata": {"team": "a"},
        "parallel_tool_calls": True,
        "previous_response_id": "resp_1",
        "store": False,
        "temperature": 0.7,
        "text": {"format": {"type": "json_object"}},
        "tool_choice": {"type": "function", "name": "get_weather"},
        "tools": [{**WEATHER, "strict": None}],
        "top_p": None,
        "truncation": "disabled",
        "user": "u-1",
    }
    plain = request_echo(request(), to_sampling(request(), spec, None), stored=True)
    assert (plain["tool_choice"], plain["text"], plain["tools"], plain["metadata"]) == (
        "auto",
        {"format": {"type": "text"}},
        [],
        {},
    )
