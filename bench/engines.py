"""Real engines through the gateway: output tokens/s through it vs straight to the engine,
at the same concurrency, side by side in one run (llama.cpp, vLLM's CPU build, MAX Serve).

    .venv/bin/python -m bench.engines [--concurrency 32] [--rounds 3] [--max-tokens 64]
    .venv/bin/python -m bench.engines --gateway-url http://127.0.0.1:8000   # a running stack

Without --gateway-url it starts the native stack with vLLM and MAX (`make start
ENGINE="vllm max"`, in a state folder of its own, on free ports) and stops it at the end.
Each round sends the same `concurrency` prompts at once, DIRECT (the engine's
`/v1/completions` with exactly the body the gateway sends it for that chat: the raw ChatML
prompt, streamed, the engine's own fields) and THROUGH (the gateway's
`/v1/chat/completions`, answered as one JSON), alternating, so drift in the machine's speed
hits both.
At temperature 0 both ways generate the same tokens; the figure is completion tokens (the
engine's own count) over wall time. The report: bench/results/engines-<time>.json.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import cast

import httpx

from api_server.chat.sampling import SamplingParams
from api_server.engines.dialects import build_completion_body
from api_server.engines.types import CompletionRequest
from api_server.prompts.base import FormattedPrompt
from api_server.registry import EngineKind
from bench.agreement import ENGINE_MODELS, PROMPTS
from stackctl.api import NativeStack

RESULTS_DIR = Path(__file__).parent / "results"
SYSTEM = "You are a helpful assistant."
SERVED_NAME = "SmolLM2-135M-Instruct"
ENGINE_SERVICES = {"llamacpp": "engine", "vllm": "vllm", "max": "max"}
DEFAULT_ENGINE_URLS = {
    "llamacpp": "http://127.0.0.1:8080",
    "vllm": "http://127.0.0.1:8001",
    "max": "http://127.0.0.1:8002",
}


def chatml_prompt(user: str) -> str:
    """What the gateway sends the engine for [system, user] with SmolLM2's template."""
    return (
        f"<|im_start|>system\n{SYSTEM}<|im_end|>\n<|im_start|>user\n{user}<|im_end|>\n"
        "<|im_start|>assistant\n"
    )


@dataclass(frozen=True)
class Round:
    way: str  # direct | through
    tokens: int
    seconds: float

    @property
    def tokens_per_s(self) -> float:
        return self.tokens / self.seconds


@dataclass(frozen=True)
class EngineRow:
    engine: str
    concurrency: int
    direct_tokens_per_s: float
    through_tokens_per_s: float
    rounds: list[Round]

    @property
    def ratio(self) -> float:
        return self.through_tokens_per_s / self.direct_tokens_per_s


async def _round(
    client: httpx.AsyncClient, way: str, engine: str, url: str, prompts: list[str], max_tokens: int
) -> Round:
    async def direct(user: str) -> int:
        # Byte for byte the body the gateway sends this engine (streamed, llama.cpp's
        # prompt cache off at temperature 0, ...): the difference is the gateway alone.
        request = CompletionRequest(
            prompt=FormattedPrompt(
                chatml_prompt(user), starts_with_bos=False, stop=("<|im_end|>",)
            ),
            sampling=SamplingParams(max_tokens=max_tokens, temperature=0),
            request_id="bench",
        )
        kind = cast(EngineKind, engine)
        body = build_completion_body(kind, SERVED_NAME, request, engine_adds_bos=False)
        tokens = 0
        async with client.stream("POST", f"{url}/v1/completions", json=body) as response:
            response.raise_for_status()
            async for line in response.aiter_lines():
                if line.startswith("data:") and line[5:].strip() != "[DONE]":
                    usage = json.loads(line[5:]).get("usage")
                    tokens = int(usage["completion_tokens"]) if usage else tokens
        return tokens

    async def through(user: str) -> int:
        response = await client.post(
            f"{url}/v1/chat/completions",
            headers={"Cache-Control": "no-store"},
            json={
                "model": ENGINE_MODELS[engine],
                "messages": [
                    {"role": "system", "content": SYSTEM},
                    {"role": "user", "content": user},
                ],
                "max_tokens": max_tokens,
                "temperature": 0,
            },
        )
        response.raise_for_status()
        return int(response.json()["usage"]["completion_tokens"])

    send = direct if way == "direct" else through
    started = time.perf_counter()
    counts = await asyncio.gather(*(send(user) for user in prompts))
    return Round(way, sum(counts), time.perf_counter() - started)


async def measure_engine(
    engine: str,
    engine_url: str,
    gateway_url: str,
    *,
    concurrency: int,
    rounds: int,
    max_tokens: int,
) -> EngineRow:
    prompts = [PROMPTS[i % len(PROMPTS)] for i in range(concurrency)]
    limits = httpx.Limits(max_connections=concurrency * 2)
    async with httpx.AsyncClient(timeout=600, limits=limits) as client:
        # One round each way first, not counted: warm connections and engine caches alike.
        await _round(client, "direct", engine, engine_url, prompts, max_tokens)
        await _round(client, "through", engine, gateway_url, prompts, max_tokens)
        measured = []
        for _ in range(rounds):
            measured.append(await _round(client, "direct", engine, engine_url, prompts, max_tokens))
            measured.append(
                await _round(client, "through", engine, gateway_url, prompts, max_tokens)
            )
    by_way = {
        way: statistics.median(r.tokens_per_s for r in measured if r.way == way)
        for way in ("direct", "through")
    }
    return EngineRow(engine, concurrency, by_way["direct"], by_way["through"], measured)


@contextmanager
def _stack_or_running(args: argparse.Namespace) -> Iterator[tuple[str, dict[str, str]]]:
    if args.gateway_url:
        yield args.gateway_url, DEFAULT_ENGINE_URLS
        return
    with tempfile.TemporaryDirectory(prefix="bench-engines-") as folder:
        print('starting the native stack with vLLM and MAX (make start ENGINE="vllm max")')
        with NativeStack(Path(folder), free_ports=True, profiles=["vllm", "max"]) as stack:
            urls = {kind: stack.url(service) for kind, service in ENGINE_SERVICES.items()}
            yield stack.url("gateway").replace("localhost", "127.0.0.1"), urls


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.engines", description=__doc__)
    parser.add_argument("--gateway-url", help="a running gateway with all three engines")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument(
        "--engines", default="llamacpp,vllm,max", help="comma-separated: llamacpp,vllm,max"
    )
    args = parser.parse_args(argv)
    rows = []
    with _stack_or_running(args) as (gateway_url, engine_urls):
        print(f"{'engine':<9} {'conc':>4} {'direct tok/s':>12} {'through tok/s':>13} {'ratio':>6}")
        for engine in args.engines.split(","):
            row = asyncio.run(
                measure_engine(
                    engine,
                    engine_urls[engine],
                    gateway_url,
                    concurrency=args.concurrency,
                    rounds=args.rounds,
                    max_tokens=args.max_tokens,
                )
            )
            rows.append(row)
            print(
                f"{engine:<9} {row.concurrency:>4} {row.direct_tokens_per_s:>12.1f} "
                f"{row.through_tokens_per_s:>13.1f} {row.ratio:>6.1%}"
            )
    RESULTS_DIR.mkdir(exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    report = RESULTS_DIR / f"engines-{stamp}.json"
    report.write_text(
        json.dumps([{**asdict(row), "ratio": row.ratio} for row in rows], indent=2) + "\n"
    )
    print(f"report: {report}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
