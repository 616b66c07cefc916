"""What the runner reads and writes: the batch rows (`BatchQueue`, as
batchstore.batches.BatchRepository keeps them) and a batch's files (`BatchFiles`, as
files.StoredBatchFiles keeps them). Tests run the runner on memory ones."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from pathlib import Path
from typing import Protocol

from api_server.batchstore.records import BatchEnd, BatchRecord, FileRecord, LineResult


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
