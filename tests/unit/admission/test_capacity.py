"""Free slots from the replicas' loads: slots less the gateway's requests on them, busy
replicas closed, requests on their way counted, the model's cap, and the one request that
may always go when none of ours is in service."""

from __future__ import annotations

import pytest

from api_server.admission.capacity import ReplicaLoad, free_slots


def load(in_flight: int, slots: int | None, busy: bool = False) -> ReplicaLoad:
    return ReplicaLoad(in_flight, slots, busy)


@pytest.mark.parametrize(
    ("loads", "admitted", "cap", "expected"),
    [
        # Slots unknown and nothing says busy: no limit (a model with no signal never queues).
        ([load(0, None)], 0, None, None),
        ([load(5, None), load(3, None)], 8, None, None),
        # Known slots: what the replicas have spare.
        ([load(2, 4)], 2, None, 2),
        ([load(4, 4), load(1, 4)], 5, None, 3),
        ([load(4, 4)], 4, None, 0),
        # Admitted, not yet on a replica (between admission and the engine call).
        ([load(1, 4)], 3, None, 1),
        # A busy replica (engine queueing or 429) takes nothing more; the others still do.
        ([load(1, 4, busy=True), load(1, 4)], 2, None, 3),
        ([load(0, None, busy=True), load(1, 2)], 1, None, 1),
        # An unknown but open replica next to a busy one: no limit.
        ([load(3, 4, busy=True), load(0, None)], 3, None, None),
        # Every replica busy: nothing more while ours are in service...
        ([load(2, 4, busy=True)], 2, None, 0),
        ([load(2, None, busy=True)], 2, None, 0),
        # ...but one may go when none is, so a stale reading cannot stall the queue.
        ([load(0, 4, busy=True)], 0, None, 1),
        ([load(0, None, busy=True)], 0, None, 1),
        # max_concurrency caps the whole model in this process.
        ([load(0, None)], 3, 4, 1),
        ([load(0, None)], 4, 4, 0),
        ([load(1, 8)], 1, 2, 1),
        ([load(0, 8)], 0, 2, 2),
    ],
)
def test_free_slots(
    loads: list[ReplicaLoad], admitted: int, cap: int | None, expected: int | None
) -> None:
    assert free_slots(loads, admitted, cap) == expected
