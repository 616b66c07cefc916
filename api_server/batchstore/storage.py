"""What the Files and Batch APIs need of the backing services, built once with the app
state: the PostgreSQL tables (created on first use) and the object store."""

from __future__ import annotations

import logging
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TypeVar

import asyncpg

from api_server.archive.store import ObjectStore
from api_server.batchstore.batches import BatchRepository
from api_server.batchstore.files import FileRepository
from api_server.batchstore.records import plausible_id
from api_server.batchstore.schema import migrate_batch_tables
from api_server.errors import BatchesUnavailableError
from api_server.pg_errors import DATABASE_ERRORS
from api_server.pg_schema import SchemaGate

logger = logging.getLogger(__name__)

T = TypeVar("T")


class BatchStorage:
    def __init__(self, pool: asyncpg.Pool, objects: ObjectStore) -> None:
        self.pool = pool
        self.objects = objects
        self.files = FileRepository(pool)
        self.batches = BatchRepository(pool)
        self._schema = SchemaGate(migrate_batch_tables)

    async def ready(self) -> None:
        """The tables exist (created now if not); raises while PostgreSQL is down."""
        if not self._schema.done:
            async with self.pool.acquire() as conn:
                await self._schema.ensure(conn)

    async def lookup(
        self, find: Callable[[str, str], Awaitable[T | None]], owner: str, item_id: str
    ) -> T | None:
        """`find(owner, item_id)` (the owner's file or batch) once the tables exist, a
        storage failure as a 503; None, without a query, for an id none of ours can be."""
        async with storage_errors_as_503():
            await self.ready()
            return await find(owner, item_id) if plausible_id(item_id) else None


def missing_services(has_database: bool, has_object_store: bool) -> list[str]:
    """The settings to set before the Files and Batch APIs can work, for the 503."""
    missing = []
    if not has_database:
        missing.append("PostgreSQL (database_url)")
    if not has_object_store:
        missing.append("an object store (object_store_path, or s3_endpoint)")
    return missing


def require_storage(
    storage: BatchStorage | None, *, has_database: bool, has_object_store: bool
) -> BatchStorage:
    """The storage, or a 503 naming the settings that are missing."""
    if storage is None:
        missing = " and ".join(missing_services(has_database, has_object_store))
        raise BatchesUnavailableError(f"The Files and Batch APIs need {missing}: not configured")
    return storage


@asynccontextmanager
async def storage_errors_as_503() -> AsyncIterator[None]:
    """PostgreSQL or the object store failing (down, timing out) is a 503, not a 500."""
    try:
        yield
    except Exception as exc:
        if not is_storage_failure(exc):
            raise
        logger.warning("files/batches storage failed: %r", exc)
        raise BatchesUnavailableError(
            "The Files and Batch APIs' storage (PostgreSQL or the object store) is unavailable"
        ) from exc


def is_storage_failure(exc: BaseException) -> bool:
    if isinstance(exc, DATABASE_ERRORS):
        return True
    # The S3 client's own errors, when it is loaded (imported lazily: it costs startup time).
    for module, name in (("minio.error", "MinioException"), ("urllib3.exceptions", "HTTPError")):
        loaded = sys.modules.get(module)
        if loaded is not None and isinstance(exc, getattr(loaded, name)):
            return True
    return False
