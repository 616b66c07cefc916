"""Request-log retention: rows older than the configured number of days are deleted in
small batches on a slow timer, so no statement holds locks for long or bloats WAL at once."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

from api_server.logs.pg_store import RequestLogStore

logger = logging.getLogger(__name__)

RETENTION_INTERVAL_S = 600.0
_PAUSE_BETWEEN_BATCHES_S = 0.05


async def delete_expired(
    store: RequestLogStore, days: int, batch: int, now: datetime | None = None
) -> int:
    """Delete every row received more than `days` ago, `batch` rows per statement; how many."""
    cutoff = (now or datetime.now(UTC)) - timedelta(days=days)
    total = 0
    while True:
        deleted = await store.delete_received_before(cutoff, batch)
        total += deleted
        if deleted < batch:
            return total
        await asyncio.sleep(_PAUSE_BETWEEN_BATCHES_S)  # let the writer's inserts in


async def run_retention(
    store: RequestLogStore, days: int, batch: int, interval_s: float = RETENTION_INTERVAL_S
) -> None:
    """Forever: delete expired rows, then wait `interval_s`. A failure (PostgreSQL down) is
    logged and retried next time."""
    while True:
        try:
            deleted = await delete_expired(store, days, batch)
        except Exception as exc:  # the loop must outlive an unavailable database
            logger.warning("request-log retention failed, retrying later: %s", exc)
        else:
            if deleted:
                logger.info("request-log retention: deleted %d rows over %d days", deleted, days)
        await asyncio.sleep(interval_s)
