"""The official openai SDK against the gateway in front of the real llama-server + SmolLM2."""

from __future__ import annotations

import httpx
import openai
import pytest

pytestmark = pytest.mark.integration

MODEL = "SmolLM2-135M-Instruct"
FRANCE = [{"role": "user", "content": "What is the capital of France?"}]


def test_chat_answers_paris(client: openai.OpenAI) -> None:
    reply = client.chat.completions.create(
        model=MODEL, messages=FRANCE, temperature=0, max_tokens=48
    )
    assert "Paris" in (reply.choices[0].message.content or "")
    assert reply.choices[0].finish_reason == "stop"
    assert reply.usage is not None
    assert reply.usage.prompt_tokens > 10
    assert 0 < reply.usage.completion_tokens <= 48


def test_streamed_chat_answers_paris_with_usage(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(
        model="smollm2",
        messages=FRANCE,
        temperature=0,
        max_tokens=48,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    deltas = [
        c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content
    ]
    assert len(deltas) > 3, "tokens should arrive as separate chunks"
    assert "Paris" in "".join(deltas)
    # llama.cpp counts the end-of-turn token too.
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens in (len(deltas), len(deltas) + 1)


def test_stream_and_non_stream_agree_at_temperature_zero(client: openai.OpenAI) -> None:
    whole = client.chat.completions.create(
        model=MODEL, messages=FRANCE, temperature=0, max_tokens=32
    )
    streamed = client.chat.completions.create(
        model=MODEL, messages=FRANCE, temperature=0, max_tokens=32, stream=True
    )
    text = "".join(c.choices[0].delta.content or "" for c in streamed if c.choices)
    assert text == whole.choices[0].message.content


def test_max_tokens_cuts_with_length(client: openai.OpenAI) -> None:
    reply = client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": "Write a long story about a dragon."}],
        temperature=0,
        max_completion_tokens=5,
    )
    assert reply.choices[0].finish_reason == "length"
    assert reply.usage is not None and reply.usage.completion_tokens == 5


def test_system_and_multi_turn_conversation(client: openai.OpenAI) -> None:
    reply = client.chat.completions.create(
        model=MODEL,
        messages=[
            {"role": "developer", "content": "You answer with one word."},
            {
                "role": "user",
                "content": [{"type": "text", "text": "What is the capital of France?"}],
            },
            {"role": "assistant", "content": "Paris"},
            {"role": "user", "content": "And of Germany?"},
        ],
        temperature=0,
        max_tokens=16,
        seed=7,
        stop=["\n\n"],
    )
    assert reply.choices[0].message.content


def test_raw_completion(client: openai.OpenAI) -> None:
    prompt = "<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n"
    reply = client.completions.create(model=MODEL, prompt=prompt, temperature=0, max_tokens=20)
    assert "Paris" in reply.choices[0].text
    streamed = client.completions.create(
        model=MODEL, prompt=prompt, temperature=0, max_tokens=20, stream=True
    )
    assert "".join(c.choices[0].text for c in streamed if c.choices) == reply.choices[0].text


def test_models_lists_the_served_models(client: openai.OpenAI) -> None:
    ids = [model.id for model in client.models.list()]
    assert ids[0] == MODEL
    assert "fake-hermes" in ids


def test_prompt_over_the_context_is_context_length_exceeded(client: openai.OpenAI) -> None:
    huge = "hello " * 9000
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": huge}], max_tokens=16
        )
    assert caught.value.status_code == 400
    assert caught.value.code == "context_length_exceeded"


def test_ready_reports_engines(http: httpx.Client) -> None:
    body = http.get("/health/ready").json()
    # engine-down points at a closed port on purpose.
    assert body["status"] == "not_ready"
    [smollm2] = body["models"]["SmolLM2-135M-Instruct"].values()
    assert smollm2["status"] == "up"
    [down] = body["models"]["engine-down"].values()
    assert down["status"] == "down"


def test_metrics_after_traffic(client: openai.OpenAI, http: httpx.Client) -> None:
    client.chat.completions.create(model=MODEL, messages=FRANCE, temperature=0, max_tokens=8)
    text = http.get("/metrics").text
    assert (
        'inferstack_requests_total{endpoint="/v1/chat/completions",model="SmolLM2-135M-Instruct",status="200"}'
        in text
    )
    assert 'inferstack_time_to_first_token_seconds_count{model="SmolLM2-135M-Instruct"}' in text
    assert 'inferstack_prompt_tokens_total{model="SmolLM2-135M-Instruct"}' in text


def test_temperature_zero_answer_does_not_depend_on_earlier_traffic(
    client: openai.OpenAI,
) -> None:
    """llama.cpp's prompt cache would make the answer depend on what a slot served before."""

    def ask() -> str:
        reply = client.chat.completions.create(
            model=MODEL, messages=FRANCE, temperature=0, max_tokens=16
        )
        return reply.choices[0].message.content or ""

    first = ask()
    for other in ("Write a long story about a dragon.", "Tell me about Germany"):
        client.chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": other}], temperature=0, max_tokens=24
        )
        assert ask() == first
    assert "Paris" in first
