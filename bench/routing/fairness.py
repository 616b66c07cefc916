"""(c) Fairness: with auth on, a light key's requests alone, then beside a heavy key keeping
`heavy_factor` times as many requests in flight, more than the replicas have slots (a
saturated model). Measured: the light key's p99 time to first token beside the heavy key over
its p99 alone, and the requests of either that failed (none may be lost)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass

from bench.agreement import PROMPTS
from bench.loadgen import percentile
from bench.routing.stack import MODEL
from bench.streams import StreamOutcome, TextChunkCount, gateway_client, stream_chat
from stackctl.paths import REPO_ROOT


def create_key(env: Mapping[str, str], name: str) -> str:
    """A new API key, made with the `keys` CLI against the stack's PostgreSQL."""
    done = subprocess.run(
        [sys.executable, "-m", "api_server", "keys", "create", "--name", name],
        cwd=REPO_ROOT, env={**os.environ, **env}, capture_output=True, text=True, check=True,
        timeout=60,
    )  # fmt: skip
    for line in done.stdout.splitlines():
        if line.startswith("key:"):
            return line.split(":", 1)[1].strip()
    raise RuntimeError(f"`keys create` printed no key: {done.stdout!r}")


@dataclass
class FairnessResult:
    light_concurrency: int
    heavy_concurrency: int
    max_tokens: int
    light_requests: int  # per run, alone and beside the heavy key alike
    heavy_requests: int  # over every run beside the light key
    light_solo_ttft_p50_s: float | None
    light_solo_ttft_p99_s: float | None
    light_mixed_ttft_p50_s: float | None
    light_mixed_ttft_p99_s: float | None
    light_failed: int
    heavy_failed: int
    errors: list[str]
    rounds: list[dict[str, float | int | None]]

    @property
    def p99_ratio(self) -> float | None:
        if self.light_solo_ttft_p99_s is None or self.light_mixed_ttft_p99_s is None:
            return None
        return self.light_mixed_ttft_p99_s / self.light_solo_ttft_p99_s

    def row(self) -> dict[str, object]:
        return {
            "light p99 alone s": self.light_solo_ttft_p99_s,
            "beside heavy s": self.light_mixed_ttft_p99_s,
            "ratio": self.p99_ratio,
            "heavy requests": self.heavy_requests,
            "light lost": self.light_failed,
            "heavy lost": self.heavy_failed,
        }


class _Sender:
    """One key's closed loop: `concurrency` workers, each sending its next chat when the last
    one ends."""

    def __init__(self, gateway_url: str, key: str, max_tokens: int) -> None:
        self.client = gateway_client(gateway_url, key)
        self.max_tokens = max_tokens
        self.outcomes: list[StreamOutcome] = []
        self.chunks = TextChunkCount(1)  # `reached` at the first text (or failure)

    async def _one(self, number: int) -> None:
        question = PROMPTS[number % len(PROMPTS)]
        outcome = await stream_chat(
            self.client,
            MODEL,
            [{"role": "user", "content": question}],
            max_tokens=self.max_tokens,
            on_text=self.chunks,
        )
        self.outcomes.append(outcome)
        if outcome.error:  # the first text may never come: whoever waits for it goes on
            self.chunks.reached.set()

    async def send(self, requests: int, concurrency: int) -> None:
        """Exactly `requests` chats."""
        numbers = iter(range(requests))

        async def worker() -> None:
            for number in numbers:
                await self._one(number)

        await asyncio.gather(*(worker() for _ in range(concurrency)))

    async def send_until(self, stop: asyncio.Event, concurrency: int) -> None:
        """Chats until `stop` is set; those under way then are finished."""
        counter = iter(range(sys.maxsize))

        async def worker() -> None:
            while not stop.is_set():
                await self._one(next(counter))

        await asyncio.gather(*(worker() for _ in range(concurrency)))


def _ttfts(outcomes: list[StreamOutcome]) -> list[float]:
    return [o.ttft_s for o in outcomes if o.ttft_s is not None]


async def measure_fairness(
    gateway_url: str,
    light_key: str,
    heavy_key: str,
    *,
    rounds: int,
    light_requests: int,
    light_concurrency: int,
    heavy_factor: int,
    max_tokens: int,
) -> FairnessResult:
    """Each round: the light key alone, then beside the heavy key (the heavy key first, until
    its first text: the model is saturated when the light key starts)."""
    heavy_concurrency = light_concurrency * heavy_factor
    solo, mixed, heavy = [], [], []
    # p99 of a few dozen requests is their slowest: one stall of a shared machine moves it,
    # so each round's figures are kept too.
    per_round: list[dict[str, float | int | None]] = []
    for round_number in range(rounds):
        alone = _Sender(gateway_url, light_key, max_tokens)
        await alone.send(light_requests, light_concurrency)
        solo += alone.outcomes

        light = _Sender(gateway_url, light_key, max_tokens)
        loaded = _Sender(gateway_url, heavy_key, max_tokens)
        stop = asyncio.Event()
        heavy_load = asyncio.create_task(loaded.send_until(stop, heavy_concurrency))
        await loaded.chunks.reached.wait()
        await light.send(light_requests, light_concurrency)
        stop.set()
        await heavy_load
        mixed += light.outcomes
        heavy += loaded.outcomes
        for sender in (alone, light, loaded):
            await sender.client.close()
        per_round.append(
            {
                "light_solo_ttft_p99_s": percentile(_ttfts(alone.outcomes), 99),
                "light_mixed_ttft_p99_s": percentile(_ttfts(light.outcomes), 99),
                "heavy_requests": len(loaded.outcomes),
            }
        )
        print(f"  round {round_number + 1}: {per_round[-1]}")
    failed = [o for o in (*solo, *mixed, *heavy) if not o.ended_well]
    return FairnessResult(
        light_concurrency=light_concurrency,
        heavy_concurrency=heavy_concurrency,
        max_tokens=max_tokens,
        light_requests=light_requests,
        heavy_requests=len(heavy),
        light_solo_ttft_p50_s=percentile(_ttfts(solo), 50),
        light_solo_ttft_p99_s=percentile(_ttfts(solo), 99),
        light_mixed_ttft_p50_s=percentile(_ttfts(mixed), 50),
        light_mixed_ttft_p99_s=percentile(_ttfts(mixed), 99),
        light_failed=sum(not o.ended_well for o in (*solo, *mixed)),
        heavy_failed=sum(not o.ended_well for o in heavy),
        errors=sorted({o.error or "no finish_reason" for o in failed})[:5],
        rounds=per_round,
    )
