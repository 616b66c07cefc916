"""The Anthropic front door end to end over the scripted engine, driven by the official SDK."""

from __future__ import annotations

import json
from typing import Any

import anthropic
import pytest
from fastapi.testclient import TestClient

from api_server.anthropic.tool_names import safe_tool_name
from tests.unit.scripted_engine import Scripted, ScriptedEngine

WEATHER_TOOL: Any = {
    "name": "get_weather",
    "description": "Current weather for a city",
    "input_schema": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
}
FRANCE: Any = [{"role": "user", "content": "What is the capital of France?"}]
HERMES_CALL = [
    "Let me check.",
    "<tool_call>\n",
    '{"name": "get_weather", ',
    '"arguments": {"city": "Paris"}}',
    "\n</tool_call>",
]


@pytest.fixture
def sdk(client: TestClient) -> anthropic.Anthropic:
    return anthropic.Anthropic(
        base_url="http://testserver", api_key="x", http_client=client, max_retries=0
    )


def test_message_returns_engine_text_and_usage(
    sdk: anthropic.Anthropic, engine: ScriptedEngine
) -> None:
    message = sdk.messages.create(
        model="claude-3-5-sonnet-latest",  # anthropic_model_map: claude-* -> default model
        max_tokens=32,
        system="Answer briefly.",
        messages=FRANCE,
        # The newest SDKs dropped the sampling arguments; clients still send them.
        extra_body={"temperature": 0, "top_k": 5},
        stop_sequences=["\n\nHuman:"],
        metadata={"user_id": "u-1"},
    )
    assert message.model == "tiny-chatml"
    assert message.id.startswith("msg_")
    assert [block.type for block in message.content] == ["text"]
    assert message.content[0].type == "text"
    assert message.content[0].text == "The capital of France is Paris."
    assert (message.stop_reason, message.stop_sequence) == ("end_turn", None)
    assert (message.usage.input_tokens, message.usage.output_tokens) == (7, 3)
    sent = engine.last_request
    assert sent["prompt"].startswith("<|im_start|>system\nAnswer briefly.<|im_end|>")
    # Stop strings of the client's own: llama.cpp's native endpoint, which names the one hit.
    assert (sent["n_predict"], sent["temperature"], sent["top_k"]) == (32, 0, 5)
    assert "\n\nHuman:" in sent["stop"] and "<|im_end|>" in sent["stop"]


def test_llama_cpp_names_the_stop_sequence_it_stopped_on(
    sdk: anthropic.Anthropic, engine: ScriptedEngine
) -> None:
    engine.texts = ["The capital of France is "]
    engine.stopping_word = "Paris"
    message = sdk.messages.create(
        model="tiny", max_tokens=32, messages=FRANCE, stop_sequences=["Paris", "Berlin"]
    )
    assert (message.stop_reason, message.stop_sequence) == ("stop_sequence", "Paris")
    assert engine.last_request["stop"][-2:] == ["Paris", "Berlin"]
    engine.stopping_word = None  # stopped on its own end of turn: not a stop sequence
    message = sdk.messages.create(
        model="tiny", max_tokens=32, messages=FRANCE, stop_sequences=["Paris"]
    )
    assert (message.stop_reason, message.stop_sequence) == ("end_turn", None)


def test_both_auth_styles_are_accepted(client: TestClient) -> None:
    body = {"model": "TINY", "max_tokens": 8, "messages": FRANCE}
    for headers in (
        {"x-api-key": "sk-ant-x", "anthropic-version": "2023-06-01"},
        {"Authorization": "Bearer sk-x"},
    ):
        response = client.post("/v1/messages", json=body, headers=headers)
        assert response.status_code == 200, response.text
        assert response.json()["model"] == "tiny-chatml"


