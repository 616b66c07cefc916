"""llama.cpp, vLLM (CPU build) and MAX Serve (CPU), each serving the same SmolLM2 weights,
driven through the gateway with the official SDKs: the same suite for every engine.

Requests carry `Cache-Control: no-store`, so each answer comes from the engine, never from
the gateway's cache.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import anthropic
import httpx
import openai
import pytest
from transformers import AutoTokenizer

from stackctl.api import NativeStack
from stackctl.ports import find_port_holder
from stackctl.processes import wait_gone
from stackctl.reaper import children_of
from tests.integration.real_engines import RealEngine, every_engine
from tests.integration.services import REPO

pytestmark = pytest.mark.integration

NO_STORE = {"Cache-Control": "no-store"}
SYSTEM = {"role": "system", "content": "You are a helpful assistant."}
FRANCE = [SYSTEM, {"role": "user", "content": "What is the capital of France?"}]
COUNT = [{"role": "user", "content": "Count from 1 to 10, separated by commas."}]
WEATHER_TOOL: Any = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the current weather for a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}


@pytest.fixture
def sdk(gateway_url: str) -> openai.OpenAI:
    return openai.OpenAI(
        base_url=f"{gateway_url}/v1", api_key="unused", max_retries=0, default_headers=NO_STORE
    )


@pytest.fixture
def claude(gateway_url: str) -> anthropic.Anthropic:
    return anthropic.Anthropic(
        base_url=gateway_url, api_key="unused", max_retries=0, default_headers=NO_STORE
    )


# --- answers -------------------------------------------------------------------------------


@every_engine
def test_chat_answers_paris_streamed_and_not_with_usage(
    sdk: openai.OpenAI, engine: RealEngine
) -> None:
    whole = sdk.chat.completions.create(
        model=engine.model, messages=FRANCE, temperature=0, max_tokens=32
    )
    assert whole.choices[0].message.content == "The capital of France is Paris."
    assert whole.choices[0].finish_reason == "stop"
    assert whole.usage is not None and whole.usage.completion_tokens == 8

    chunks = list(
        sdk.chat.completions.create(
            model=engine.model,
            messages=FRANCE,
            temperature=0,
            max_tokens=32,
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    deltas = [
        c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content
    ]
    assert len(deltas) > 3, "tokens arrive as separate chunks"
    assert "".join(deltas) == whole.choices[0].message.content
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.prompt_tokens == whole.usage.prompt_tokens


@every_engine
def test_raw_completions_streamed_and_not(sdk: openai.OpenAI, engine: RealEngine) -> None:
    prompt = "<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n"
    whole = sdk.completions.create(model=engine.model, prompt=prompt, temperature=0, max_tokens=20)
    assert "Paris" in whole.choices[0].text
    assert whole.usage is not None and whole.usage.prompt_tokens == 16
    streamed = sdk.completions.create(
        model=engine.model, prompt=prompt, temperature=0, max_tokens=20, stream=True
    )
    assert "".join(c.choices[0].text for c in streamed if c.choices) == whole.choices[0].text


@every_engine
def test_the_engine_sees_exactly_the_official_templates_tokens(
    sdk: openai.OpenAI, engine: RealEngine
) -> None:
    """No second BOS, nothing added or lost: the prompt tokens the engine reports equal the
    official chat template's tokens for the same messages (SmolLM2's own tokenizer)."""
    tokenizer = AutoTokenizer.from_pretrained(REPO / "models" / "SmolLM2-135M-Instruct")
    expected = tokenizer.apply_chat_template(FRANCE, add_generation_prompt=True, tokenize=True)
    if not isinstance(expected, list):  # transformers 5 returns a BatchEncoding
        expected = expected["input_ids"]
    reply = sdk.chat.completions.create(
        model=engine.model, messages=FRANCE, temperature=0, max_tokens=1
    )
    assert reply.usage is not None and reply.usage.prompt_tokens == len(expected)


@every_engine
def test_anthropic_messages_text_and_stream(
    claude: anthropic.Anthropic, engine: RealEngine
) -> None:
    question: Any = [{"role": "user", "content": "What is the capital of France?"}]
    message = claude.messages.create(
        model=engine.model,
        max_tokens=32,
        system="You are a helpful assistant.",
        messages=question,
        extra_body={"temperature": 0},
    )
    assert message.content[0].type == "text"
    assert message.content[0].text == "The capital of France is Paris."
    assert message.stop_reason == "end_turn"
    assert message.usage.input_tokens > 10 and message.usage.output_tokens == 8

    with claude.messages.stream(
        model=engine.model,
        max_tokens=32,
        system="You are a helpful assistant.",
        messages=question,
        extra_body={"temperature": 0},
    ) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == "The capital of France is Paris."
    assert final.stop_reason == "end_turn"


# --- stop strings and limits ---------------------------------------------------------------


@every_engine
def test_stop_strings_end_the_text_before_them(
    sdk: openai.OpenAI, claude: anthropic.Anthropic, engine: RealEngine
) -> None:
    """MAX returns the stop string inside its text; every client sees the text before it,
    and Anthropic clients the stop string that ended it."""
    reply = sdk.chat.completions.create(
        model=engine.model, messages=COUNT, temperature=0, max_tokens=40, stop=["5"]
    )
    assert reply.choices[0].message.content == "1, 2, 3, 4, "
    assert reply.choices[0].finish_reason == "stop"

    streamed = sdk.chat.completions.create(
        model=engine.model, messages=COUNT, temperature=0, max_tokens=40, stop=["4, 5"], stream=True
    )
    assert "".join(c.choices[0].delta.content or "" for c in streamed if c.choices) == "1, 2, 3, "

    message = claude.messages.create(
        model=engine.model,
        max_tokens=40,
        messages=COUNT,
        stop_sequences=["5"],
        extra_body={"temperature": 0},
    )
    assert message.content[0].type == "text" and message.content[0].text == "1, 2, 3, 4, "
    assert (message.stop_reason, message.stop_sequence) == ("stop_sequence", "5")


@every_engine
def test_max_tokens_cuts_with_length(sdk: openai.OpenAI, engine: RealEngine) -> None:
    reply = sdk.chat.completions.create(
        model=engine.model,
        messages=[{"role": "user", "content": "Write a long story about a dragon."}],
        temperature=0,
        max_completion_tokens=5,
    )
    assert reply.choices[0].finish_reason == "length"
    assert reply.usage is not None and reply.usage.completion_tokens == 5


@every_engine
def test_a_prompt_over_the_context_is_the_engines_own_400(
    sdk: openai.OpenAI, engine: RealEngine
) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        sdk.chat.completions.create(
            model=engine.model,
            messages=[{"role": "user", "content": "hello " * 9000}],
            max_tokens=16,
        )
    assert caught.value.status_code == 400
    assert caught.value.code == "context_length_exceeded"
    assert engine.overflow_wording in caught.value.message


# --- tool calls ----------------------------------------------------------------------------


@every_engine
def test_a_named_tool_choice_makes_the_real_model_call_it(
    sdk: openai.OpenAI, engine: RealEngine
) -> None:
    """llama.cpp (grammar) and vLLM (structured outputs) constrain the arguments to the
    tool's schema, so even a 135M model names a city. MAX Serve has no structured output on
    raw completions: the prompt forces the call, its arguments are the model's own."""
    reply = sdk.chat.completions.create(
        model=engine.model,
        messages=[{"role": "user", "content": "What is the weather in Paris?"}],
        tools=[WEATHER_TOOL],
        tool_choice={"type": "function", "function": {"name": "get_weather"}},
        temperature=0,
        max_tokens=96,
    )
    choice = reply.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.tool_calls is not None
    call = choice.message.tool_calls[0]
    assert call.type == "function" and call.function.name == "get_weather"
    arguments = json.loads(call.function.arguments)
    assert isinstance(arguments, dict)
    if engine.kind != "max":
        assert arguments == {"city": "Paris"}


