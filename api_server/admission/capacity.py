"""When a model is saturated, from its replicas' own signals: how many more requests may go
to its engines now. Pure: the replicas' state comes in as `ReplicaLoad`s.

A replica has room while the gateway's requests on it are fewer than its slots (llama.cpp's
`total_slots`, learned from the engine; for vLLM and MAX a configured number) and the engine
itself queues nothing and has not just answered 429. A replica whose slots are unknown and
that shows no sign of saturation takes any number: a model with no signal never queues.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ReplicaLoad:
    in_flight: int  # the gateway's requests on it now (this process's leases)
    slots: int | None  # how many it serves at once; None: unknown
    busy: bool  # the engine says so: requests waiting inside it, or a recent 429


def free_slots(loads: Sequence[ReplicaLoad], admitted: int, cap: int | None) -> int | None:
    """How many more requests may be let in now; None: no limit known.

    `admitted`: requests the queue let in that have not ended, some of them not yet on a
    replica (between admission and the engine call): those count against the free slots
    too. `cap`: the model's max_concurrency in this process. Where every replica is busy
    and none of ours is in service, one request may go anyway: its end wakes the queue, so
    a stale engine reading can never stall it.
    """
    open_loads = [load for load in loads if not load.busy]
    room: int | None = None
    if all(load.slots is not None for load in open_loads):
        on_the_way = max(admitted - sum(load.in_flight for load in loads), 0)
        spare = sum(max((load.slots or 0) - load.in_flight, 0) for load in open_loads)
        room = max(spare - on_the_way, 0)
    if cap is not None:
        room = max(cap - admitted, 0) if room is None else min(room, max(cap - admitted, 0))
    if room == 0 and admitted == 0 and (cap is None or cap > 0):
        return 1
    return room
