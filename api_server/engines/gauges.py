"""Per-replica gauges read from the replicas themselves (no copies to keep in sync):
requests the gateway has in flight to each engine, and the engine's own queue."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from prometheus_client import Gauge

from api_server.engines.pool import EnginePool


def engine_gauge_sampler(
    in_flight: Gauge,
    queue_depth: Gauge,
    pools: Mapping[str, EnginePool],
    *,
    removable: bool = True,
) -> Callable[[], None]:
    """A sampler (metrics.Samplers) setting both gauges for every replica; a replica whose
    queue is unknown (its metrics unreadable) has no queue series, except with workers
    (`removable` False: prometheus_client cannot remove a series from the shared files), where
    the last reading stays."""

    def sample() -> None:
        for model, pool in pools.items():
            for replica in pool.replicas:
                in_flight.labels(model, replica.label).set(replica.in_flight)
                if replica.queue_depth is not None:
                    queue_depth.labels(model, replica.label).set(replica.queue_depth)
                elif removable:
                    queue_depth.remove(model, replica.label)

    return sample
