"""A closed-loop HTTP load generator: N workers, each sending its next request when the last
one finishes, for a fixed time, over keep-alive connections (aiohttp).

aiohttp rather than httpx because it costs several times less CPU per request, which matters
when the client, the gateway and the engine share two cores; ``client_cpu_util`` in the
result tells whether the client itself was the bottleneck (near 1.0 means it was).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import orjson

JSON_HEADERS = {"content-type": "application/json"}


@dataclass(frozen=True)
class Target:
    """One endpoint and the exact request body sent to it."""

    name: str
    url: str
    body: dict[str, Any]

    @property
    def stream(self) -> bool:
        return bool(self.body.get("stream"))


@dataclass
class LoadResult:
    """What one closed-loop run measured (only requests started after the warm-up)."""

    requests: int = 0
    errors: int = 0
    elapsed_s: float = 0.0
    latencies_s: list[float] = field(default_factory=list)
    ttfts_s: list[float] = field(default_factory=list)
    usage: dict[str, float] = field(default_factory=dict)
    first_error: str | None = None

    def error(self, message: str) -> None:
        self.errors += 1
        if self.first_error is None:
            self.first_error = message


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile, ``q`` in [0, 100]; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def _first_text(event: dict[str, Any]) -> str:
    """The text of a completions chunk or a chat.completion.chunk; '' when none."""
    choices = event.get("choices") or []
    if not choices:
        return ""
    choice = choices[0]
    if "text" in choice:
        return str(choice["text"] or "")
    return str((choice.get("delta") or {}).get("content") or "")


async def read_stream(response: aiohttp.ClientResponse, start: float) -> float | None:
    """Read an SSE stream to ``[DONE]``; the time to its first text (None: none came).

    Raises ValueError when the stream carries an error event or ends without ``[DONE]``.
    """
    ttft: float | None = None
    async for line in response.content:
        if not line.startswith(b"data: "):
            continue
        data = line[6:].strip()
        if data == b"[DONE]":
            return ttft
        if ttft is None or b'"error"' in data:
            event = orjson.loads(data)
            if "error" in event:
                raise ValueError(f"error event: {data[:200]!r}")
            if ttft is None and _first_text(event):
                ttft = time.perf_counter() - start
    raise ValueError("stream ended without [DONE]")


async def send_one(session: aiohttp.ClientSession, target: Target, payload: bytes) -> float | None:
    """One request, read to the end; its TTFT when streaming. Raises on any failure."""
    start = time.perf_counter()
    async with session.post(target.url, data=payload, headers=JSON_HEADERS) as response:
        if response.status != 200:
            body = await response.read()
            raise ValueError(f"HTTP {response.status}: {body[:200]!r}")
        if target.stream:
            return await read_stream(response, start)
        await response.read()
        return None


async def _worker(
    session: aiohttp.ClientSession,
    target: Target,
    payload: bytes,
    measure_from: float,
    deadline: float,
    result: LoadResult,
) -> None:
    while (start := time.perf_counter()) < deadline:
        measured = start >= measure_from
        try:
            ttft = await send_one(session, target, payload)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            if measured:
                result.error(f"{type(exc).__name__}: {exc}")
            continue
        if measured:
            result.requests += 1
            result.latencies_s.append(time.perf_counter() - start)
            if ttft is not None:
                result.ttfts_s.append(ttft)


Sampler = Callable[[], dict[str, float]]


async def run_load(
    target: Target,
    concurrency: int,
    duration_s: float,
    warmup_s: float = 0.5,
    sample: Sampler | None = None,
) -> LoadResult:
    """Keep ``concurrency`` requests in flight for ``warmup_s + duration_s`` seconds.

    ``sample`` (counters such as a server's CPU seconds) is read when measuring starts and
    when the last request ends; ``LoadResult.usage`` holds the differences.
    """
    result = LoadResult()
    payload = orjson.dumps(target.body)
    before: dict[str, float] = {}

    def read_counters() -> dict[str, float]:
        return {**(sample() if sample else {}), "client_cpu_s": time.process_time()}

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(
        connector=connector,
        timeout=aiohttp.ClientTimeout(total=120),
        cookie_jar=aiohttp.DummyCookieJar(),
        auto_decompress=False,
    ) as session:
        measure_from = time.perf_counter() + warmup_s
        deadline = measure_from + duration_s
        asyncio.get_running_loop().call_later(warmup_s, lambda: before.update(read_counters()))
        workers = [
            _worker(session, target, payload, measure_from, deadline, result)
            for _ in range(concurrency)
        ]
        await asyncio.gather(*workers)
        result.elapsed_s = time.perf_counter() - measure_from
        after = read_counters()
    result.usage = {key: after[key] - before.get(key, after[key]) for key in after}
    return result
