"""The official anthropic SDK against the gateway: text and streaming from the real
llama-server + SmolLM2, tool-use round trips from the fake engine's tool-call syntaxes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import anthropic
import httpx
import pytest

pytestmark = pytest.mark.integration

MODEL = "SmolLM2-135M-Instruct"
FRANCE: Any = [{"role": "user", "content": "What is the capital of France?"}]
GREEDY = {"temperature": 0}  # newer SDKs dropped the sampling arguments: sent as extra_body
WEATHER_TOOL: Any = {
    "name": "get_weather",
    "description": "Get the current weather for a city",
    "input_schema": {
        "type": "object",
        "properties": {"city": {"type": "string"}, "unit": {"type": "string"}},
        "required": ["city"],
    },
}
EXPECTED_INPUT = {"city": "Paris", "unit": "celsius"}
TOOL_MODELS = ["fake-hermes", "fake-llama3", "fake-devstral-2505", "fake-devstral-2507"]


@pytest.fixture
def claude(gateway_url: str) -> Iterator[anthropic.Anthropic]:
    with anthropic.Anthropic(base_url=gateway_url, api_key="unused", max_retries=0) as client:
        yield client


def test_message_answers_paris(claude: anthropic.Anthropic) -> None:
    message = claude.messages.create(model=MODEL, max_tokens=48, messages=FRANCE, extra_body=GREEDY)
    assert message.content[0].type == "text"
    assert "Paris" in message.content[0].text
    assert message.stop_reason == "end_turn"
    assert message.model == MODEL
    assert message.usage.input_tokens > 10
    assert 0 < message.usage.output_tokens <= 48


def test_claude_names_map_to_the_default_model(claude: anthropic.Anthropic) -> None:
    message = claude.messages.create(
        model="claude-3-5-sonnet-latest", max_tokens=8, messages=FRANCE, extra_body=GREEDY
    )
    assert message.model == MODEL


def test_stream_answers_paris_and_agrees_with_non_streaming(claude: anthropic.Anthropic) -> None:
    with claude.messages.stream(
        model="smollm2", max_tokens=48, messages=FRANCE, extra_body=GREEDY
    ) as stream:
        deltas = list(stream.text_stream)
        message = stream.get_final_message()
    assert len(deltas) > 3, "tokens should arrive as separate events"
    assert "Paris" in "".join(deltas)
    assert message.stop_reason == "end_turn"
    assert message.usage.input_tokens > 10
    whole = claude.messages.create(model=MODEL, max_tokens=48, messages=FRANCE, extra_body=GREEDY)
    assert whole.content[0].type == "text" and whole.content[0].text == "".join(deltas)


def test_count_tokens_matches_what_the_engine_counts(claude: anthropic.Anthropic) -> None:
    system = "You answer in one word."
    count = claude.messages.count_tokens(model=MODEL, system=system, messages=FRANCE)
    message = claude.messages.create(
        model=MODEL, system=system, max_tokens=4, messages=FRANCE, extra_body=GREEDY
    )
    assert count.input_tokens == message.usage.input_tokens > 10


def test_max_tokens_stop_reason(claude: anthropic.Anthropic) -> None:
    message = claude.messages.create(model=MODEL, max_tokens=2, messages=FRANCE)
    assert message.stop_reason == "max_tokens"
    assert message.usage.output_tokens == 2


def test_stop_sequence_from_the_real_llama_cpp(claude: anthropic.Anthropic) -> None:
    """llama.cpp's native endpoint names the stop string it hit: the client learns which."""
    message = claude.messages.create(
        model=MODEL,
        max_tokens=32,
        messages=FRANCE,
        stop_sequences=["Paris", "Berlin"],
        extra_body=GREEDY,
    )
    assert (message.stop_reason, message.stop_sequence) == ("stop_sequence", "Paris")
    text = message.content[0].text  # type: ignore[union-attr]
    assert "Paris" not in text and text.strip().endswith("is")
    streamed = claude.messages.create(
        model=MODEL,
        max_tokens=32,
        messages=FRANCE,
        stop_sequences=["Paris"],
        extra_body=GREEDY,
        stream=True,
    )
    deltas = [event for event in streamed if event.type == "message_delta"]
    assert deltas[-1].delta.stop_reason == "stop_sequence"
    assert deltas[-1].delta.stop_sequence == "Paris"
    assert deltas[-1].usage.output_tokens > 0


