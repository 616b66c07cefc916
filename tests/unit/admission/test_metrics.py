"""The queues' metrics: depth per model and class at each scrape, waits, refusals."""

from __future__ import annotations

import asyncio

from prometheus_client import CollectorRegistry

from api_server.admission.metrics import AdmissionMetrics
from api_server.admission.queue import FairQueue
from api_server.admission.usage import ServiceCounters


async def test_depth_is_sampled_per_model_and_class() -> None:
    registry = CollectorRegistry()
    metrics = AdmissionMetrics(registry)
    queue = FairQueue(
        "m",
        lambda admitted: 0,
        max_depth=4,
        max_wait_s=60,
        usage=ServiceCounters(60, lambda: 0.0),
        observer=metrics,
        recheck_s=60,
    )
    sample = metrics.depth_sampler({"m": queue})
    sample()
    depth = "inferstack_queue_depth"
    for priority in ("high", "normal", "low"):  # every class has a reading, 0 included
        assert registry.get_sample_value(depth, {"model": "m", "priority": priority}) == 0
    waiting = asyncio.create_task(queue.acquire("a", "low"))
    await asyncio.sleep(0)  # one turn of the loop: the task is in the queue
    assert len(queue.waiting) == 1
    sample()
    assert registry.get_sample_value(depth, {"model": "m", "priority": "low"}) == 1
    waiting.cancel()
    await asyncio.gather(waiting, return_exceptions=True)
    sample()
    assert registry.get_sample_value(depth, {"model": "m", "priority": "low"}) == 0
    gone = {"model": "m", "priority": "low", "reason": "client_gone"}
    assert registry.get_sample_value("inferstack_queue_rejections_total", gone) == 1


def test_waits_are_observed_per_class() -> None:
    registry = CollectorRegistry()
    metrics = AdmissionMetrics(registry)
    metrics.waited("m", "high", 0.3)
    labels = {"model": "m", "priority": "high"}
    assert registry.get_sample_value("inferstack_queue_wait_seconds_sum", labels) == 0.3
    assert registry.get_sample_value("inferstack_queue_wait_seconds_count", labels) == 1
