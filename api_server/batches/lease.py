"""A claimed batch's lease, kept while its run lasts: renewed every `interval_s`, and the
run stopped when the renewal shows a cancel (the API's), the batch's expiry, or the lease
taken by another runner."""

from __future__ import annotations

import asyncio
import logging

from api_server.batches.run import BatchRun, Clock
from api_server.batches.store import BatchQueue

logger = logging.getLogger(__name__)


async def keep_lease(
    run: BatchRun,
    queue: BatchQueue,
    worker: str,
    clock: Clock,
    *,
    interval_s: float,
    lease_s: float,
) -> None:
    record = run.record
    while True:
        await asyncio.sleep(interval_s)
        try:
            status = await queue.renew(record.id, worker, clock(), lease_s)
        except Exception as exc:  # the next renewal may succeed; writes check the lease
            logger.warning("batch %s: lease renewal failed: %r", record.id, exc)
            continue
        if status is None:
            logger.warning("batch %s: lease lost to another runner", record.id)
            run.stop("lost")
            return
        if status == "cancelling":
            run.stop("cancelled")
        if clock() >= record.expires_at:
            run.stop("expired")
