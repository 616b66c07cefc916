"""`RequestLogWriter`: request-log rows to PostgreSQL in batches, never on the request path,
never lost silently.

The request path calls `enqueue`, which appends to a bounded deque (O(1), no await, never
raises). One background task takes the rows out every `batch_size` rows or every
`flush_interval_s`, whichever comes first, and commits them in batches (see pg_store: COPY,
then an insert that skips ids already stored).

When a commit fails or takes longer than `flush_timeout_s`, its rows and everything queued
go to the disk spool (spool.py) and PostgreSQL is retried with backoff; until then each
cycle spills the queue to disk, so memory stays bounded and rows are durable. When a commit
succeeds again the spool is replayed, oldest segment first, before the queue, and a segment
is deleted only once all its rows are committed. A full queue spills straight to the spool;
a full spool drops rows, counted by reason and logged loudly (at most every 10 s), as are
fresh rows whose id is already stored (ids are minted by the gateway, so this means a bug).
Everything is counted in `inferstack_request_log_*` metrics.

`close()` flushes what is left to PostgreSQL, or to the spool when it is down, within its
timeout; a spool left behind is replayed by the next start.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

import asyncpg
from prometheus_client import CollectorRegistry

from api_server.config import Settings
from api_server.drop_report import DropReport
from api_server.logs.pg_store import PostgresLogStore, RequestLogStore
from api_server.logs.record import RequestLogRecord
from api_server.logs.retention import run_retention
from api_server.logs.spool import RequestLogSpool
from api_server.metrics import RequestLogMetrics

logger = logging.getLogger(__name__)

_BACKOFF_START_S = 0.5
_BACKOFF_MAX_S = 5.0
_DROP_LOG_EVERY_S = 10.0


class _DatabaseUnavailable(Exception):
    pass


class RequestLogWriter:
    def __init__(
        self,
        store: RequestLogStore,
        spool: RequestLogSpool,
        *,
        batch_size: int = 1000,
        flush_interval_s: float = 0.2,
        queue_size: int = 50_000,
        flush_timeout_s: float = 5.0,
        retention_days: int | None = None,
        retention_batch: int = 5000,
        backoff_max_s: float = _BACKOFF_MAX_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.spool = spool
        self.batch_size = batch_size
        self.flush_interval_s = flush_interval_s
        self.queue_size = queue_size
        self.flush_timeout_s = flush_timeout_s
        self.retention_days = retention_days
        self.retention_batch = retention_batch
        self.backoff_max_s = backoff_max_s
        self.metrics = RequestLogMetrics(CollectorRegistry())
        self._clock = clock
        self._queue: deque[RequestLogRecord] = deque()
        self._in_flight: list[RequestLogRecord] = []  # taken from the queue, not committed
        self._wake = asyncio.Event()
        self._closed = False
        self._spool_pending = bool(spool.segments())  # replay what a previous run left
        self._retry_at = 0.0
        self._backoff_s = min(_BACKOFF_START_S, backoff_max_s)
        self._down_since: float | None = None
        self._drops = DropReport(_DROP_LOG_EVERY_S, clock)
        self._tasks: list[asyncio.Task[None]] = []

    # -- the request path --------------------------------------------------------------

    def enqueue(self, record: RequestLogRecord) -> None:
        if not self._closed and len(self._queue) < self.queue_size:
            self._queue.append(record)
            if len(self._queue) >= self.batch_size:
                self._wake.set()
            return
        self._spill([record])
        if self._closed:  # a straggler after close(): nobody else will seal the segment
            self.spool.close()

    @property
    def queue_depth(self) -> int:
        """Rows in memory: queued, or taken for a commit not yet confirmed."""
        return len(self._queue) + len(self._in_flight)

    # -- lifecycle ---------------------------------------------------------------------

    def start(self, metrics: RequestLogMetrics | None = None) -> None:
        """Start the background task (in the running loop), reporting to `metrics`."""
        if metrics is not None:
            self.metrics = metrics
        self.metrics.samplers.gauge(self.metrics.queue_depth, lambda: self.queue_depth)
        self.metrics.samplers.gauge(self.metrics.spool_bytes, lambda: self.spool.size_bytes)
        self._tasks.append(asyncio.create_task(self._run(), name="request-log-writer"))
        if self.retention_days is not None:
            retention = run_retention(self.store, self.retention_days, self.retention_batch)
            self._tasks.append(asyncio.create_task(retention, name="request-log-retention"))

    async def close(self, timeout_s: float = 10.0) -> None:
        """Flush everything to PostgreSQL (or the spool) within `timeout_s`, then stop."""
        if self._closed:
            return
        self._closed = True  # from now on enqueue spills to the spool
        self._wake.set()
        try:
            async with asyncio.timeout(timeout_s):
                if self._tasks:
                    await self._tasks[0]  # the loop ends after its current cycle
                await self._cycle(final=True)
        except TimeoutError:
            logger.warning("request-log flush did not finish in %.0f s; spooling", timeout_s)
        finally:
            for task in self._tasks:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            self._spill(self._take_everything())
            await asyncio.to_thread(self.spool.close)
        if unreported := self._drops.take():
            logger.error("REQUEST LOG ROWS DROPPED: %d since the last report", unreported)
        if self.spool.size_bytes:
            logger.warning(
                "request logs: %d bytes wait in the spool %s; the next start replays them",
                self.spool.size_bytes,
                self.spool.directory,
            )

    async def wait_idle(self, timeout_s: float) -> bool:
        """Until nothing is queued, in flight or spooled (tests, benchmarks)."""
        deadline = self._clock() + timeout_s
        while self._queue or self._in_flight or self._spool_pending:
            if self._clock() > deadline:
                return False
            self._wake.set()
            await asyncio.sleep(0.01)
        return True

    # -- the background task -----------------------------------------------------------

    async def _run(self) -> None:
        while True:
            await self._wait_for_rows()
            if self._closed:
                return
            try:
                await self._cycle(final=False)
            except Exception:  # the writer must outlive any one bad cycle
                logger.exception("request-log writer cycle failed; spooling its rows")
                self._spill(self._take_everything())

    async def _wait_for_rows(self) -> None:
        """Until a batch is full, `flush_interval_s` passed, or close() was called."""
        if self._closed or len(self._queue) >= self.batch_size:
            return
        self._wake.clear()
        try:
            async with asyncio.timeout(self.flush_interval_s):
                await self._wake.wait()
        except TimeoutError:
            pass

    async def _cycle(self, final: bool) -> None:
        if not final and self._clock() < self._retry_at:
            await self._spill_to_disk()  # PostgreSQL is down: keep the rows safe meanwhile
            return
        try:
            await self._replay_spool()  # older rows first
            while self._queue:
                self._in_flight = [
                    self._queue.popleft() for _ in range(min(self.batch_size, len(self._queue)))
                ]
                await self._commit(self._in_flight)
                self._in_flight = []
        except _DatabaseUnavailable as exc:
            self._retry_at = self._clock() + self._backoff_s
            self._backoff_s = min(self._backoff_s * 2, self.backoff_max_s)
            if self._down_since is None:
                self._down_since = self._clock()
                logger.warning("request logs: PostgreSQL unavailable (%s); spooling rows", exc)
            await self._spill_to_disk()
            return
        if self._down_since is not None:
            logger.info(
                "request logs: PostgreSQL back after %.1f s; spool replayed",
                self._clock() - self._down_since,
            )
            self._down_since = None
        self._backoff_s = min(_BACKOFF_START_S, self.backoff_max_s)

    async def _commit(self, records: list[RequestLogRecord], *, replay: bool = False) -> None:
        """`replay`: rows from the spool, some of which may be stored already (a commit whose
        answer was lost); skipping those loses nothing. Fresh rows skipped as duplicates
        are lost rows (an id already stored), counted as such."""
        started = time.perf_counter()
        try:
            async with asyncio.timeout(self.flush_timeout_s):
                inserted, rejected = await self.store.insert(records)
        except Exception as exc:  # down, slow, restarting: the rows go to the spool
            self.metrics.flush_failures.inc()
            raise _DatabaseUnavailable(f"{type(exc).__name__}: {exc}") from exc
        self.metrics.flush_latency.observe(time.perf_counter() - started)
        self.metrics.rows_written.inc(inserted)
        if rejected:
            self._count_dropped(rejected, "rejected")
        duplicates = len(records) - inserted - rejected
        if duplicates and not replay:
            self._count_dropped(duplicates, "duplicate_id")

    async def _replay_spool(self) -> None:
        if not self._spool_pending:
            return
        self._spool_pending = False  # a spill from now on sets it again
        try:
            for path in await asyncio.to_thread(self.spool.sealed_segments):
                await self._replay_segment(path)
        except BaseException:
            self._spool_pending = True
            raise

    async def _replay_segment(self, path: Path) -> None:
        records, unreadable = await asyncio.to_thread(self.spool.read, path)
        for start in range(0, len(records), self.batch_size):
            await self._commit(records[start : start + self.batch_size], replay=True)
        # Only now: a failure above leaves the segment to be replayed whole, and rows
        # already committed are skipped by the insert.
        await asyncio.to_thread(self.spool.remove, path)
        if unreadable:
            self._count_dropped(unreadable, "unreadable")
        logger.info("request logs: replayed %d rows from %s", len(records), path.name)

    # -- spilling ----------------------------------------------------------------------

    def _take_everything(self) -> list[RequestLogRecord]:
        rows = self._in_flight + list(self._queue)
        self._in_flight = []
        self._queue.clear()
        return rows

    async def _spill_to_disk(self) -> None:
        rows = self._take_everything()
        if rows:
            self._spill(rows)
            await asyncio.to_thread(self.spool.sync)

    def _spill(self, records: list[RequestLogRecord]) -> None:
        """To the spool, synchronously (page cache only; see spool.py). Never raises."""
        if not records:
            return
        try:
            written = self.spool.append(records)
        except Exception:
            logger.exception("request-log spool write failed")
            written = 0
            reason = "spool_error"
        else:
            reason = "spool_full"
        if written:
            self._spool_pending = True
            self.metrics.rows_spooled.inc(written)
        if written < len(records):
            self._count_dropped(len(records) - written, reason)

    def _count_dropped(self, count: int, reason: str) -> None:
        self.metrics.rows_dropped.labels(reason).inc(count)
        if (dropped := self._drops.add(count)) is not None:
            logger.error(
                "REQUEST LOG ROWS DROPPED: %d (latest reason: %s; spool %d of %d bytes)",
                dropped,
                reason,
                self.spool.size_bytes,
                self.spool.max_bytes,
            )


def build_request_log_writer(
    pool: asyncpg.Pool, settings: Settings, spool_dir: Path | None = None
) -> RequestLogWriter:
    """The writer the gateway runs, from its settings; `spool_dir` is the folder this
    process claimed (spool_claim.py), by default the configured one."""
    spool = RequestLogSpool(
        spool_dir or settings.request_log_spool_dir, settings.request_log_spool_max_bytes
    )
    return RequestLogWriter(
        PostgresLogStore(pool),
        spool,
        batch_size=settings.request_log_batch_size,
        flush_interval_s=settings.request_log_flush_interval_ms / 1000,
        queue_size=settings.request_log_queue_size,
        flush_timeout_s=settings.request_log_flush_timeout_s,
        retention_days=settings.request_log_retention_days,
        retention_batch=settings.request_log_retention_batch,
    )
