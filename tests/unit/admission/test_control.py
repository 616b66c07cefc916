"""What the front doors call: a slot for a queued model (none for the others), given back
at the request's end with the tokens its engine served, never a cache hit's."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry

from api_server.admission.control import (
    ANONYMOUS_TENANT,
    AdmissionControl,
    release_when_finished,
    served_tokens,
)
from api_server.admission.metrics import AdmissionMetrics
from api_server.admission.queue import FairQueue
from api_server.admission.usage import ServiceCounters
from api_server.logs.record import RequestLogRecord


def queue(slots: int) -> FairQueue:
    return FairQueue(
        "m",
        lambda admitted: slots - admitted,
        max_depth=4,
        max_wait_s=60,
        usage=ServiceCounters(60, lambda: 0.0),
        observer=AdmissionMetrics(CollectorRegistry()),
        recheck_s=60,
    )


def record(
    prompt: int | None, completion: int | None, cache: str | None = None
) -> RequestLogRecord:
    row = RequestLogRecord.__new__(RequestLogRecord)
    row.prompt_tokens, row.completion_tokens, row.cache_outcome = prompt, completion, cache
    return row


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        (record(7, 3), 10),
        (record(7, 3, "miss"), 10),
        (record(7, 3, "bypass"), 10),
        (record(None, None), 0),  # refused or failed before the engine counted anything
        (record(7, 3, "hit_exact"), 0),  # the engine did no work
        (record(7, 3, "hit_semantic"), 0),
    ],
)
def test_served_tokens(row: RequestLogRecord, expected: int) -> None:
    assert served_tokens(row) == expected


async def test_a_queued_models_slot_is_released_at_the_end_with_its_tokens() -> None:
    control = AdmissionControl({"m": queue(1)})
    assert control.queues_model("m") and not control.queues_model("other")
    slot = await control.admit("m", "key:1", "normal")
    assert slot is not None and control.queues["m"].admitted == 1
    finished = release_when_finished(slot)
    finished(record(7, 3))
    finished(record(7, 3))  # a stream and its caller may both report the end
    assert control.queues["m"].admitted == 0
    assert control.queues["m"].usage.of("key:1") == 10


async def test_anonymous_callers_share_one_tenant_and_other_models_have_no_slot() -> None:
    control = AdmissionControl({"m": queue(2)})
    slot = await control.admit("m", None, "low")
    assert slot is not None and slot.tenant == ANONYMOUS_TENANT
    assert await control.admit("hosted", "key:1", "normal") is None
    slot.release()


async def test_recheck_lets_in_whoever_has_room() -> None:
    control = AdmissionControl({"m": queue(1)})
    control.recheck()  # nobody waits: nothing to do
    assert control.queues["m"].admitted == 0
