"""The batch runner: one per gateway process, started in the lifespan.

Every `poll_interval_s` it looks for batches with work left that no runner holds, and claims
those it can serve (its registry knows the model) by taking their lease (batchstore.batches:
a compare-and-set, so two workers never hold one batch). For each claimed batch, while
`lease.keep_lease` keeps the lease, `line_runner` runs the lines that have no result yet
and `finalize` writes the output and error files and the batch's last status:

    validating/in_progress --(every line has a result)--> finalizing --> completed
    cancelling (the API's cancel) ------------------------------------> cancelled
    past expires_at (completion_window) ------------------------------> expired
    input file's contents gone ---------------------------------------> failed

A batch is resumed (after a restart, or by another worker once the lease of a dead one
ended) from the lines that have no result. A runner that loses its lease, or stops
(shutdown), cuts its lines off and writes nothing more: whoever holds the batch next
carries on (`run.BatchRun`).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from api_server.batches.execute import LineExecutor
from api_server.batches.finalize import Finalizer
from api_server.batches.lease import keep_lease
from api_server.batches.line_runner import LineRunner
from api_server.batches.priority import BatchSlots
from api_server.batches.run import BatchRun, Clock
from api_server.batches.store import BatchFiles, BatchQueue
from api_server.batchstore.storage import is_storage_failure

logger = logging.getLogger(__name__)

# Batches looked at per search: enough that batches of models this gateway does not serve
# (left to gateways that do) cannot hide the ones it does.
_CANDIDATES = 100


@dataclass(frozen=True, slots=True)
class RunnerSettings:
    max_active: int = 4
    poll_interval_s: float = 1.0
    lease_s: float = 30.0
    retry_base_s: float = 0.5
    retry_max_s: float = 30.0


class BatchRunner:
    def __init__(
        self,
        queue: BatchQueue,
        files: BatchFiles,
        execute: LineExecutor,
        slots: BatchSlots,
        settings: RunnerSettings,
        *,
        can_run: Callable[[str, str], bool],
        ready: Callable[[], Awaitable[None]] | None = None,
        clock: Clock = time.time,
        worker: str | None = None,
    ) -> None:
        self.queue = queue
        self.settings = settings
        self.can_run = can_run  # (endpoint, model): this gateway serves it
        self.ready = ready  # the tables exist (created on first use)
        self.clock = clock
        self.worker = worker or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.lines = LineRunner(
            queue,
            files,
            execute,
            slots,
            self.worker,
            clock,
            retry_base_s=settings.retry_base_s,
            retry_max_s=settings.retry_max_s,
        )
        self.finalizer = Finalizer(queue, files, self.worker, clock)
        self._runs: dict[str, tuple[BatchRun, asyncio.Task[None]]] = {}
        self._loop: asyncio.Task[None] | None = None
        self._closing = False

    def start(self) -> None:
        self._loop = asyncio.create_task(self._claim_forever())

    async def close(self, timeout_s: float = 10.0) -> None:
        """Stop: no new batch, the lines in flight cut off, every lease given back (a line
        whose result is being written is written first)."""
        self._closing = True
        if self._loop is not None:
            self._loop.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop
        for run, _ in self._runs.values():
            run.stop("shutdown")
        tasks = [task for _, task in self._runs.values()]
        if tasks:
            await asyncio.wait(tasks, timeout=timeout_s)

    async def run_pending(self) -> list[str]:
        """Claim what there is to claim and run it to the end: the batch ids (tests)."""
        started = await self.claim_available()
        tasks = [self._runs[batch_id][1] for batch_id in started if batch_id in self._runs]
        if tasks:
            await asyncio.wait(tasks)
        return started

    async def claim_available(self) -> list[str]:
        """Claim batches up to `max_active` at once and start working on each."""
        free = self.settings.max_active - len(self._runs)
        if free <= 0 or self._closing:
            return []
        if self.ready is not None:
            await self.ready()
        started: list[str] = []
        for batch_id, endpoint, model in await self.queue.candidates(self.clock(), _CANDIDATES):
            if len(started) >= free:
                break
            if batch_id in self._runs or not self.can_run(endpoint, model):
                continue
            record = await self.queue.try_claim(
                batch_id, self.worker, self.clock(), self.settings.lease_s
            )
            if record is None:
                continue  # another runner was quicker
            run = BatchRun(record)
            task = asyncio.create_task(self._work(run))
            self._runs[record.id] = (run, task)
            task.add_done_callback(functools.partial(self._forget, record.id))
            started.append(record.id)
            logger.info(
                "batch %s: claimed (%s, %d requests)", record.id, record.status, record.total
            )
        return started

    def _forget(self, batch_id: str, _: asyncio.Task[None]) -> None:
        self._runs.pop(batch_id, None)

    async def _claim_forever(self) -> None:
        while True:
            try:
                await self.claim_available()
            except Exception as exc:  # the loop must outlive a database that is down
                if not is_storage_failure(exc):
                    logger.exception("batch runner: looking for work failed")
                else:
                    logger.warning("batch runner: storage unavailable: %r", exc)
            await asyncio.sleep(self.settings.poll_interval_s)

    async def _work(self, run: BatchRun) -> None:
        heartbeat = asyncio.create_task(
            keep_lease(
                run,
                self.queue,
                self.worker,
                self.clock,
                interval_s=self.settings.poll_interval_s,
                lease_s=self.settings.lease_s,
            )
        )
        try:
            await self._process(run)
        except Exception as exc:
            # Left to its lease: it ends, and the batch is taken up again then.
            if is_storage_failure(exc):
                logger.warning("batch %s: storage unavailable: %r", run.record.id, exc)
            else:
                logger.exception("batch %s: the runner failed", run.record.id)
            run.stop("storage")
        finally:
            heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await heartbeat
            if run.writes:  # results in flight are kept: those lines are done
                await asyncio.wait(run.writes)
            if run.reason == "shutdown":
                with contextlib.suppress(Exception):
                    await self.queue.release(run.record.id, self.worker)

    async def _process(self, run: BatchRun) -> None:
        record = run.record
        if record.status == "cancelling":
            run.stop("cancelled")
        elif self.clock() >= record.expires_at:
            run.stop("expired")
        elif record.status != "finalizing":
            await self.lines.run_lines(run)
        if not run.abandoned:
            await self.finalizer.finalize(run)
