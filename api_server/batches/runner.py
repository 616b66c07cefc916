"""The batch runner: one per gateway process, started in the lifespan.

Every `poll_interval_s` it looks for batches with work left that no runner holds, and claims
those it can serve (its registry knows the model) by taking their lease (batchstore.batches:
a compare-and-set, so two workers never hold one batch). For each claimed batch:

    validating/in_progress --(every line has a result)--> finalizing --> completed
    cancelling (the API's cancel) ------------------------------------> cancelled
    past expires_at (completion_window) ------------------------------> expired
    input file's contents gone ---------------------------------------> failed

Lines run through the gateway's own front doors (`execute`), at the lowest priority
(`priority.BatchSlots`). A line's result is written with the batch's counters the moment it
finishes; the lines that already have one are skipped when a batch is resumed (after a
restart, or by another worker once the lease of a dead one ended), so a finished line is
never run again, while a line cut off mid-way is. 429 and 503 answers (rate limits,
overload, an engine down) are not results: the line is tried again, backing off, until the
batch expires.

A cancel lets the lines in flight finish and starts no more; expiry cuts them off. Either
way the output file holds the lines that finished with a 2xx answer and the error file the
others, plus one line per request never run (`batch_cancelled`, `batch_expired`).
A runner that loses its lease, or stops (shutdown), cuts its lines off and writes nothing
more: whoever holds the batch next carries on.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import socket
import tempfile
import time
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from contextlib import aclosing
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Literal, Protocol

import orjson

from api_server.batches.execute import LineExecutor, LineOutcome
from api_server.batches.input import InputLine, is_blank, parse_input_line
from api_server.batches.output import CANCELLED, EXPIRED, response_line, unrun_line
from api_server.batches.priority import BatchSlots
from api_server.batchstore.lines import MissingObjectError
from api_server.batchstore.records import (
    BatchEnd,
    BatchRecord,
    BatchStatus,
    FileRecord,
    LineResult,
)
from api_server.batchstore.storage import is_storage_failure
from api_server.errors import InvalidRequestError
from api_server.openai.render import error_body

logger = logging.getLogger(__name__)

Clock = Callable[[], float]
StopReason = Literal["cancelled", "expired", "input_missing", "lost", "storage", "shutdown"]
# The stronger reason wins; those from "lost" up cut the lines in flight off and end the
# run without finalizing (another runner, or this one later, carries on).
_RANK: dict[StopReason, int] = {
    "input_missing": 1,
    "cancelled": 2,
    "expired": 3,
    "lost": 4,
    "storage": 4,
    "shutdown": 4,
}
_FINAL: dict[StopReason | None, BatchStatus] = {
    None: "completed",
    "cancelled": "cancelled",
    "expired": "expired",
    "input_missing": "failed",
}
_WRITE_BUFFER_BYTES = 1024 * 1024
# Batches looked at per search: enough that batches of models this gateway does not serve
# (left to gateways that do) cannot hide the ones it does.
_CANDIDATES = 100


class BatchQueue(Protocol):
    """The runner's side of the batch rows (batchstore.batches.BatchRepository)."""

    async def candidates(self, now: float, limit: int) -> list[tuple[str, str, str]]: ...
    async def try_claim(
        self, batch_id: str, worker: str, now: float, lease_s: float
    ) -> BatchRecord | None: ...
    async def renew(self, batch_id: str, worker: str, now: float, lease_s: float) -> str | None: ...
    async def release(self, batch_id: str, worker: str) -> None: ...
    async def done_lines(self, batch_id: str) -> set[int]: ...
    async def record_line(self, batch_id: str, worker: str, result: LineResult) -> str | None: ...
    async def start_finalizing(self, batch_id: str, worker: str, now: float) -> bool: ...
    def results(self, batch_id: str) -> AsyncGenerator[LineResult, None]: ...
    async def finish(self, batch_id: str, worker: str, end: BatchEnd) -> bool: ...


class BatchFiles(Protocol):
    """A batch's input lines, and its output files written (batches.files.StoredBatchFiles)."""

    def lines(self, batch: BatchRecord) -> AsyncGenerator[tuple[int, bytes], None]:
        """(number, line) of the input file; MissingObjectError when its object is gone."""
        ...

    async def save(
        self, batch: BatchRecord, kind: str, path: Path, size: int, now: float
    ) -> FileRecord:
        """Store a written output file; its row is inserted when the batch finishes."""
        ...


@dataclass(frozen=True, slots=True)
class RunnerSettings:
    max_active: int = 4
    poll_interval_s: float = 1.0
    lease_s: float = 30.0
    retry_base_s: float = 0.5
    retry_max_s: float = 30.0


