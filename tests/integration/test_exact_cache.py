"""The exact cache on the session stack's real Redis: a deterministic repeat is a HIT that
the engine never sees, a streamed repeat has the same chunks, and Redis going away costs
nothing but the cache."""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx
import openai

from stackctl.api import NativeStack


def _question() -> list[dict[str, Any]]:
    # Unique per test: Redis outlives a test, not the session.
    return [{"role": "user", "content": f"What is the capital of France? ({uuid.uuid4()})"}]


def _completions(fake_engine: httpx.Client) -> int:
    return int(fake_engine.get("/_stats").json()["completions_total"])


def _create(client: openai.OpenAI, messages: list[dict[str, Any]], **kwargs: Any) -> Any:
    return client.chat.completions.with_raw_response.create(
        model="fake-echo", messages=messages, **kwargs
    )


def test_a_deterministic_repeat_is_a_hit(client: openai.OpenAI, fake_engine: httpx.Client) -> None:
    messages = _question()
    first = _create(client, messages, temperature=0)
    assert first.headers["x-cache"] == "MISS"
    engine_calls = _completions(fake_engine)
    time.sleep(0.2)  # the answer is stored after the response, off the request path
    second = _create(client, messages, temperature=0)
    assert second.headers["x-cache"] == "HIT"
    a, b = first.parse(), second.parse()
    assert b.choices == a.choices
    assert b.usage == a.usage
    assert _completions(fake_engine) == engine_calls


def test_a_streamed_repeat_arrives_in_the_same_chunks(
    client: openai.OpenAI, fake_engine: httpx.Client
) -> None:
    messages = _question()

    def stream() -> tuple[str, list[Any], float]:
        started = time.perf_counter()
        response = client.chat.completions.with_raw_response.create(
            model="fake-slow", messages=messages, temperature=0, stream=True, max_tokens=8
        )
        chunks = list(response.parse())
        return response.headers["x-cache"], chunks, time.perf_counter() - started

    first_cache, first, first_s = stream()
    time.sleep(0.2)
    engine_calls = _completions(fake_engine)
    second_cache, second, second_s = stream()
    assert (first_cache, second_cache) == ("MISS", "HIT")
    assert len(second) == len(first)
    assert [c.choices for c in second] == [c.choices for c in first]
    assert _completions(fake_engine) == engine_calls
    # Paced like the original (50 ms a token), without the engine's time to first token.
    assert second_s > 0.5 * first_s - 0.1


def test_sampled_and_no_store_requests_bypass(client: openai.OpenAI) -> None:
    messages = _question()
    assert _create(client, messages, temperature=0.7).headers["x-cache"] == "BYPASS"
    for _ in range(2):
        response = _create(
            client, messages, temperature=0, extra_headers={"Cache-Control": "no-store"}
        )
        assert response.headers["x-cache"] == "BYPASS"
    opted_in = [_create(client, messages, temperature=0.7, extra_body={"cache": True})]
    time.sleep(0.2)
    opted_in.append(_create(client, messages, temperature=0.7, extra_body={"cache": True}))
    assert [r.headers["x-cache"] for r in opted_in] == ["MISS", "HIT"]


def test_requests_succeed_while_redis_is_down(
    client: openai.OpenAI, native_stack: NativeStack, gateway_url: str
) -> None:
    messages = _question()
    native_stack.stop_service("redis")
    try:
        for stream in (False, True, False):
            response = _create(client, messages, temperature=0, stream=stream)
            assert response.headers["x-cache"] == "MISS"
            parsed = response.parse()
            if stream:
                assert list(parsed)
            else:
                assert parsed.choices[0].message.content
        metrics = httpx.get(f"{gateway_url}/metrics").text
        assert "inferstack_cache_errors_total" in metrics
    finally:
        native_stack.start_service("redis")
    # Back: the cache works again.
    _create(client, messages, temperature=0)
    time.sleep(0.2)
    assert _create(client, messages, temperature=0).headers["x-cache"] == "HIT"
