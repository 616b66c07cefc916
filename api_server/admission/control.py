"""Every local model's admission queue in this gateway process, and what a front door does
with a request's slot: take it once the request is authorized and within its rate limits,
give it back when the request ends (a stream's last byte included), charging its tenant the
tokens it was served."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from api_server.admission.queue import FairQueue, Slot
from api_server.logs.record import RequestLogRecord
from api_server.priority_classes import PriorityClass

ANONYMOUS_TENANT = "anonymous"  # callers without a tenant share one (never "key:…", "jwt:…")


class AdmissionControl:
    def __init__(self, queues: Mapping[str, FairQueue]) -> None:
        self.queues = dict(queues)  # by model name; models absent here never queue

    def queues_model(self, model: str) -> bool:
        return model in self.queues

    async def admit(
        self,
        model: str,
        tenant: str | None,
        priority: PriorityClass,
        deadline_at: float | None = None,
    ) -> Slot | None:
        """The request's slot (None: its model has no queue); 429 queue_full or 503
        queue_timeout when it cannot have one."""
        queue = self.queues.get(model)
        if queue is None:
            return None
        return await queue.acquire(tenant or ANONYMOUS_TENANT, priority, deadline_at)

    def recheck(self) -> None:
        """The engines' signals changed (a health probe): let in whoever now has room."""
        for queue in self.queues.values():
            queue.dispatch()


def served_tokens(record: RequestLogRecord) -> int:
    """The tokens a request cost its model's engines: none for an answer from the cache."""
    if record.cache_outcome is not None and record.cache_outcome.startswith("hit"):
        return 0
    return (record.prompt_tokens or 0) + (record.completion_tokens or 0)


def release_when_finished(slot: Slot) -> Callable[[RequestLogRecord], None]:
    """The request tracker's finish hook giving `slot` back."""

    def finished(record: RequestLogRecord) -> None:
        slot.release(served_tokens(record))

    return finished
