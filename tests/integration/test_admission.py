"""The admission queue in a gateway process of its own, through the official OpenAI SDK: a
model with one slot (the fake engine's slow replies), a heavy tenant's requests queued
behind its own, and a light tenant's request that overtakes them; nothing is lost. No
PostgreSQL or Redis: two static API keys make the two tenants."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import httpx
import openai
import pytest
import yaml
from openai.types.chat import ChatCompletionMessageParam

from api_server.auth.keys import generate_key, hash_key
from tests.integration.own_gateway import own_gateway

pytestmark = pytest.mark.integration

MODEL = "one-slot-slow"
HELLO: list[ChatCompletionMessageParam] = [{"role": "user", "content": "hello there"}]
WAITING = f'inferstack_queue_depth{{model="{MODEL}",priority="normal"}}'


@pytest.fixture(scope="module")
def keys() -> dict[str, str]:
    return {"heavy": generate_key(), "light": generate_key()}


@pytest.fixture(scope="module")
def gateway(
    fake_engine_url: str, keys: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("admission")
    models = {
        "default_model": MODEL,
        "models": [
            {
                "name": MODEL,
                "prompt_family": "chatml",
                "engine": {
                    "kind": "llamacpp",
                    "served_name": "fake-slow-500",  # six tokens, 500 ms apart: 3 s in service
                    "urls": [fake_engine_url],
                    "slots_per_replica": 1,
                },
                "context_length": 8192,
                "max_tokens": {"default": 16, "limit": 64},
            }
        ],
    }
    (folder / "models.yaml").write_text(yaml.safe_dump(models))
    entries = [{"hash": f"sha256:{hash_key(key)}", "name": name} for name, key in keys.items()]
    env = {
        "INFERSTACK_MODELS_FILE": str(folder / "models.yaml"),
        "INFERSTACK_AUTH_MODE": "api_key",
        "INFERSTACK_STATIC_API_KEYS": json.dumps(entries),
        "INFERSTACK_REQUEST_LOG_SPOOL_DIR": str(folder / "spool"),
        "INFERSTACK_CACHE_ENABLED": "false",
        "INFERSTACK_ADMISSION_QUEUE_MAX_WAIT_S": "60",
        "INFERSTACK_REQUEST_TIMEOUT_S": "120",
    }
    with own_gateway(env, folder / "gateway.log") as url:
        yield url


def waiting(gateway: str) -> float:
    metrics = httpx.get(f"{gateway}/metrics", timeout=10).text
    line = next((line for line in metrics.splitlines() if line.startswith(WAITING)), None)
    return float(line.split()[-1]) if line else 0.0


async def until_waiting(gateway: str, count: int) -> None:
    """Until `count` requests wait in the gateway's queue (polled from its /metrics)."""
    for _ in range(600):  # the requests' own tasks getting there: a condition, not a timing
        if await asyncio.to_thread(waiting, gateway) >= count:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{count} queued requests expected")


async def overtaking(gateway: str, keys: dict[str, str]) -> tuple[list[str], list[str]]:
    """Three heavy requests (one served, two queued), then a light one: the order the four
    answers came in, and their texts."""
    order: list[str] = []
    texts: list[str] = []
    clients = {
        name: openai.AsyncOpenAI(base_url=f"{gateway}/v1", api_key=key, max_retries=0)
        for name, key in keys.items()
    }

    async def ask(name: str) -> None:
        reply = await clients[name].chat.completions.create(
            model=MODEL,
            messages=HELLO,
            max_tokens=16,
        )
        order.append(name)
        texts.append(reply.choices[0].message.content or "")

    try:
        heavy = [asyncio.create_task(ask("heavy")) for _ in range(3)]
        await until_waiting(gateway, 2)  # one in service, two behind it
        light = asyncio.create_task(ask("light"))
        await until_waiting(gateway, 3)
        await asyncio.gather(*heavy, light)
    finally:
        for client in clients.values():
            await client.close()
    return order, texts


def test_a_light_tenant_overtakes_a_heavy_tenants_queue_and_nothing_is_lost(
    gateway: str, keys: dict[str, str]
) -> None:
    order, texts = asyncio.run(overtaking(gateway, keys))
    # One slot: the heavy request in service ends first, then the light one goes before the
    # heavy tenant's two queued ones (which came earlier, but it was served fewer tokens).
    assert order == ["heavy", "light", "heavy", "heavy"]
    assert texts == ["Hello from the fake engine."] * 4
    metrics = httpx.get(f"{gateway}/metrics", timeout=10).text
    assert f'inferstack_queue_wait_seconds_count{{model="{MODEL}",priority="normal"}} 4.0' in (
        metrics
    )
    assert "inferstack_queue_rejections_total{" not in metrics  # nobody refused or gone
    assert waiting(gateway) == 0
