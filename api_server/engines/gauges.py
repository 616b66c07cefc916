"""Per-replica gauges read from the replicas themselves (no copies to keep in sync):
requests the gateway has in flight to each engine, the engine's own queue, and the
replica's circuit breaker."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

from prometheus_client import Gauge

from api_server.engines.breaker import BREAKER_STATE_VALUES
from api_server.engines.pool import EnginePool


def engine_gauge_sampler(
    in_flight: Gauge,
    queue_depth: Gauge,
    breaker_state: Gauge,
    pools: Mapping[str, EnginePool],
    *,
    removable: bool = True,
) -> Callable[[], None]:
    """A sampler (metrics.Samplers) setting the gauges for every replica; a replica whose
    queue is unknown (its metrics unreadable) has no queue series, except with workers
    (`removable` False: prometheus_client cannot remove a series from the shared files), where
    the last reading stays."""

    def sample() -> None:
        now = time.monotonic()
        for model, pool in pools.items():
            for replica, breaker in zip(pool.replicas, pool.breakers, strict=True):
                in_flight.labels(model, replica.label).set(replica.in_flight)
                state = BREAKER_STATE_VALUES[breaker.state(now)]
                breaker_state.labels(model, replica.label).set(state)
                if replica.queue_depth is not None:
                    queue_depth.labels(model, replica.label).set(replica.queue_depth)
                elif removable:
                    queue_depth.remove(model, replica.label)

    return sample
