"""logprobs / top_logprobs: each engine asked (llama.cpp and MAX Serve for at least one
alternative), its own shape read back into OpenAI's (llama.cpp's per-token objects, vLLM's
legacy lists, MAX's lists without the tokens named), streamed and not, on chat and on legacy
completions. An Anthropic-style upstream, which has none, refuses (test_anthropic_wire.py)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.unit.scripted_engine import ScriptedEngine
from tests.unit.upstreams.sdk import openai_client

HELLO = [{"role": "user", "content": "hi"}]
TEXTS = ["The capital", " of France", " is Paris."]
# (model, engine asked for at least one alternative)
MODELS = [("tiny", True), ("Llama-3.1-8B-Instruct", False), ("on-max", True)]


def _expected(top_logprobs: int) -> list[dict[str, Any]]:
    """What each scripted token's entry must be."""
    return [
        {
            "token": text,
            "logprob": -0.5,
            "bytes": list(text.encode()),
            "top_logprobs": [
                {"token": text, "logprob": -0.5, "bytes": list(text.encode())},
                {"token": "X", "logprob": -2.0, "bytes": [88]},
            ][:top_logprobs],
        }
        for text in TEXTS
    ]


@pytest.mark.parametrize(("model", "at_least_one"), MODELS)
@pytest.mark.parametrize("top_logprobs", [0, 1, 2])
def test_chat_logprobs(
    gateway: TestClient,
    engine: ScriptedEngine,
    model: str,
    at_least_one: bool,
    top_logprobs: int,
) -> None:
    reply = openai_client(gateway).chat.completions.create(
        model=model, messages=HELLO, logprobs=True, top_logprobs=top_logprobs
    )  # type: ignore[call-overload]
    assert reply.choices[0].message.content == "".join(TEXTS)
    content = reply.model_dump()["choices"][0]["logprobs"]["content"]
    assert content == _expected(top_logprobs)
    # llama.cpp reports nothing for 0 alternatives, so it is asked for at least one.
    expected_ask = max(top_logprobs, 1) if at_least_one else top_logprobs
    assert engine.last_request["logprobs"] == expected_ask


@pytest.mark.parametrize(("model", "at_least_one"), MODELS)
def test_streamed_chat_logprobs_ride_on_their_texts_chunks(
    gateway: TestClient, engine: ScriptedEngine, model: str, at_least_one: bool
) -> None:
    chunks = list(
        openai_client(gateway).chat.completions.create(
            model=model, messages=HELLO, logprobs=True, top_logprobs=1, stream=True
        )  # type: ignore[call-overload]
    )
    with_text = [c for c in chunks if c.choices and c.choices[0].delta.content]
    assert [c.choices[0].delta.content for c in with_text] == TEXTS
    entries = [
        entry.model_dump()
        for chunk in with_text
        for entry in chunk.choices[0].logprobs.content  # type: ignore[union-attr]
    ]
    assert entries == _expected(1)
    assert "logprobs" in engine.last_request


def test_without_logprobs_there_are_none(gateway: TestClient, engine: ScriptedEngine) -> None:
    reply = openai_client(gateway).chat.completions.create(model="tiny", messages=HELLO)  # type: ignore[arg-type]
    assert reply.choices[0].logprobs is None
    assert "logprobs" not in engine.last_request


def test_legacy_completions_logprobs(gateway: TestClient, engine: ScriptedEngine) -> None:
    sdk = openai_client(gateway)
    reply = sdk.completions.create(model="tiny", prompt="The capital", logprobs=1)
    logprobs = reply.choices[0].logprobs
    assert logprobs is not None
    assert logprobs.tokens == TEXTS
    assert logprobs.token_logprobs == [-0.5] * 3
    assert logprobs.top_logprobs == [{text: -0.5} for text in TEXTS]
    assert logprobs.text_offset == [0, 11, 21]
    streamed = list(
        sdk.completions.create(model="tiny", prompt="The capital", logprobs=1, stream=True)
    )
    offsets = [c.choices[0].logprobs.text_offset for c in streamed if c.choices[0].text]  # type: ignore[union-attr]
    assert offsets == [[0], [11], [21]]
