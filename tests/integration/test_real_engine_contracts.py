"""What the gateway assumes of each real engine, checked against the engine itself: the
request fields each dialect sends are accepted, the three engines give the same greedy
answers, and MAX Serve's full queue reaches the client as 429 with Retry-After."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
import yaml

from api_server.chat.sampling import SamplingParams
from api_server.engines.dialects import build_completion_body, completion_path, parse_queue_depth
from api_server.engines.types import CompletionRequest
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


@every_engine
def test_ignore_eos_runs_each_engine_to_max_tokens(
    client: openai.OpenAI, engine: RealEngine
) -> None:
    """A benchmark's fixed output length: with ignore_eos the answer runs on past the
    model's end of turn, which it reaches early here without it."""
    ask: dict[str, Any] = {
        "model": engine.model,
        "messages": [{"role": "user", "content": "Answer with one word: is water wet?"}],
        "max_tokens": 24,
        "temperature": 0,
    }
    natural = client.chat.completions.create(**ask)
    forced = client.chat.completions.create(**ask, extra_body={"ignore_eos": True})
    assert natural.usage is not None and forced.usage is not None
    assert natural.choices[0].finish_reason == "stop", natural
    assert natural.usage.completion_tokens < 24
    assert forced.choices[0].finish_reason == "length", forced
    assert forced.usage.completion_tokens == 24


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
    """MAX's own 429 and Retry-After reach the client through the gateway. MAX is first
    stopped from draining its queue: two requests that never end on their own (ignore_eos,
    thousands of tokens, held open) fill its batch and a third its one pending slot, after
    which its worker pulls nothing. Then a burst through the gateway: MAX admits what its
    queue holds (--max-queue-size is a ZeroMQ high-water mark, so the kernel's socket
    buffers hold ~30 more here) and refuses the rest, and nothing admitted ever answers
    while the check runs, so every answer that comes is a refusal, whatever the timing.
    (Without the held requests MAX drains as fast as the gateway sends: no 429 at all.)"""
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
        max_ = small_queue_max.url("max"), small_queue_max.env("gateway")["MAX_METRICS_URL"]
        answers = asyncio.run(_ask_while_max_is_full(*max_, url))
    for response in answers:
        assert response.status_code == 429, response.text
        assert response.headers["retry-after"] == "1", "MAX's own Retry-After"
        error = response.json()["error"]
        assert (error["type"], error["code"]) == ("rate_limit_error", "engine_overloaded"), error
        assert "max#0" in error["message"], error


async def _ask_while_max_is_full(
    max_url: str, metrics_url: str, gateway_url: str
) -> list[httpx.Response]:
    """The first 20 answers to a burst of 250 through the gateway, sent once MAX's worker
    has stopped pulling requests (see the test)."""
    body = {
        "model": "SmolLM2-135M-Instruct",
        "prompt": "Once upon a time",
        "max_tokens": 6000,
        "ignore_eos": True,
        "stream": True,
    }
    release = asyncio.Event()
    tasks: list[asyncio.Task[Any]] = []
    limits = httpx.Limits(max_connections=None)
    async with (
        httpx.AsyncClient(base_url=max_url, timeout=None, limits=limits) as engine,
        httpx.AsyncClient(base_url=gateway_url, timeout=None, limits=limits) as gateway,
    ):

        def hold() -> asyncio.Future[int]:
            """A long request straight to MAX; the future is its status, which MAX sends
            with the first token."""
            status: asyncio.Future[int] = asyncio.get_running_loop().create_future()

            async def run() -> None:
                async with engine.stream("POST", "/v1/completions", json=body) as response:
                    status.set_result(response.status_code)
                    await release.wait()

            tasks.append(asyncio.create_task(run()))
            return status

        def ask(index: int) -> asyncio.Task[httpx.Response]:
            chat = {
                "model": "small-max",
                "messages": [{"role": "user", "content": f"Story {index}:"}],
                "max_tokens": 16,
            }
            task = asyncio.create_task(gateway.post("/v1/chat/completions", json=chat))
            tasks.append(task)
            return task

        try:
            for _ in range(2):
                assert await asyncio.wait_for(hold(), 120) == 200
            hold()
            await _until_max_has_pending(engine, metrics_url)
            answers = []
            for answered in asyncio.as_completed([ask(i) for i in range(250)], timeout=120):
                answers.append(await answered)
                if len(answers) == 20:
                    return answers
            raise AssertionError("unreachable: as_completed ends by timing out")
        finally:
            release.set()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)


async def _until_max_has_pending(engine: httpx.AsyncClient, metrics_url: str) -> None:
    """Wait until MAX's own gauge of pending (not yet running) requests reads 1 or more."""
    async with asyncio.timeout(120):
        while True:
            response = await engine.get(metrics_url)
            depth = parse_queue_depth("max", response.text)
            if depth is not None and depth >= 1:
                return
            await asyncio.sleep(0.2)