@pytest.mark.parametrize("model", TOOL_MODELS)
def test_tool_use_round_trip(
    claude: anthropic.Anthropic, fake_engine: httpx.Client, model: str
) -> None:
    question: Any = {"role": "user", "content": "Weather in Paris?"}
    message = claude.messages.create(
        model=model, max_tokens=128, messages=[question], tools=[WEATHER_TOOL]
    )
    assert message.stop_reason == "tool_use"
    [call] = [block for block in message.content if block.type == "tool_use"]
    assert call.name == "get_weather"
    assert call.input == EXPECTED_INPUT
    assert call.id.startswith("toolu_")

    history: Any = [
        question,
        {"role": "assistant", "content": [block.model_dump() for block in message.content]},
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": call.id, "content": "18 degrees, sunny"}
            ],
        },
    ]
    claude.messages.create(model=model, max_tokens=128, messages=history, tools=[WEATHER_TOOL])
    prompt = fake_engine.get("/_last_request").json()["prompt"]
    assert "18 degrees, sunny" in prompt
    assert '"Paris"' in prompt  # the call itself, in the model's own syntax


@pytest.mark.parametrize("model", TOOL_MODELS)
def test_streamed_tool_use(claude: anthropic.Anthropic, model: str) -> None:
    with claude.messages.stream(
        model=model, max_tokens=128, messages=FRANCE, tools=[WEATHER_TOOL]
    ) as stream:
        events = list(stream)
        message = stream.get_final_message()
    kinds = [event.type for event in events]
    assert kinds[0] == "message_start" and kinds[-1] == "message_stop"
    partial = [
        event.delta.partial_json
        for event in events
        if event.type == "content_block_delta" and event.delta.type == "input_json_delta"
    ]
    # In pieces, except Mistral v7's JSON list, whose parser holds a call until its id.
    assert len(partial) > (0 if model == "fake-devstral-2505" else 1)
    assert json.loads("".join(partial)) == EXPECTED_INPUT
    [call] = [block for block in message.content if block.type == "tool_use"]
    assert (call.name, call.input) == ("get_weather", EXPECTED_INPUT)
    assert message.stop_reason == "tool_use"


def test_unknown_model_is_404_in_anthropics_envelope(claude: anthropic.Anthropic) -> None:
    with pytest.raises(anthropic.NotFoundError) as raised:
        claude.messages.create(model="gpt-9", max_tokens=8, messages=FRANCE)
    body: Any = raised.value.body
    assert body["type"] == "error"
    assert body["error"]["type"] == "not_found_error"
    assert "gpt-9" in body["error"]["message"]


def test_missing_max_tokens_is_400(http: httpx.Client) -> None:
    response = http.post(
        "/v1/messages",
        json={"model": MODEL, "messages": FRANCE},
        headers={"x-api-key": "unused", "anthropic-version": "2023-06-01"},
    )
    assert response.status_code == 400
    body = response.json()
    assert body["type"] == "error"
    assert body["error"]["type"] == "invalid_request_error"
    assert "max_tokens" in body["error"]["message"]


def test_engine_failure_mid_stream_ends_with_an_error_event(claude: anthropic.Anthropic) -> None:
    with (
        pytest.raises(anthropic.APIStatusError, match="mid-stream"),
        claude.messages.stream(model="fake-midstream-error", max_tokens=16, messages=FRANCE) as s,
    ):
        list(s)
