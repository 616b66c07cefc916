"""Writes archive objects in the background. The request path only calls `submit`, which
never blocks: a full queue drops the payload, counted and logged (the log row keeps no key
for it)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from types import TracebackType

from prometheus_client import CollectorRegistry, Counter, Gauge

from api_server.archive.capture import ArchiveEntry
from api_server.archive.store import ObjectStore
from api_server.drop_report import DropReport

logger = logging.getLogger(__name__)

_DROP_LOG_INTERVAL_S = 10.0


class ArchiveWriter:
    def __init__(
        self,
        store: ObjectStore,
        registry: CollectorRegistry,
        *,
        queue_size: int = 1000,
        concurrency: int = 4,
        drain_timeout_s: float = 5.0,
    ) -> None:
        self.store = store
        self._queue: asyncio.Queue[ArchiveEntry] = asyncio.Queue(queue_size)
        self._concurrency = concurrency
        self._drain_timeout_s = drain_timeout_s
        self._workers: list[asyncio.Task[None]] = []
        self._drops = DropReport(_DROP_LOG_INTERVAL_S)
        self.objects = Counter(
            "inferstack_archive_objects",
            "Payload archive objects by outcome (written, failed, dropped)",
            ["outcome"],
            registry=registry,
        )
        # Kept on every change (not read at scrape time): with workers each one's share sits
        # in the shared metric files, summed over the live ones.
        self._depth = Gauge(
            "inferstack_archive_queue_depth",
            "Archive objects waiting",
            registry=registry,
            multiprocess_mode="livesum",
        )

    def submit(self, entry: ArchiveEntry) -> bool:
        """Queue `entry`; False when the queue is full and it was dropped."""
        try:
            self._queue.put_nowait(entry)
            self._depth.inc()
        except asyncio.QueueFull:
            self.objects.labels("dropped").inc()
            self._log_drop()
            return False
        return True

    async def __aenter__(self) -> ArchiveWriter:
        self._workers = [asyncio.create_task(self._work()) for _ in range(self._concurrency)]
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Write what is queued (up to the drain timeout), then stop."""
        try:
            await asyncio.wait_for(self._queue.join(), self._drain_timeout_s)
        except TimeoutError:
            logger.warning("archive: %d payloads not written at shutdown", self._queue.qsize())
        for worker in self._workers:
            worker.cancel()
        for worker in self._workers:
            with contextlib.suppress(asyncio.CancelledError):
                await worker
        self._workers = []

    async def _work(self) -> None:
        while True:
            entry = await self._queue.get()
            self._depth.dec()
            try:
                await self.store.put(entry.key, entry.to_json())
            except Exception as exc:  # the store is down or refused: count, log, go on
                self.objects.labels("failed").inc()
                logger.warning("archive: could not write %s: %r", entry.key, exc)
            else:
                self.objects.labels("written").inc()
            finally:
                self._queue.task_done()

    def _log_drop(self) -> None:
        if (dropped := self._drops.add()) is not None:
            logger.warning(
                "archive queue full (%d): dropped %d payloads", self._queue.maxsize, dropped
            )
