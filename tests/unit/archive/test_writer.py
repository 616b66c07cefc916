from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest
from prometheus_client import CollectorRegistry

from api_server.archive.capture import ArchiveEntry, PayloadCapture
from api_server.archive.store import FilesystemObjectStore
from api_server.archive.writer import ArchiveWriter
from api_server.logs.record import RequestLogRecord


def _entry(request_id: str) -> ArchiveEntry:
    record = RequestLogRecord(
        id=request_id,
        received_at=datetime(2025, 1, 2, tzinfo=UTC),
        endpoint="/v1/completions",
        api_flavour="openai",
    )
    return PayloadCapture(b'{"prompt": "x"}').entry(f"2025/01/02/{request_id}.json", record, None)


def _count(registry: CollectorRegistry, outcome: str) -> float:
    value = registry.get_sample_value("inferstack_archive_objects_total", {"outcome": outcome})
    return value or 0.0


class FailingStore:
    async def put(self, key: str, data: bytes) -> None:
        raise ConnectionError("store down")

    async def get(self, key: str) -> bytes | None:
        return None


async def test_queued_entries_are_written_and_drained_on_close(tmp_path: Path) -> None:
    registry = CollectorRegistry()
    store = FilesystemObjectStore(tmp_path)
    async with ArchiveWriter(store, registry) as writer:
        assert all(writer.submit(_entry(f"r{i}")) for i in range(20))
    assert _count(registry, "written") == 20
    payload = orjson.loads((tmp_path / "2025/01/02/r7.json").read_bytes())
    assert payload["id"] == "r7" and payload["request"] == {"prompt": "x"}


async def test_a_full_queue_drops_without_blocking(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    registry = CollectorRegistry()
    writer = ArchiveWriter(FilesystemObjectStore(tmp_path), registry, queue_size=2)
    # Not started: nothing drains the queue.
    assert [writer.submit(_entry(f"r{i}")) for i in range(5)] == [True, True, False, False, False]
    assert _count(registry, "dropped") == 3
    assert registry.get_sample_value("inferstack_archive_queue_depth") == 2
    assert "archive queue full (2): dropped 1 payloads" in caplog.text  # then quiet a while
    async with writer:
        pass
    assert _count(registry, "written") == 2


async def test_store_failures_are_counted_and_the_writer_goes_on() -> None:
    registry = CollectorRegistry()
    async with ArchiveWriter(FailingStore(), registry) as writer:
        writer.submit(_entry("a"))
        writer.submit(_entry("b"))
    assert _count(registry, "failed") == 2


async def test_close_gives_up_after_the_drain_timeout() -> None:
    class SlowStore(FailingStore):
        async def put(self, key: str, data: bytes) -> None:
            await asyncio.sleep(10)

    writer = ArchiveWriter(SlowStore(), CollectorRegistry(), drain_timeout_s=0.1)
    async with writer:
        writer.submit(_entry("slow"))
    # Returned after ~0.1 s, its workers cancelled.
