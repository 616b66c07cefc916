"""An in-memory key store for the gateway's auth tests."""

from __future__ import annotations

from datetime import UTC, datetime

from api_server.auth.keys import ApiKey, display_prefix, generate_key, hash_key
from api_server.logs.record import RequestLogRecord


class MemoryKeyStore:
    def __init__(self) -> None:
        self.keys: dict[str, ApiKey] = {}
        self.lookups = 0

    def add(self, name: str, models: tuple[str, ...] | None = None) -> tuple[ApiKey, str]:
        key = generate_key()
        record = ApiKey(
            id=f"00000000-0000-0000-0000-{len(self.keys):012d}",
            name=name,
            prefix=display_prefix(key),
            models=models,
            rpm=60,
            tpm=None,
            created_at=datetime.now(UTC),
        )
        self.keys[hash_key(key)] = record
        return record, key

    async def find_by_hash(self, key_hash: str) -> ApiKey | None:
        self.lookups += 1
        return self.keys.get(key_hash)


class ListSink:
    def __init__(self) -> None:
        self.records: list[RequestLogRecord] = []

    def enqueue(self, record: RequestLogRecord) -> None:
        self.records.append(record)
