"""logprobs and `n` on the real SmolLM2, on each engine (llama.cpp, vLLM, MAX Serve) through
the gateway with the openai SDK: greedy tokens are each their place's likeliest, and they
spell out the answer; several choices come back indexed, the prompt counted once."""

from __future__ import annotations

from typing import Any

import openai
import pytest

from tests.integration.real_engines import RealEngine, every_engine

NO_STORE = {"Cache-Control": "no-store"}
FRANCE = [
    {"role": "system", "content": "You are a helpful assistant."},
    {"role": "user", "content": "What is the capital of France?"},
]


def _chat(client: openai.OpenAI, engine: RealEngine, **fields: Any) -> Any:
    """The France question to `engine`, greedy and from the engine (not the cache)."""
    request = {"temperature": 0, "extra_headers": NO_STORE, "timeout": 300, **fields}
    return client.chat.completions.create(model=engine.model, messages=FRANCE, **request)


@every_engine
def test_greedy_tokens_are_their_places_likeliest_and_spell_the_answer(
    client: openai.OpenAI, engine: RealEngine
) -> None:
    reply = _chat(client, engine, max_tokens=16, logprobs=True, top_logprobs=3)
    choice = reply.choices[0]
    assert choice.logprobs is not None and choice.logprobs.content
    tokens = choice.logprobs.content
    assert "".join(token.token for token in tokens).startswith(choice.message.content or "-")
    for token in tokens:
        assert token.logprob <= 0
        assert len(token.top_logprobs) == 3
        values = [top.logprob for top in token.top_logprobs]
        assert values == sorted(values, reverse=True)
        assert token.top_logprobs[0].token == token.token  # greedy: the likeliest was taken
        assert token.top_logprobs[0].logprob == pytest.approx(token.logprob, abs=1e-3)


@every_engine
def test_streamed_logprobs_come_with_their_text(client: openai.OpenAI, engine: RealEngine) -> None:
    stream = _chat(client, engine, max_tokens=16, logprobs=True, stream=True)
    text, spelled = "", ""
    for chunk in stream:
        if not chunk.choices:
            continue
        text += chunk.choices[0].delta.content or ""
        for token in (chunk.choices[0].logprobs and chunk.choices[0].logprobs.content) or ():
            spelled += token.token
    assert text and spelled.startswith(text)


@every_engine
def test_legacy_completions_logprobs(client: openai.OpenAI, engine: RealEngine) -> None:
    reply = client.completions.create(
        model=engine.model,
        prompt="The capital of France is",
        temperature=0,
        max_tokens=4,
        logprobs=2,
        extra_headers=NO_STORE,
        timeout=300,
    )
    logprobs = reply.choices[0].logprobs
    assert logprobs is not None and logprobs.tokens and logprobs.token_logprobs
    assert "".join(logprobs.tokens).startswith(reply.choices[0].text)
    assert logprobs.text_offset == [
        sum(len(token) for token in logprobs.tokens[:i]) for i in range(len(logprobs.tokens))
    ]
    assert all(len(top) == 2 for top in logprobs.top_logprobs or ())


@every_engine
def test_several_choices(client: openai.OpenAI, engine: RealEngine) -> None:
    single = _chat(client, engine, max_tokens=8)
    reply = _chat(client, engine, n=3, temperature=0.9, max_tokens=8)
    assert [choice.index for choice in reply.choices] == [0, 1, 2]
    assert all(choice.message.content for choice in reply.choices)
    assert reply.usage is not None and single.usage is not None
    assert reply.usage.prompt_tokens == single.usage.prompt_tokens  # the prompt, once
    assert 3 <= reply.usage.completion_tokens <= 3 * 8  # every choice's, each 1 to 8
