"""The queues' view of real engine replicas: slots (configured, learnt, the settings'),
busy from the engine's queue or a recent 429, and one queue per local model."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from prometheus_client import CollectorRegistry

from api_server.admission.capacity import ReplicaLoad
from api_server.admission.engine_load import (
    build_admission_control,
    pool_free_slots,
    replica_load,
)
from api_server.admission.metrics import AdmissionMetrics
from api_server.config import Settings
from api_server.engines.pool import EnginePool
from api_server.registry import ModelSpec


def spec(name: str = "m", kind: str = "vllm", replicas: int = 1, **fields: Any) -> ModelSpec:
    engine = {
        "kind": kind,
        "served_name": name,
        "urls": [f"http://replica-{i}:1" for i in range(replicas)],
        **fields.pop("engine", {}),
    }
    return ModelSpec.model_validate(
        {
            "name": name,
            "prompt_family": None if kind in ("openai", "anthropic") else "chatml",
            "engine": engine,
            "context_length": 100,
            "max_tokens": {"default": 1, "limit": 2},
            **fields,
        }
    )


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def test_a_replicas_load(http: aiohttp.ClientSession) -> None:
    (replica,) = EnginePool(spec(kind="llamacpp"), http).replicas
    replica.in_flight, replica.slots = 3, 4
    assert replica_load(replica, None, now=100.0) == ReplicaLoad(3, 4, busy=False)
    assert replica_load(replica, 8, now=100.0).slots == 8  # the registry's number wins
    replica.queue_depth = 0
    assert not replica_load(replica, None, now=100.0).busy
    replica.queue_depth = 2  # requests waiting inside the engine
    assert replica_load(replica, None, now=100.0).busy
    replica.queue_depth = None
    replica.overloaded_until = 105.0  # it answered 429 lately
    assert replica_load(replica, None, now=100.0).busy
    assert not replica_load(replica, None, now=105.0).busy


async def test_slots_come_from_the_registry_then_the_engine_then_the_settings(
    http: aiohttp.ClientSession,
) -> None:
    learnt = EnginePool(spec(kind="llamacpp", replicas=2), http)
    for replica in learnt.replicas:
        replica.slots = 2
    assert pool_free_slots(spec(kind="llamacpp"), learnt, default_slots=8)(0) == 4
    configured = spec(kind="llamacpp", engine={"slots_per_replica": 3})
    assert pool_free_slots(configured, learnt, default_slots=8)(0) == 6
    silent = EnginePool(spec(replicas=2), http)  # vLLM: it does not say
    assert pool_free_slots(spec(), silent, default_slots=8)(0) == 16
    assert pool_free_slots(spec(), silent, default_slots=None)(0) is None
    # Two workers: each its share of every replica's slots, at least one.
    assert pool_free_slots(spec(kind="llamacpp"), learnt, default_slots=8, processes=2)(0) == 2
    assert pool_free_slots(spec(), silent, default_slots=1, processes=2)(0) == 2


async def test_max_concurrency_caps_the_model(http: aiohttp.ClientSession) -> None:
    capped = spec(max_concurrency=2)
    free = pool_free_slots(capped, EnginePool(capped, http), default_slots=None)
    assert [free(admitted) for admitted in range(3)] == [2, 1, 0]


async def test_an_engines_signal_is_read_at_each_look(http: aiohttp.ClientSession) -> None:
    pool = EnginePool(spec(), http)
    clock = [100.0]
    free = pool_free_slots(spec(), pool, default_slots=None, clock=lambda: clock[0])
    (replica,) = pool.replicas
    replica.in_flight = 1
    assert free(1) is None
    replica.overloaded_until = 102.0
    assert free(1) == 0
    clock[0] = 103.0
    assert free(1) is None


async def test_every_local_model_gets_a_queue_with_the_settings(
    http: aiohttp.ClientSession,
) -> None:
    settings = Settings(
        admission_queue_max_depth=7,
        admission_queue_max_wait_s=3,
        admission_fairness_window_s=30,
        admission_recheck_s=0.5,
    )
    local, hosted = spec("local"), spec("hosted", kind="openai")
    models = [(local, EnginePool(local, http)), (hosted, EnginePool(hosted, http))]
    control = build_admission_control(settings, models, AdmissionMetrics(CollectorRegistry()))
    assert control is not None and list(control.queues) == ["local"]
    queue = control.queues["local"]
    assert (queue.max_depth, queue.max_wait_s, queue.usage.forget_after_s) == (7, 3, 30)
    off = Settings(admission_queue_enabled=False)
    assert build_admission_control(off, models, AdmissionMetrics(CollectorRegistry())) is None
