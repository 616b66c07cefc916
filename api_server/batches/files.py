"""A batch's files in the object store: its input read line by line, its output and error
files written there (under the batch's owner, named by the batch: a finalization done again
after a crash writes the same objects, never a second copy)."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from pathlib import Path

from api_server.archive.store import ObjectStore
from api_server.batchstore.files import JSONL_MEDIA_TYPE, file_object_key
from api_server.batchstore.lines import stored_lines
from api_server.batchstore.records import BatchRecord, FileRecord, new_file_id

OUTPUT_PURPOSE = "batch_output"


class StoredBatchFiles:
    def __init__(self, objects: ObjectStore, max_line_bytes: int) -> None:
        self.objects = objects
        self.max_line_bytes = max_line_bytes

    def lines(self, batch: BatchRecord) -> AsyncGenerator[tuple[int, bytes], None]:
        return stored_lines(self.objects, batch.input_object_key, self.max_line_bytes)

    async def save(
        self, batch: BatchRecord, kind: str, path: Path, size: int, now: float
    ) -> FileRecord:
        record = FileRecord(
            id=new_file_id(),
            owner=batch.owner,
            purpose=OUTPUT_PURPOSE,
            filename=f"{batch.id}_{kind}.jsonl",
            bytes=size,
            created_at=now,
            object_key=file_object_key(batch.owner, f"{batch.id}_{kind}"),
        )
        await self.objects.put_file(record.object_key, path, JSONL_MEDIA_TYPE)
        return record
