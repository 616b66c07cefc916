"""A batch's end: its output file (the lines answered 2xx) and error file (the other
answers, plus one line per request never run when a cancel or an expiry ended it), written
in input order, then its last status (`_FINAL`, by why its run stopped) with those files in
one write, only while the lease is still this runner's.
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
from collections.abc import AsyncIterator
from contextlib import aclosing
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from api_server.batches.input import custom_id_of, is_blank
from api_server.batches.output import CANCELLED, EXPIRED, unrun_line
from api_server.batches.run import BatchRun, Clock, StopReason
from api_server.batches.store import BatchFiles, BatchQueue
from api_server.batchstore.lines import MissingObjectError
from api_server.batchstore.records import BatchEnd, BatchRecord, BatchStatus, FileRecord, LineResult

logger = logging.getLogger(__name__)

_FINAL: dict[StopReason | None, BatchStatus] = {
    None: "completed",
    "cancelled": "cancelled",
    "expired": "expired",
    "input_missing": "failed",
}
_WRITE_BUFFER_BYTES = 1024 * 1024


@dataclass(frozen=True)
class Finalizer:
    queue: BatchQueue
    files: BatchFiles
    worker: str
    clock: Clock

    async def finalize(self, run: BatchRun) -> None:
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
        self, run: BatchRun, unrun: tuple[str, str] | None
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
                        await errors.add(unrun_line(custom_id_of(raw, number), unrun))
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
