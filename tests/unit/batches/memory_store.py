"""The runner's storage in memory: the batch rows' rules as batchstore's PostgreSQL ones
(leases by compare-and-set, results only while the lease is held, one result per line),
and files as bytes."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncGenerator
from pathlib import Path

from api_server.batches.store import BatchFiles, BatchQueue
from api_server.batchstore.lines import MissingObjectError, numbered_lines
from api_server.batchstore.records import (
    ACTIVE_STATUSES,
    CANCELLABLE_STATUSES,
    BatchEnd,
    BatchRecord,
    FileRecord,
    LineResult,
    new_file_id,
)

_WHEN = {
    "completed": "completed_at",
    "failed": "failed_at",
    "expired": "expired_at",
    "cancelled": "cancelled_at",
}


@dataclasses.dataclass
class _Lease:
    owner: str | None = None
    until: float | None = None


class MemoryBatchQueue:
    def __init__(self) -> None:
        self.batches: dict[str, BatchRecord] = {}
        self.leases: dict[str, _Lease] = {}
        self.lines: dict[str, dict[int, LineResult]] = {}
        self.files: list[FileRecord] = []
        self.statuses: dict[str, list[str]] = {}  # every status each batch went through

    def add(self, record: BatchRecord) -> None:
        self.batches[record.id] = record
        self.leases[record.id] = _Lease()
        self.lines[record.id] = {}
        self.statuses[record.id] = [record.status]

    def update(self, batch_id: str, **changes: object) -> BatchRecord:
        record = dataclasses.replace(self.batches[batch_id], **changes)  # type: ignore[arg-type]
        self.batches[batch_id] = record
        if self.statuses[batch_id][-1] != record.status:
            self.statuses[batch_id].append(record.status)
        return record

    def cancel(self, batch_id: str, now: float) -> None:
        """What POST /v1/batches/{id}/cancel writes."""
        if self.batches[batch_id].status in CANCELLABLE_STATUSES:
            self.update(batch_id, status="cancelling", cancelling_at=now)

    def _held(self, batch_id: str, worker: str) -> bool:
        return self.leases[batch_id].owner == worker

    async def candidates(self, now: float, limit: int) -> list[tuple[str, str, str]]:
        free = [
            record
            for record in self.batches.values()
            if record.status in ACTIVE_STATUSES
            and (self.leases[record.id].until is None or self.leases[record.id].until < now)  # type: ignore[operator]
        ]
        free.sort(key=lambda record: record.created_at)
        return [(record.id, record.endpoint, record.model) for record in free[:limit]]

    async def try_claim(
        self, batch_id: str, worker: str, now: float, lease_s: float
    ) -> BatchRecord | None:
        record, lease = self.batches[batch_id], self.leases[batch_id]
        if record.status not in ACTIVE_STATUSES:
            return None
        if lease.until is not None and lease.until >= now and lease.owner != worker:
            return None
        self.leases[batch_id] = _Lease(worker, now + lease_s)
        if record.status == "validating":
            record = self.update(batch_id, status="in_progress", in_progress_at=now)
        return record

    async def renew(self, batch_id: str, worker: str, now: float, lease_s: float) -> str | None:
        if not self._held(batch_id, worker):
            return None
        self.leases[batch_id].until = now + lease_s
        return self.batches[batch_id].status

    async def release(self, batch_id: str, worker: str) -> None:
        if self._held(batch_id, worker):
            self.leases[batch_id] = _Lease()

    async def done_lines(self, batch_id: str) -> set[int]:
        return set(self.lines[batch_id])

    async def record_line(self, batch_id: str, worker: str, result: LineResult) -> str | None:
        if not self._held(batch_id, worker):
            return None
        if result.line not in self.lines[batch_id]:
            self.lines[batch_id][result.line] = result
            record = self.batches[batch_id]
            self.update(
                batch_id,
                completed=record.completed + int(result.ok),
                failed=record.failed + int(not result.ok),
                input_tokens=record.input_tokens + result.input_tokens,
                output_tokens=record.output_tokens + result.output_tokens,
            )
        return self.batches[batch_id].status

    async def start_finalizing(self, batch_id: str, worker: str, now: float) -> bool:
        record = self.batches[batch_id]
        if not self._held(batch_id, worker) or record.status not in ("in_progress", "finalizing"):
            return False
        self.update(batch_id, status="finalizing", finalizing_at=record.finalizing_at or now)
        return True

    async def results(self, batch_id: str) -> AsyncGenerator[LineResult, None]:
        for line in sorted(self.lines[batch_id]):
            yield self.lines[batch_id][line]

    async def finish(self, batch_id: str, worker: str, end: BatchEnd) -> bool:
        if not self._held(batch_id, worker):
            return False
        self.files += [f for f in (end.output_file, end.error_file) if f is not None]
        self.update(
            batch_id,
            status=end.status,
            output_file_id=end.output_file.id if end.output_file else None,
            error_file_id=end.error_file.id if end.error_file else None,
            errors=end.errors or None,
            **{_WHEN[end.status]: end.at},
        )
        self.leases[batch_id] = _Lease()
        self.lines[batch_id] = {}
        return True


class MemoryBatchFiles:
    def __init__(self) -> None:
        self.inputs: dict[str, bytes] = {}  # input_object_key -> contents
        self.saved: dict[str, bytes] = {}  # file id -> contents

    def lines(self, batch: BatchRecord) -> AsyncGenerator[tuple[int, bytes], None]:
        return self._lines(batch.input_object_key)

    async def _lines(self, key: str) -> AsyncGenerator[tuple[int, bytes], None]:
        if key not in self.inputs:
            raise MissingObjectError(key)
        data = self.inputs[key]

        async def chunks() -> AsyncGenerator[bytes, None]:
            for start in range(0, len(data), 7):  # small pieces: lines split across them
                yield data[start : start + 7]

        async for numbered in numbered_lines(chunks(), 1 << 20):
            yield numbered

    async def save(
        self, batch: BatchRecord, kind: str, path: Path, size: int, now: float
    ) -> FileRecord:
        contents = await asyncio.to_thread(path.read_bytes)
        assert len(contents) == size
        record = FileRecord(
            id=new_file_id(),
            owner=batch.owner,
            purpose="batch_output",
            filename=f"{batch.id}_{kind}.jsonl",
            bytes=size,
            created_at=now,
            object_key=f"memory/{batch.id}_{kind}",
        )
        self.saved[record.id] = contents
        return record

    def contents(self, file_id: str | None) -> list[bytes]:
        return [] if file_id is None else self.saved[file_id].splitlines()


def _is_queue(queue: MemoryBatchQueue) -> BatchQueue:
    return queue  # the runner's protocol, checked by mypy


def _is_files(files: MemoryBatchFiles) -> BatchFiles:
    return files
