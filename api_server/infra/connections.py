"""Open the backing-service clients named in settings; close them on shutdown.

None of them may stop the gateway from starting: a service that is down at startup is
reported by /health/ready and used once it comes back (pools connect lazily).
"""

from __future__ import annotations

from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import asyncpg
import redis.asyncio as aioredis

from api_server.archive.store import FilesystemObjectStore, ObjectStore
from api_server.config import Settings
from api_server.infra.cached_result import CachedResult

if TYPE_CHECKING:
    from qdrant_client import AsyncQdrantClient


@dataclass(frozen=True, slots=True)
class BackingServices:
    redis: aioredis.Redis | None
    postgres: asyncpg.Pool | None
    qdrant: AsyncQdrantClient | None
    object_store_path: Path | None
    object_store: ObjectStore | None = None  # S3 when configured, else the folder
    ratelimit_redis: aioredis.Redis | None = None  # same Redis, ratelimit_timeout_s timeouts
    # The health routes' PostgreSQL check, kept health_database_cache_s (any health answer
    # type: the routes own its shape).
    postgres_health: CachedResult[object] | None = None


async def open_backing_services(settings: Settings, stack: AsyncExitStack) -> BackingServices:
    redis_client = ratelimit_redis = None
    if settings.redis_url:
        redis_client = aioredis.from_url(
            settings.redis_url,
            socket_connect_timeout=settings.redis_timeout_s,
            socket_timeout=settings.redis_timeout_s,
        )
        stack.push_async_callback(redis_client.aclose)
        ratelimit_redis = aioredis.from_url(
            settings.redis_url,
            socket_connect_timeout=settings.ratelimit_timeout_s,
            socket_timeout=settings.ratelimit_timeout_s,
        )
        stack.push_async_callback(ratelimit_redis.aclose)

    postgres = postgres_health = None
    if settings.database_url:
        postgres = await open_postgres_pool(settings.database_url.get_secret_value(), settings)
        stack.push_async_callback(postgres.close)
        postgres_health = CachedResult[object](settings.health_database_cache_s)

    qdrant = None
    if settings.qdrant_url or settings.qdrant_path:
        # Imported only when used: qdrant-client (numpy, grpc) is ~60 MB of RSS and 0.5 s
        # of startup that a gateway without a semantic cache should not pay.
        from qdrant_client import AsyncQdrantClient
    if settings.qdrant_url:
        api_key = settings.qdrant_api_key.get_secret_value() if settings.qdrant_api_key else None
        qdrant = AsyncQdrantClient(url=settings.qdrant_url, api_key=api_key, timeout=3)
    elif settings.qdrant_path:
        settings.qdrant_path.mkdir(parents=True, exist_ok=True)
        qdrant = AsyncQdrantClient(path=str(settings.qdrant_path))
    if qdrant is not None:
        stack.push_async_callback(qdrant.close)

    object_store: ObjectStore | None = None
    if settings.s3_endpoint:
        # Imported only when used: the minio client costs ~0.1 s of startup.
        from api_server.archive.s3 import S3ObjectStore

        secret = settings.s3_secret_key
        s3 = S3ObjectStore.connect(
            settings.s3_endpoint,
            settings.s3_bucket,
            access_key=settings.s3_access_key,
            secret_key=secret.get_secret_value() if secret else None,
            region=settings.s3_region,
        )
        stack.callback(s3.close)
        object_store = s3
    if settings.object_store_path:
        settings.object_store_path.mkdir(parents=True, exist_ok=True)
        object_store = object_store or FilesystemObjectStore(settings.object_store_path)
    return BackingServices(
        redis_client,
        postgres,
        qdrant,
        settings.object_store_path,
        object_store,
        ratelimit_redis=ratelimit_redis,
        postgres_health=postgres_health,
    )


async def open_postgres_pool(dsn: str, settings: Settings, max_size: int = 10) -> asyncpg.Pool:
    """A pool whose connects and queries are bounded (a server that accepts and never
    answers costs a timeout, not a caller stuck forever). min_size=0: no connection is
    attempted until one is needed."""
    pool = asyncpg.create_pool(
        dsn,
        min_size=0,
        max_size=max_size,
        timeout=settings.database_connect_timeout_s,
        command_timeout=settings.database_command_timeout_s,
    )
    await pool
    return pool