@dataclass(eq=False)
class _Run:
    """One claimed batch being worked on."""

    record: BatchRecord
    reason: StopReason | None = None
    lines: set[asyncio.Task[None]] = field(default_factory=set)
    writes: set[asyncio.Task[str | None]] = field(default_factory=set)
    stopped: asyncio.Event = field(default_factory=asyncio.Event)

    def stop(self, reason: StopReason) -> None:
        if self.reason is None or _RANK[reason] > _RANK[self.reason]:
            self.reason = reason
        self.stopped.set()
        if _RANK[reason] >= _RANK["expired"]:
            for task in self.lines:
                task.cancel()

    def stopping(self) -> bool:
        return self.reason is not None

    @property
    def abandoned(self) -> bool:
        """Ended without finalizing: another runner carries on."""
        return self.reason is not None and _RANK[self.reason] >= _RANK["lost"]


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
        self.files = files
        self.execute = execute
        self.slots = slots
        self.settings = settings
        self.can_run = can_run  # (endpoint, model): this gateway serves it
        self.ready = ready  # the tables exist (created on first use)
        self.clock = clock
        self.worker = worker or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._runs: dict[str, tuple[_Run, asyncio.Task[None]]] = {}
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
            run = _Run(record)
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

    async def _work(self, run: _Run) -> None:
        heartbeat = asyncio.create_task(self._keep_lease(run))
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

    async def _process(self, run: _Run) -> None:
        record = run.record
        if record.status == "cancelling":
            run.stop("cancelled")
        elif self.clock() >= record.expires_at:
            run.stop("expired")
        elif record.status != "finalizing":
            await self._run_lines(run)
        if not run.abandoned:
            await self._finalize(run)

    async def _run_lines(self, run: _Run) -> None:
        record = run.record
        done = await self.queue.done_lines(record.id)
        try:
            async with aclosing(self.files.lines(record)) as lines:
                async for number, raw in lines:
                    if run.stopping():
                        break
                    if number in done or is_blank(raw):
                        continue
                    if not await self.slots.acquire(record.model, run.stopping):
                        break
                    if self.clock() >= record.expires_at:  # checked once the turn came
                        self.slots.release(record.model)
                        run.stop("expired")
                        break
                    task = asyncio.create_task(self._run_line(run, number, raw))
                    run.lines.add(task)
                    task.add_done_callback(run.lines.discard)
        except MissingObjectError:
            logger.warning("batch %s: its input file's contents are gone", record.id)
            run.stop("input_missing")
        while run.lines:  # finishing, or cut off by an expiry, a lost lease, a shutdown
            await asyncio.wait(set(run.lines))

    async def _run_line(self, run: _Run, number: int, raw: bytes) -> None:
        record = run.record
        try:
            try:
                line = parse_input_line(number, raw, record.endpoint)
            except InvalidRequestError as exc:  # checked at creation: a file changed since
                custom_id = _custom_id_of(raw, number)
                outcome: LineOutcome | None = LineOutcome(400, error_body(exc), uuid.uuid4().hex)
            else:
                custom_id = line.custom_id
                outcome = await self._attempts(run, line)
            if outcome is None:
                return  # stopped before it had an answer: never run, as far as results go
            tokens = outcome.usage()
            result = LineResult(
                number,
                custom_id,
                outcome.ok,
                response_line(custom_id, outcome.status_code, outcome.request_id, outcome.body),
                *tokens,
            )
            write = asyncio.create_task(self.queue.record_line(record.id, self.worker, result))
            run.writes.add(write)
            write.add_done_callback(run.writes.discard)
            try:
                status = await asyncio.shield(write)  # a finished line is kept, even now
            except Exception as exc:
                logger.warning(
                    "batch %s: line %d's result was not kept: %r", record.id, number, exc
                )
                run.stop("storage")
                return
            if status is None:
                run.stop("lost")
            elif status == "cancelling":
                run.stop("cancelled")
        finally:
            self.slots.release(record.model)

    async def _attempts(self, run: _Run, line: InputLine) -> LineOutcome | None:
        """The line's answer, run again after each transient refusal (429, 503) with
        backoff (at least the Retry-After asked for); None once the run stops first."""
        attempt = 0
        while True:
            outcome = await self.execute(run.record, line)
            if not outcome.transient:
                return outcome
            attempt += 1
            backoff = min(self.settings.retry_max_s, self.settings.retry_base_s * 2**attempt)
            delay = max(outcome.retry_after_s or 0.0, backoff)
            try:
                await asyncio.wait_for(run.stopped.wait(), delay)
            except TimeoutError:
                continue
            return None

    async def _keep_lease(self, run: _Run) -> None:
        record = run.record
        while True:
            await asyncio.sleep(self.settings.poll_interval_s)
            try:
                status = await self.queue.renew(
                    record.id, self.worker, self.clock(), self.settings.lease_s
                )
            except Exception as exc:  # the next renewal may succeed; writes check the lease
                logger.warning("batch %s: lease renewal failed: %r", record.id, exc)
                continue
            if status is None:
                logger.warning("batch %s: lease lost to another runner", record.id)
                run.stop("lost")
                return
            if status == "cancelling":
                run.stop("cancelled")
            if self.clock() >= record.expires_at:
                run.stop("expired")

    async def _finalize(self, run: _Run) -> None:
        record = run.record
        status = _FINAL[run.reason]
        if status == "completed" and not await self.queue.start_finalizing(
            record.id, self.worker, self.clock()
        ):
            run.stop("lost")
            return
        unrun = {"cancelled": CANCELLED, "expired": EXPIRED}.get(run.reason or "")
        output, errors = await self._write_files(run, unrun)
        problems = []
        if run.reason == "input_missing":
            problems.append(
                {
                    "code": "input_file_missing",
                    "message": f"The contents of input file {record.input_file_id} are gone",
                    "param": "input_file_id",
                    "line": None,
                }
            )
        end = BatchEnd(status, self.clock(), output, errors, problems)
        if not await self.queue.finish(record.id, self.worker, end):
            run.stop("lost")
            return
        logger.info(
            "batch %s: %s (output %s, errors %s)",
            record.id,
            status,
            output.id if output else None,
            errors.id if errors else None,
        )

    async def _write_files(
        self, run: _Run, unrun: tuple[str, str] | None
    ) -> tuple[FileRecord | None, FileRecord | None]:
        """The output file (2xx answers) and the error file (the other answers, and the
        requests never run when `unrun` says why), in input order; None for an empty one."""
        record = run.record
        with tempfile.TemporaryDirectory(prefix="inferstack-batch-") as folder:
            outputs = _FileWriter(Path(folder) / "output.jsonl")
            errors = _FileWriter(Path(folder) / "errors.jsonl")
            try:
                async with aclosing(self.queue.results(record.id)) as results:
                    if unrun is None:
                        async for result in results:
                            await (outputs if result.ok else errors).add(result.output)
                    else:
                        await self._merge(record, results, unrun, outputs, errors)
            finally:
                await outputs.close()
                await errors.close()
            now = self.clock()
            saved = []
            for kind, writer in (("output", outputs), ("error", errors)):
                saved.append(
                    await self.files.save(record, kind, writer.path, writer.size, now)
                    if writer.lines
                    else None
                )
        return saved[0], saved[1]

    async def _merge(
        self,
        record: BatchRecord,
        results: AsyncIterator[LineResult],
        unrun: tuple[str, str],
        outputs: _FileWriter,
        errors: _FileWriter,
    ) -> None:
        """The results and, for each request of the input without one, an `unrun` line."""
        pending = await anext(results, None)

        async def write(result: LineResult) -> LineResult | None:
            await (outputs if result.ok else errors).add(result.output)
            return await anext(results, None)

        try:
            async with aclosing(self.files.lines(record)) as lines:
                async for number, raw in lines:
                    if is_blank(raw):
                        continue
                    while pending is not None and pending.line < number:
                        pending = await write(pending)
                    if pending is not None and pending.line == number:
                        pending = await write(pending)
                    else:
                        await errors.add(unrun_line(_custom_id_of(raw, number), unrun))
        except MissingObjectError:
            logger.warning("batch %s: input gone; unrun requests are not listed", record.id)
        while pending is not None:
            pending = await write(pending)


class _FileWriter:
    """Lines appended to a local file, written off the event loop in large pieces."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lines = 0
        self.size = 0
        self._buffer = bytearray()
        self._file: IO[bytes] | None = None

    async def add(self, line: bytes) -> None:
        self._buffer += line
        self.lines += 1
        self.size += len(line)
        if len(self._buffer) >= _WRITE_BUFFER_BYTES:
            await self._flush()

    async def close(self) -> None:
        await self._flush()
        if self._file is not None:
            await asyncio.to_thread(self._file.close)

    async def _flush(self) -> None:
        if not self._buffer:
            return
        if self._file is None:
            self._file = await asyncio.to_thread(self.path.open, "wb")
        await asyncio.to_thread(self._file.write, bytes(self._buffer))
        self._buffer.clear()


def _custom_id_of(raw: bytes, number: int) -> str:
    """A line's custom_id as best it can be read (a line that no longer parses: by number)."""
    with contextlib.suppress(orjson.JSONDecodeError):
        item = orjson.loads(raw)
        if isinstance(item, dict) and isinstance(item.get("custom_id"), str):
            return str(item["custom_id"])
    return f"line-{number}"