@every_engine
def test_a_tool_call_the_model_writes_unprompted_is_parsed(
    sdk: openai.OpenAI, engine: RealEngine
) -> None:
    """tool_choice auto: the model's own <tool_call> text, streamed by each engine, comes
    back as a structured call (this prompt makes SmolLM2 write one on every engine)."""
    ask: Any = {
        "model": engine.model,
        "messages": [{"role": "user", "content": "<tool_call> get_weather Paris"}],
        "tools": [WEATHER_TOOL],
        "tool_choice": "auto",
        "temperature": 0,
        "max_tokens": 48,
    }
    reply = sdk.chat.completions.create(**ask)
    calls = reply.choices[0].message.tool_calls
    assert calls and calls[0].function.name == "get_weather"
    assert not reply.choices[0].message.content

    streamed = sdk.chat.completions.create(**ask, stream=True)
    names = [
        call.function.name
        for chunk in streamed
        if chunk.choices and chunk.choices[0].delta.tool_calls
        for call in chunk.choices[0].delta.tool_calls
        if call.function and call.function.name
    ]
    assert names == ["get_weather"]


# --- the engine's own work -----------------------------------------------------------------


@every_engine
def test_a_client_that_leaves_stops_the_engines_work(
    sdk: openai.OpenAI, native_stack: NativeStack, engine: RealEngine
) -> None:
    asked = 1500
    generated_before = engine.metric(native_stack, engine.generated_metric)
    stream = sdk.chat.completions.create(
        model=engine.model,
        messages=[{"role": "user", "content": "Write a very long story about a dragon."}],
        temperature=0.7,
        max_tokens=asked,
        stream=True,
    )
    for seen, _ in enumerate(stream):
        if seen == 4:
            break
    assert engine.metric(native_stack, engine.running_metric) >= 1
    stream.close()
    # The engine's own gauge returns to 0 because it aborted, not because it finished:
    # far fewer tokens than asked for were generated.
    _wait_for(lambda: engine.metric(native_stack, engine.running_metric) == 0, 120)
    generated = engine.metric(native_stack, engine.generated_metric) - generated_before
    assert generated < asked / 4