def test_stream_text(sdk: anthropic.Anthropic) -> None:
    with sdk.messages.stream(model="tiny", max_tokens=32, messages=FRANCE) as stream:
        kinds = [event.type for event in stream]
        message = stream.get_final_message()
    assert kinds[0] == "message_start" and kinds[-1] == "message_stop"
    assert "".join(block.text for block in message.content if block.type == "text") == (
        "The capital of France is Paris."
    )
    assert message.stop_reason == "end_turn"
    # message_start cannot know the prompt's size yet; message_delta brings it.
    assert (message.usage.input_tokens, message.usage.output_tokens) == (7, 3)


def test_raw_stream_is_server_sent_events(client: TestClient) -> None:
    body = {"model": "tiny", "max_tokens": 32, "messages": FRANCE, "stream": True}
    response = client.post("/v1/messages", json=body)
    assert response.headers["content-type"].startswith("text/event-stream")
    kinds = [
        line.removeprefix("event: ")
        for line in response.text.split("\n")
        if line.startswith("event: ")
    ]
    assert kinds == [
        "message_start",
        "content_block_start",
        "ping",
        *["content_block_delta"] * 3,
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]


def test_tool_use_round_trip(sdk: anthropic.Anthropic, engine: ScriptedEngine) -> None:
    engine.texts = HERMES_CALL
    engine.finish_reason = "stop"
    message = sdk.messages.create(
        model="tiny", max_tokens=64, messages=[{"role": "user", "content": "Weather in Paris?"}],
        tools=[WEATHER_TOOL],
    )  # fmt: skip
    assert message.stop_reason == "tool_use"
    text, call = message.content
    assert text.type == "text" and text.text == "Let me check."
    assert call.type == "tool_use" and call.name == "get_weather"
    assert call.input == {"city": "Paris"} and call.id.startswith("toolu_")

    engine.texts = ["It is sunny in Paris."]
    history: Any = [
        {"role": "user", "content": "Weather in Paris?"},
        # As the SDK's objects dump: with None fields the gateway must accept.
        {"role": "assistant", "content": [block.model_dump() for block in message.content]},
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": call.id, "content": "18 C"}],
        },
    ]
    reply = sdk.messages.create(model="tiny", max_tokens=64, tools=[WEATHER_TOOL], messages=history)
    assert reply.content[0].type == "text" and reply.content[0].text == "It is sunny in Paris."
    prompt = engine.last_request["prompt"]
    assert '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}' in prompt
    assert "<tool_response>\n18 C\n</tool_response>" in prompt


def test_streamed_tool_use_with_unsafe_name(
    sdk: anthropic.Anthropic, engine: ScriptedEngine
) -> None:
    safe = safe_tool_name("weather.get")
    # tool_choice names the tool: the prompt already opens the call, the model continues it.
    engine.texts = ['{"city": ', '"Paris"}}', "\n</tool_call>"]
    tool: Any = {**WEATHER_TOOL, "name": "weather.get"}
    with sdk.messages.stream(
        model="tiny", max_tokens=64, messages=FRANCE, tools=[tool],
        tool_choice={"type": "tool", "name": "weather.get"},
    ) as stream:  # fmt: skip
        events = list(stream)
        message = stream.get_final_message()
    json_deltas = [
        e.delta.partial_json
        for e in events
        if e.type == "content_block_delta" and e.delta.type == "input_json_delta"
    ]
    assert json.loads("".join(json_deltas)) == {"city": "Paris"}
    [call] = message.content
    assert (
        call.type == "tool_use" and call.name == "weather.get" and call.input == {"city": "Paris"}
    )
    assert message.stop_reason == "tool_use"
    assert engine.last_request["prompt"].endswith(f'<tool_call>\n{{"name": "{safe}", "arguments": ')
    assert "weather.get" not in engine.last_request["prompt"]


