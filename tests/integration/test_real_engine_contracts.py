"""What the gateway assumes of each real engine, checked against the engine itself: the
request fields each dialect sends are accepted, the three engines give the same greedy
answers, and MAX Serve's full queue reaches the client as 429 with Retry-After."""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from api_server.engines.dialects import build_completion_body, completion_path
from api_server.engines.types import CompletionRequest, SamplingParams
from api_server.prompts.base import FormattedPrompt
from bench.agreement import PROMPTS, compare, greedy_answers
from stackctl.api import NativeStack
from tests.integration.own_gateway import own_gateway
from tests.integration.real_engines import ENGINES, RealEngine, every_engine

pytestmark = pytest.mark.integration

PROMPT = FormattedPrompt(
    text="<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n",
    starts_with_bos=False,
    stop=("<|im_end|>",),
)
CITY = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}


@every_engine
@pytest.mark.parametrize("client_stop", [(), ("Paris",)], ids=["no-stop", "client-stop"])
def test_every_field_a_dialect_sends_is_accepted(
    native_stack: NativeStack, engine: RealEngine, client_stop: tuple[str, ...]
) -> None:
    """The body the gateway builds for this engine, with every optional field set, answers
    200 from the real server (MAX forbids unknown fields: a stray one is a 400 there)."""
    request = CompletionRequest(
        prompt=PROMPT,
        sampling=SamplingParams(
            max_tokens=8,
            temperature=0.5,
            top_p=0.9,
            top_k=40,
            stop=client_stop,
            seed=7,
            presence_penalty=0.1,
            frequency_penalty=0.1,
        ),
        request_id="contract",
        json_schema=CITY,
    )
    kind: Any = engine.kind
    body = build_completion_body(kind, "SmolLM2-135M-Instruct", request, engine_adds_bos=False)
    url = native_stack.url(engine.service) + completion_path(kind, request)
    with httpx.stream("POST", url, json=body, timeout=120) as response:
        text = "".join(response.iter_text())
    assert response.status_code == 200, text
    assert "data:" in text


def test_the_three_engines_give_the_same_greedy_answers(gateway_url: str) -> None:
    """Same weights, same prompt, temperature 0. vLLM and MAX both run the de-quantized
    float32 weights: their answers match exactly here (24/24). llama.cpp runs the Q4_1 GGUF,
    whose matrix products quantize activations to 8 bits: measured 13/24 identical and a
    72 % common prefix. The floors below catch a broken path (a second BOS, another
    template, other weights), which leaves next to nothing in common."""
    assert len(PROMPTS) >= 20

    async def answers() -> dict[str, list[str]]:
        results = await asyncio.gather(
            *(greedy_answers(gateway_url, e.model, PROMPTS, 32) for e in ENGINES)
        )
        return {engine.kind: texts for engine, texts in zip(ENGINES, results, strict=True)}

    pairs = {pair.engines: pair for pair in compare(asyncio.run(answers()))}
    assert pairs["vllm", "max"].rate >= 0.9
    for pair in (pairs["llamacpp", "vllm"], pairs["llamacpp", "max"]):
        assert pair.rate >= 0.25 and pair.mean_common_prefix >= 0.5


@pytest.fixture(scope="module")
def small_queue_max(
    tmp_path_factory: pytest.TempPathFactory, native_stack: NativeStack
) -> Iterator[NativeStack]:
    """A MAX Serve of its own with a batch of 2 and queues of 1, as the stack runs it
    otherwise, so a burst overflows it."""
    environ = {
        **native_stack.stack.environ,
        "STACKCTL_MAX_MAX_BATCH_SIZE": "2",
        "STACKCTL_MAX_MAX_PENDING": "1",
        "STACKCTL_MAX_MAX_QUEUE_SIZE": "1",
        "STACKCTL_MAX_MEMORY_UTILIZATION": "0.05",
    }
    with NativeStack(
        tmp_path_factory.mktemp("small-max"), services=["max"], free_ports=True, environ=environ
    ) as stack:
        yield stack


def test_a_full_max_queue_is_429_with_retry_after(
    small_queue_max: NativeStack, native_stack: NativeStack, tmp_path: Path
) -> None:
    models = {
        "models": [
            {
                "name": "small-max",
                "prompt_family": "chatml",
                "engine": {
                    "kind": "max",
                    "served_name": "SmolLM2-135M-Instruct",
                    "urls": [small_queue_max.url("max")],
                },
                "context_length": 8192,
                "max_tokens": {"default": 16, "limit": 64},
            }
        ]
    }
    (tmp_path / "models.yaml").write_text(yaml.safe_dump(models))
    env = {
        **native_stack.env("gateway"),
        "INFERSTACK_MODELS_FILE": str(tmp_path / "models.yaml"),
        "INFERSTACK_QDRANT_PATH": str(tmp_path / "qdrant"),
        "INFERSTACK_REQUEST_LOG_SPOOL_DIR": str(tmp_path / "spool"),
        "INFERSTACK_CACHE_ENABLED": "false",
    }
    with own_gateway(env, tmp_path / "gateway.log") as url:
        outcomes = asyncio.run(_burst(url, 60))
    assert outcomes[200] > 0 and outcomes[429] > 0, dict(outcomes)
    assert set(outcomes) == {200, 429}, dict(outcomes)


async def _burst(url: str, count: int) -> collections.Counter[int]:
    statuses: collections.Counter[int] = collections.Counter()
    limits = httpx.Limits(max_connections=count)
    async with httpx.AsyncClient(base_url=url, timeout=300, limits=limits) as client:

        async def ask(index: int) -> None:
            response = await client.post(
                "/v1/chat/completions",
                json={
                    "model": "small-max",
                    "messages": [{"role": "user", "content": f"Story {index}:"}],
                    "max_tokens": 16,
                },
            )
            statuses[response.status_code] += 1
            if response.status_code == 429:
                error = response.json()["error"]
                assert response.headers["retry-after"] == "1", "MAX's own Retry-After"
                assert error["type"] == "rate_limit_error" or "overloaded" in error["message"]
                assert "max@" in error["message"]

        await asyncio.gather(*(ask(i) for i in range(count)))
    return statuses