@every_engine
def test_32_concurrent_requests_are_batched_by_the_engine(
    gateway_url: str, native_stack: NativeStack, engine: RealEngine
) -> None:
    """Dynamic batching, read off the engine itself: its running-requests gauge goes past 1
    while 32 requests are in flight (llama.cpp up to its --parallel slots, vLLM and MAX up to
    their batch of 32), and MAX's worker, whose own histogram says so, decodes several at a
    time."""
    peak = 0.0
    batched_before = engine.decode_steps_batched(native_stack)
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, engine.metric(native_stack, engine.running_metric))

    def ask(index: int) -> int:
        response = httpx.post(
            f"{gateway_url}/v1/chat/completions",
            headers=NO_STORE,
            json={
                "model": engine.model,
                "messages": [{"role": "user", "content": f"Tell me story number {index}."}],
                "max_tokens": 24,
                "temperature": 0.8,
            },
            timeout=300,
        )
        return response.status_code

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        with ThreadPoolExecutor(max_workers=32) as pool:
            statuses = list(pool.map(ask, range(32)))
    finally:
        done.set()
        sampler.join()
    assert statuses == [200] * 32
    assert peak > 1
    if batched_before is not None:
        batched_after = engine.decode_steps_batched(native_stack)
        assert batched_after is not None and batched_after > batched_before


@every_engine
def test_a_killed_engine_is_503_naming_it_then_serves_again(
    sdk: openai.OpenAI, native_stack: NativeStack, engine: RealEngine
) -> None:
    port = native_stack.port(engine.service)
    holder = find_port_holder(port)
    assert holder is not None
    workers = children_of(holder.pid)  # vLLM's engine core, MAX's model worker
    os.kill(holder.pid, signal.SIGKILL)

    with pytest.raises(openai.APIStatusError) as caught:
        sdk.chat.completions.create(model=engine.model, messages=FRANCE, max_tokens=4)
    assert caught.value.status_code == 503
    assert f"{engine.kind}#0" in caught.value.message

    # The supervisor starts it again, and nothing of the killed one lives on.
    _wait_for(lambda: _healthy(native_stack.url(engine.service)), 600)
    assert wait_gone(workers, timeout=30) == []
    reply = sdk.chat.completions.create(
        model=engine.model, messages=FRANCE, temperature=0, max_tokens=32
    )
    assert reply.choices[0].message.content == "The capital of France is Paris."


def _healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _wait_for(condition: Any, timeout_s: float) -> None:
    """Poll until `condition()` holds; the timeout only bounds a broken run."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.2)
