"""The admission queues' view of the engines: each replica's load from what the gateway
knows of it (`EngineReplica`), and the queues built for the registry's local models.

A replica's slots: the registry's `engine.slots_per_replica`, else what the engine said
(llama.cpp's total_slots), else the settings' `admission_replica_slots`; with several
workers, each counts its share of them. Busy: requests
wait inside the engine (its queue gauge, read at each health probe) or it answered 429
lately. Hosted upstreams get no queue: their limits are theirs to enforce.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from api_server.admission.capacity import ReplicaLoad, free_slots
from api_server.admission.control import AdmissionControl
from api_server.admission.metrics import AdmissionMetrics
from api_server.admission.queue import FairQueue, FreeSlots
from api_server.admission.usage import ServiceCounters
from api_server.config import Settings
from api_server.engines.client import EngineReplica
from api_server.engines.pool import EnginePool
from api_server.registry import ModelSpec


def replica_load(replica: EngineReplica, slots: int | None, now: float) -> ReplicaLoad:
    """`slots`: the configured count, which wins over the engine's own."""
    return ReplicaLoad(
        in_flight=replica.in_flight,
        slots=slots if slots is not None else replica.slots,
        busy=(replica.queue_depth or 0) > 0 or replica.overloaded_until > now,
    )


def pool_free_slots(
    spec: ModelSpec,
    pool: EnginePool,
    default_slots: int | None,
    clock: Callable[[], float] = time.monotonic,
    processes: int = 1,
) -> FreeSlots:
    """`processes`: the gateway's workers, each of which counts its share of every
    replica's slots (at least one), so that together they do not overfill a replica and
    leave its queueing to the engine's first come, first served."""
    configured = spec.engine.slots_per_replica

    def free(admitted: int) -> int | None:
        now = clock()
        loads = []
        for replica in pool.replicas:
            load = replica_load(replica, configured, now)
            slots = load.slots if load.slots is not None else default_slots
            if slots is not None:
                load = ReplicaLoad(load.in_flight, max(1, slots // processes), load.busy)
            loads.append(load)
        return free_slots(loads, admitted, spec.max_concurrency)

    return free


def build_admission_control(
    settings: Settings,
    models: Iterable[tuple[ModelSpec, EnginePool]],
    metrics: AdmissionMetrics,
    clock: Callable[[], float] = time.monotonic,
) -> AdmissionControl | None:
    """One queue per local model; None with the queue turned off."""
    if not settings.admission_queue_enabled:
        return None
    queues = {
        spec.name: FairQueue(
            spec.name,
            pool_free_slots(
                spec, pool, settings.admission_replica_slots, clock, processes=settings.workers
            ),
            max_depth=settings.admission_queue_max_depth,
            max_wait_s=settings.admission_queue_max_wait_s,
            usage=ServiceCounters(settings.admission_fairness_window_s, clock),
            observer=metrics,
            recheck_s=settings.admission_recheck_s,
            reserved=settings.admission_reserved_slots,
            clock=clock,
        )
        for spec, pool in models
        if not spec.engine.is_upstream
    }
    return AdmissionControl(queues)
