"""Per-replica gauges read at scrape time from the replicas themselves (no copies to keep
in sync): requests the gateway has in flight to each engine, and the engine's own queue."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from api_server.engines.pool import EnginePool


class EngineGaugeCollector(Collector):
    def __init__(self, pools: Mapping[str, EnginePool]) -> None:
        self.pools = pools

    def collect(self) -> Iterable[Metric]:
        in_flight = GaugeMetricFamily(
            "inferstack_engine_requests_in_flight",
            "Requests the gateway has open to each engine replica",
            labels=["model", "engine"],
        )
        queued = GaugeMetricFamily(
            "inferstack_engine_queue_depth",
            "Requests waiting inside the engine for a slot (from its /metrics)",
            labels=["model", "engine"],
        )
        for model, pool in self.pools.items():
            for replica in pool.replicas:
                in_flight.add_metric([model, replica.label], replica.in_flight)
                if replica.queue_depth is not None:
                    queued.add_metric([model, replica.label], replica.queue_depth)
        yield in_flight
        yield queued
