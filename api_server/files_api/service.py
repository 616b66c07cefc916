"""The Files API's logic: store an upload under the caller's tenant, and list, read,
download and delete only that tenant's files (another tenant's are 404, as absent ones)."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncGenerator
from typing import Any

from api_server.auth.principal import Principal
from api_server.batchstore.files import JSONL_MEDIA_TYPE, Order, file_object_key
from api_server.batchstore.records import (
    FileRecord,
    new_file_id,
    owner_of,
    plausible_id,
    storable,
)
from api_server.batchstore.storage import BatchStorage, require_storage, storage_errors_as_503
from api_server.errors import InvalidRequestError, StoredFileNotFoundError
from api_server.files_api.protocol import UPLOAD_PURPOSES, file_list, file_object
from api_server.files_api.upload import Upload
from api_server.state import AppState

logger = logging.getLogger(__name__)


def required_storage(state: AppState) -> BatchStorage:
    """The Files and Batch APIs' storage, or a 503 naming the settings missing."""
    return require_storage(
        state.batch_storage,
        has_database=state.services.postgres is not None,
        has_object_store=state.services.object_store is not None,
    )


class FilesService:
    def __init__(self, state: AppState, principal: Principal) -> None:
        self.owner = owner_of(principal.tenant)
        self.storage = required_storage(state)

    async def create(self, upload: Upload) -> dict[str, Any]:
        purpose = upload.fields.get("purpose")
        if purpose not in UPLOAD_PURPOSES:
            raise InvalidRequestError(
                f"purpose must be one of {', '.join(UPLOAD_PURPOSES)} (the Batch API's input)",
                param="purpose",
            )
        if upload.bytes == 0:
            raise InvalidRequestError("The file is empty", param="file")
        file_id = new_file_id()
        record = FileRecord(
            id=file_id,
            owner=self.owner,
            purpose=purpose,
            filename=_storable_name(upload.filename),
            bytes=upload.bytes,
            created_at=time.time(),
            object_key=file_object_key(self.owner, file_id),
        )
        async with storage_errors_as_503():
            await self.storage.ready()
            await self.storage.objects.put_file(record.object_key, upload.path, JSONL_MEDIA_TYPE)
            await self.storage.files.insert(record)
        return file_object(record)

    async def list(
        self, *, after: str | None, limit: int, order: Order, purpose: str | None
    ) -> dict[str, Any]:
        if after is not None and not plausible_id(after):
            raise InvalidRequestError("after must be a file id", param="after")
        if purpose is not None and not storable(purpose):
            raise InvalidRequestError("purpose must be a file purpose", param="purpose")
        async with storage_errors_as_503():
            await self.storage.ready()
            records = await self.storage.files.page(
                self.owner, after=after, limit=limit, order=order, purpose=purpose
            )
        return file_list(records, limit)

    async def get(self, file_id: str) -> dict[str, Any]:
        return file_object(await self._record(file_id))

    async def content(self, file_id: str) -> AsyncGenerator[bytes, None]:
        record = await self._record(file_id)
        async with storage_errors_as_503():
            chunks = await self.storage.objects.open_stream(record.object_key)
        if chunks is None:
            logger.warning("file %s: its object %s is gone", file_id, record.object_key)
            raise _not_found(file_id)
        return chunks

    async def delete(self, file_id: str) -> dict[str, Any]:
        record = await self.storage.lookup(self.storage.files.delete, self.owner, file_id)
        if record is None:
            raise _not_found(file_id)
        # The row first: a failure here leaves an object no row names, never a row naming
        # no object.
        async with storage_errors_as_503():
            await self.storage.objects.delete(record.object_key)
        return {"id": file_id, "object": "file", "deleted": True}

    async def _record(self, file_id: str) -> FileRecord:
        record = await self.storage.lookup(self.storage.files.get, self.owner, file_id)
        if record is None:
            raise _not_found(file_id)
        return record


def _storable_name(filename: str) -> str:
    """The client's file name as a row can hold it (no NUL), at most 255 characters."""
    return filename.replace("\x00", "")[:255] or "upload.jsonl"


def _not_found(file_id: str) -> StoredFileNotFoundError:
    """Absent, another tenant's, or no id of ours: all the same to the caller."""
    return StoredFileNotFoundError(f"No file with id {file_id!r}", param="file_id")