def test_max_tokens_and_stop_sequence(sdk: anthropic.Anthropic, engine: ScriptedEngine) -> None:
    engine.finish_reason = "length"
    message = sdk.messages.create(model="tiny", max_tokens=3, messages=FRANCE)
    assert message.stop_reason == "max_tokens"
    # vLLM names the stop string it stopped on; only the client's own count.
    for stop_reason, expected in (
        ("END", ("stop_sequence", "END")),
        ("<|im_end|>", ("end_turn", None)),
    ):
        last = {
            "choices": [
                {"index": 0, "text": "", "finish_reason": "stop", "stop_reason": stop_reason}
            ]
        }
        engine.script = Scripted(
            200,
            [b'data: {"choices": [{"index": 0, "text": "1, 2, 3", "finish_reason": null}]}\n\n',
             f"data: {json.dumps(last)}\n\ndata: [DONE]\n\n".encode()],
            {"content-type": "text/event-stream"},
        )  # fmt: skip
        message = sdk.messages.create(
            model="Llama-3.1-8B-Instruct", max_tokens=8, messages=FRANCE, stop_sequences=["END"]
        )
        assert (message.stop_reason, message.stop_sequence) == expected


def test_error_mid_stream_ends_the_stream_with_an_error_event(
    sdk: anthropic.Anthropic, client: TestClient, engine: ScriptedEngine
) -> None:
    engine.script = Scripted(
        200,
        [b'data: {"choices": [{"index": 0, "text": "Hel", "finish_reason": null}]}\n\n',
         b'data: {"error": {"message": "out of memory"}}\n\n'],
        {"content-type": "text/event-stream"},
    )  # fmt: skip
    body = {"model": "tiny", "max_tokens": 8, "messages": FRANCE, "stream": True}
    response = client.post("/v1/messages", json=body)
    assert response.status_code == 200
    assert response.text.endswith("\n\n")
    last_event, last_data = response.text.strip().split("\n\n")[-1].split("\n")
    assert last_event == "event: error"
    error = json.loads(last_data.removeprefix("data: "))
    assert error["type"] == "error" and error["error"]["type"] == "api_error"
    assert "out of memory" in error["error"]["message"]
    with (
        pytest.raises(anthropic.APIStatusError, match="out of memory"),
        sdk.messages.stream(model="tiny", max_tokens=8, messages=FRANCE) as stream,
    ):
        list(stream)


def test_images_are_refused_with_a_clear_400(sdk: anthropic.Anthropic) -> None:
    image = {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.png"}}
    messages: Any = [{"role": "user", "content": [{"type": "text", "text": "What is it?"}, image]}]
    with pytest.raises(anthropic.BadRequestError, match="accepts text only") as raised:
        sdk.messages.create(model="tiny", max_tokens=8, messages=messages)
    body: Any = raised.value.body
    assert body["type"] == "error" and body["error"]["type"] == "invalid_request_error"
    assert body["error"]["message"].startswith("messages[0].content[1]: model 'tiny-chatml'")


@pytest.mark.parametrize(("adds_bos", "expected"), [(False, 8), (True, 9)])
def test_count_tokens_through_the_engine(
    sdk: anthropic.Anthropic, engine: ScriptedEngine, adds_bos: bool, expected: int
) -> None:
    engine.adds_bos = adds_bos
    count = sdk.messages.count_tokens(model="claude-3-haiku-20240307", messages=FRANCE)
    # The scripted engine counts words, BOS included when it adds one.
    prompt = "<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n"
    assert engine.tokenize_requests[-1] == {"content": prompt, "add_special": True}
    assert count.input_tokens == expected


def test_count_tokens_on_vllm_sends_its_body(
    sdk: anthropic.Anthropic, engine: ScriptedEngine
) -> None:
    sdk.messages.count_tokens(model="Llama-3.1-8B-Instruct", messages=FRANCE)
    sent = engine.tokenize_requests[-1]
    assert sent["model"] == "meta-llama/Llama-3.1-8B-Instruct"
    assert sent["prompt"].startswith("<|begin_of_text|>")
    assert sent["add_special_tokens"] is False
