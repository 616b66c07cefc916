"""A claimed batch's lines, run at the lowest priority (`priority.BatchSlots`) through the
gateway's own front doors (`execute`).

A line's result is written with the batch's counters the moment it finishes; the lines
that already have one are skipped, so a resumed batch never runs a finished line again,
while a line cut off mid-way is. 429 and 503 answers (rate limits, overload, an engine
down) are not results: the line is tried again, backing off, until the run stops.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from contextlib import aclosing
from dataclasses import dataclass

from api_server.batches.execute import LineExecutor, LineOutcome
from api_server.batches.input import InputLine, custom_id_of, is_blank, parse_input_line
from api_server.batches.output import response_line
from api_server.batches.priority import BatchSlots
from api_server.batches.run import BatchRun, Clock
from api_server.batches.store import BatchFiles, BatchQueue
from api_server.batchstore.lines import MissingObjectError
from api_server.batchstore.records import LineResult
from api_server.errors import InvalidRequestError
from api_server.openai.render import error_body

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LineRunner:
    queue: BatchQueue
    files: BatchFiles
    execute: LineExecutor
    slots: BatchSlots
    worker: str
    clock: Clock
    retry_base_s: float
    retry_max_s: float

    async def run_lines(self, run: BatchRun) -> None:
        """Every line without a result, each once a slot is free; returns when all have
        ended or the run stopped (the lines in flight finished or cut off)."""
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

    async def _run_line(self, run: BatchRun, number: int, raw: bytes) -> None:
        record = run.record
        try:
            try:
                line = parse_input_line(number, raw, record.endpoint)
            except InvalidRequestError as exc:  # checked at creation: a file changed since
                custom_id = custom_id_of(raw, number)
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

    async def _attempts(self, run: BatchRun, line: InputLine) -> LineOutcome | None:
        """The line's answer, run again after each transient refusal (429, 503) with
        backoff (at least the Retry-After asked for); None once the run stops first."""
        attempt = 0
        while True:
            outcome = await self.execute(run.record, line)
            if not outcome.transient:
                return outcome
            attempt += 1
            backoff = min(self.retry_max_s, self.retry_base_s * 2**attempt)
            delay = max(outcome.retry_after_s or 0.0, backoff)
            try:
                await asyncio.wait_for(run.stopped.wait(), delay)
            except TimeoutError:
                continue
            return None
