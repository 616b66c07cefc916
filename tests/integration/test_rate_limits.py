"""Rate limits across gateway processes on the stack's real Redis: two gateways of our own
share one key's budget exactly; tokens are reconciled after each answer; with Redis gone,
requests pass."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis

from stackctl.api import NativeStack
from tests.integration.own_gateway import create_key, gateway_env, own_gateway
from tests.integration.services import free_port

pytestmark = pytest.mark.integration

CHAT = {
    "model": "fake-echo",
    "messages": [{"role": "user", "content": "hello there"}],
    "temperature": 0.7,  # not deterministic: the exact cache stays out of the way
}
HEADERS = ("x-ratelimit-limit-requests", "x-ratelimit-remaining-requests",
           "x-ratelimit-reset-requests")  # fmt: skip


@pytest.fixture(scope="module")
def env(
    native_stack: NativeStack, fake_engine_url: str, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, str]:
    """For the keys CLI: the stack's PostgreSQL."""
    return gateway_env(native_stack, fake_engine_url, tmp_path_factory.mktemp("rl-cli"))


@pytest.fixture(scope="module")
def two_gateways(
    native_stack: NativeStack, fake_engine_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[list[str]]:
    folders = [tmp_path_factory.mktemp(f"rl-gateway-{i}") for i in range(2)]
    # The counting is what is tested: a Redis answer slower than the default 0.5 s (a loaded
    # machine) would let a request through uncounted, by design (tested on its own below).
    envs = [
        gateway_env(native_stack, fake_engine_url, folder, INFERSTACK_RATELIMIT_TIMEOUT_S="30")
        for folder in folders
    ]
    with (
        own_gateway(envs[0], folders[0] / "gateway.log") as first,
        own_gateway(envs[1], folders[1] / "gateway.log") as second,
    ):
        yield [first, second]


async def _fire(urls: list[str], key: str, count: int) -> list[httpx.Response]:
    limits = httpx.Limits(max_connections=count)
    async with httpx.AsyncClient(timeout=30, limits=limits) as http:
        return await asyncio.gather(
            *(
                http.post(
                    f"{urls[i % len(urls)]}/v1/chat/completions",
                    json=CHAT,
                    headers={"Authorization": f"Bearer {key}"},
                )
                for i in range(count)
            )
        )


def test_two_gateways_let_exactly_60_of_100_concurrent_requests_through(
    two_gateways: list[str], env: dict[str, str]
) -> None:
    _, key = create_key(env, "--name", "rl-rpm", "--rpm", "60")
    responses = asyncio.run(_fire(two_gateways, key, 100))
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [200] * 60 + [429] * 40
    for response in responses:
        assert all(name in response.headers for name in HEADERS), response.headers
        assert response.headers["x-ratelimit-limit-requests"] == "60"
        if response.status_code == 429:
            assert response.json()["error"]["type"] == "rate_limit_error"
            assert 1 <= int(response.headers["Retry-After"]) <= 60
            assert response.headers["x-ratelimit-remaining-requests"] == "0"
    remaining = sorted(
        int(r.headers["x-ratelimit-remaining-requests"]) for r in responses if r.status_code == 200
    )
    assert remaining == list(range(60))  # each admission saw every other one, on both gateways


def until_charged(client: redis.Redis, caller: str, tokens: int) -> None:
    """Wait until the rate limiter's Redis holds `tokens` charged to `caller` this minute."""
    deadline = time.monotonic() + 30
    name = f"inferstack:rl:{{{caller}}}:tokens"
    while (charged := sum(int(n) for n in client.hvals(name))) < tokens:
        assert time.monotonic() < deadline, f"{charged} of {tokens} tokens charged after 30 s"
        time.sleep(0.01)


def test_tokens_per_minute_are_reconciled_after_each_answer(
    two_gateways: list[str], env: dict[str, str]
) -> None:
    key_id, key = create_key(env, "--name", "rl-tpm", "--tpm", "40")
    auth = {"Authorization": f"Bearer {key}"}
    charges = redis.Redis.from_url(env["INFERSTACK_REDIS_URL"])
    remaining, used = [], 0
    for attempt in range(20):
        url = two_gateways[attempt % 2]
        response = httpx.post(f"{url}/v1/chat/completions", json=CHAT, headers=auth, timeout=30)
        assert response.headers["x-ratelimit-limit-tokens"] == "40"
        remaining.append(int(response.headers["x-ratelimit-remaining-tokens"]))
        if response.status_code == 429:
            break
        assert response.status_code == 200
        used += response.json()["usage"]["total_tokens"]
        # The charge lands just after the answer (off the response path): the next request
        # must see it, or the test would measure the race rather than the count.
        until_charged(charges, f"key:{key_id}", used)
    assert response.status_code == 429, remaining
    assert used >= 40 and remaining[-1] == 0
    assert remaining == sorted(remaining, reverse=True) and remaining[0] == 40


def test_with_redis_down_requests_pass(
    native_stack: NativeStack, fake_engine_url: str, env: dict[str, str], tmp_path: Path
) -> None:
    _, key = create_key(env, "--name", "rl-down", "--rpm", "1")
    dead_redis = f"redis://127.0.0.1:{free_port()}/0"
    down_env = gateway_env(native_stack, fake_engine_url, tmp_path, INFERSTACK_REDIS_URL=dead_redis)
    with own_gateway(down_env, tmp_path / "gateway.log") as url:
        responses = asyncio.run(_fire([url], key, 5))
        assert [response.status_code for response in responses] == [200] * 5
        metrics = httpx.get(f"{url}/metrics").text
    counter = 'inferstack_ratelimit_errors_total{operation="admit"}'
    errors = [line for line in metrics.splitlines() if line.startswith(counter)]
    assert errors and float(errors[0].split()[-1]) == 5
