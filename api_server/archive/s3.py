"""The S3 object store (MinIO in compose, or any S3), through the `minio` client.

The client is blocking; its calls run on a small dedicated thread pool so a slow store
cannot take the threads other `to_thread` users (health probes, the folder store) need.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncGenerator, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import urllib3
from minio import Minio
from minio.error import S3Error

from api_server.archive.object_keys import check_key
from api_server.archive.store import CHUNK_BYTES

T = TypeVar("T")

_MISSING = frozenset({"NoSuchKey", "NoSuchObject"})


class S3ObjectStore:
    def __init__(self, client: Minio, bucket: str, *, threads: int = 4) -> None:
        self.client = client
        self.bucket = bucket
        self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="s3")

    @classmethod
    def connect(
        cls,
        endpoint: str,
        bucket: str,
        *,
        access_key: str | None,
        secret_key: str | None,
        region: str = "us-east-1",
        timeout_s: float = 5.0,
        threads: int = 4,
    ) -> S3ObjectStore:
        """`endpoint` is a URL (`http://minio:9000`); no scheme means plain HTTP."""
        url = urlsplit(endpoint if "://" in endpoint else f"http://{endpoint}")
        http = urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=timeout_s, read=timeout_s),
            maxsize=threads,
            retries=urllib3.Retry(
                total=2, backoff_factor=0.2, status_forcelist=(500, 502, 503, 504)
            ),
        )
        # A region given up front saves the client a GetBucketLocation round trip.
        client = Minio(
            url.netloc,
            access_key=access_key,
            secret_key=secret_key,
            secure=url.scheme == "https",
            region=region,
            http_client=http,
        )
        return cls(client, bucket, threads=threads)

    async def put(self, key: str, data: bytes) -> None:
        await self._run(self._put, check_key(key), data)

    async def get(self, key: str) -> bytes | None:
        return await self._run(self._get, check_key(key))

    async def put_file(self, key: str, path: Path, content_type: str) -> None:
        # fput_object uploads a large file in parts, each read from disk as it goes.
        await self._run(
            self.client.fput_object, self.bucket, check_key(key), str(path), content_type
        )

    async def open_stream(self, key: str) -> AsyncGenerator[bytes, None] | None:
        response = await self._run(self._open, check_key(key))
        if response is None:
            return None
        return self._chunks_of(response)

    async def delete(self, key: str) -> None:
        await self._run(self.client.remove_object, self.bucket, check_key(key))

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)

    async def _run(self, call: Callable[..., T], *args: object) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, call, *args)

    def _put(self, key: str, data: bytes) -> None:
        self.client.put_object(
            self.bucket, key, io.BytesIO(data), len(data), content_type="application/json"
        )

    def _open(self, key: str) -> Any:
        try:
            return self.client.get_object(self.bucket, key)
        except S3Error as exc:
            if exc.code in _MISSING:
                return None
            raise

    async def _chunks_of(self, response: Any) -> AsyncGenerator[bytes, None]:
        try:
            while chunk := await self._run(response.read, CHUNK_BYTES):
                yield chunk
        finally:
            response.close()
            response.release_conn()

    def _get(self, key: str) -> bytes | None:
        try:
            response = self.client.get_object(self.bucket, key)
        except S3Error as exc:
            if exc.code in _MISSING:
                return None
            raise
        try:
            return response.read()
        finally:
            response.close()
            response.release_conn()
