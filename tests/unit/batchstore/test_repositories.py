"""The files and batches tables on a real PostgreSQL: every read within the owner's rows,
cursor pages, and the runners' lease rules (one holder; a lost lease writes nothing)."""

from __future__ import annotations

import asyncio
import dataclasses

import asyncpg
import pytest

from api_server.batchstore.batches import BatchRepository
from api_server.batchstore.files import FileRepository, file_object_key
from api_server.batchstore.records import BatchEnd, BatchRecord, FileRecord, LineResult
from tests.unit.batch_pg import pg_pool, pg_server

__all__ = ["pg_pool", "pg_server"]

T0 = 1_700_000_000.0


@pytest.fixture
def files(pg_pool: asyncpg.Pool) -> FileRepository:
    return FileRepository(pg_pool)


@pytest.fixture
def batches(pg_pool: asyncpg.Pool) -> BatchRepository:
    return BatchRepository(pg_pool)


def a_file(
    file_id: str, owner: str = "key:a", at: float = T0, purpose: str = "batch"
) -> FileRecord:
    return FileRecord(
        file_id, owner, purpose, f"{file_id}.jsonl", 10, at, file_object_key(owner, file_id)
    )


def a_batch(batch_id: str, owner: str = "key:a", at: float = T0) -> BatchRecord:
    return BatchRecord(
        id=batch_id,
        owner=owner,
        endpoint="/v1/chat/completions",
        model="m",
        input_file_id="file-in",
        input_object_key="files/x/file-in",
        completion_window="24h",
        status="validating",
        total=3,
        created_at=at,
        expires_at=at + 86400,
        metadata={"k": "v"},
    )


def result(line: int, ok: bool = True) -> LineResult:
    return LineResult(line, f"c{line}", ok, b'{"line": %d}\n' % line, 5, 2)


def test_object_keys_are_per_owner_and_never_climb() -> None:
    assert file_object_key("key:a", "file-1").startswith("files/")
    assert file_object_key("key:a", "file-1") != file_object_key("key:b", "file-1")
    assert ".." not in file_object_key("../..", "file-1")


async def test_files_are_read_only_within_their_owner(files: FileRepository) -> None:
    mine, theirs = a_file("file-1"), a_file("file-2", owner="key:b")
    await files.insert(mine)
    await files.insert(theirs)
    assert await files.get("key:a", "file-1") == mine
    assert await files.get("key:a", "file-2") is None
    assert await files.delete("key:a", "file-2") is None
    assert await files.get("key:b", "file-2") == theirs
    assert await files.delete("key:a", "file-1") == mine
    assert await files.get("key:a", "file-1") is None


async def test_file_pages_follow_the_cursor_in_either_order(files: FileRepository) -> None:
    for i in range(5):
        await files.insert(
            a_file(f"file-{i}", at=T0 + i, purpose="batch" if i % 2 else "batch_output")
        )
    await files.insert(a_file("file-other", owner="key:b", at=T0 + 2.5))

    async def ids(**query: object) -> list[str]:
        query = {"after": None, "limit": 2, "order": "desc", "purpose": None, **query}
        return [f.id for f in await files.page("key:a", **query)]  # type: ignore[arg-type]

    assert await ids() == ["file-4", "file-3", "file-2"]  # one more: there are more
    assert await ids(after="file-3") == ["file-2", "file-1", "file-0"]
    assert await ids(order="asc", after="file-1") == ["file-2", "file-3", "file-4"]
    assert await ids(purpose="batch", limit=5) == ["file-3", "file-1"]
    assert await ids(after="file-other") == []  # another owner's id is no cursor


async def test_batches_are_read_only_within_their_owner(batches: BatchRepository) -> None:
    for i in range(3):
        await batches.create(a_batch(f"batch_{i}", at=T0 + i))
    await batches.create(a_batch("batch_b", owner="key:b"))
    got = await batches.get("key:a", "batch_1")
    assert got == a_batch("batch_1", at=T0 + 1)
    assert await batches.get("key:a", "batch_b") is None
    assert [b.id for b in await batches.page("key:a", after=None, limit=1)] == [
        "batch_2",
        "batch_1",
    ]
    assert [b.id for b in await batches.page("key:a", after="batch_1", limit=5)] == ["batch_0"]
    assert await batches.cancel("key:a", "batch_b", T0) is None


async def test_cancelling_is_only_for_a_batch_still_to_run(batches: BatchRepository) -> None:
    await batches.create(a_batch("batch_1"))
    cancelled = await batches.cancel("key:a", "batch_1", T0 + 5)
    assert cancelled is not None and (cancelled.status, cancelled.cancelling_at) == (
        "cancelling",
        T0 + 5,
    )
    again = await batches.cancel("key:a", "batch_1", T0 + 9)
    assert again is not None and again.cancelling_at == T0 + 5  # unchanged


async def test_one_runner_holds_a_batch_until_its_lease_ends(batches: BatchRepository) -> None:
    await batches.create(a_batch("batch_1"))
    assert await batches.candidates(T0, 10) == [("batch_1", "/v1/chat/completions", "m")]
    claims = await asyncio.gather(
        *(batches.try_claim("batch_1", worker, T0, 30) for worker in ("w1", "w2", "w3"))
    )
    held = [claim for claim in claims if claim is not None]
    assert len(held) == 1 and held[0].status == "in_progress" and held[0].in_progress_at == T0
    holder = "w1" if claims[0] else "w2" if claims[1] else "w3"
    other = "w9"
    assert await batches.candidates(T0 + 10, 10) == []
    assert await batches.try_claim("batch_1", other, T0 + 10, 30) is None
    assert await batches.renew("batch_1", holder, T0 + 20, 30) == "in_progress"  # to T0 + 50
    assert await batches.try_claim("batch_1", other, T0 + 40, 30) is None
    taken = await batches.try_claim("batch_1", other, T0 + 51, 30)  # the holder stalled
    assert taken is not None and taken.in_progress_at == T0  # started once, still
    assert await batches.renew("batch_1", holder, T0 + 52, 30) is None
    assert await batches.record_line("batch_1", holder, result(1)) is None
    assert await batches.done_lines("batch_1") == set()
    assert await batches.start_finalizing("batch_1", holder, T0 + 53) is False


async def test_a_line_is_kept_and_counted_once(batches: BatchRepository) -> None:
    await batches.create(a_batch("batch_1"))
    assert await batches.try_claim("batch_1", "w1", T0, 30) is not None
    assert await batches.record_line("batch_1", "w1", result(2)) == "in_progress"
    assert await batches.record_line("batch_1", "w1", result(2)) == "in_progress"
    assert await batches.record_line("batch_1", "w1", result(1, ok=False)) == "in_progress"
    await batches.cancel("key:a", "batch_1", T0 + 1)
    assert await batches.record_line("batch_1", "w1", result(3)) == "cancelling"
    record = await batches.get("key:a", "batch_1")
    assert record is not None
    assert (record.completed, record.failed, record.input_tokens, record.output_tokens) == (
        2,
        1,
        15,
        6,
    )
    assert await batches.done_lines("batch_1") == {1, 2, 3}
    assert [r.line for r in [r async for r in batches.results("batch_1")]] == [1, 2, 3]


async def test_finishing_writes_the_files_and_ends_the_batch_at_once(
    batches: BatchRepository, files: FileRepository
) -> None:
    await batches.create(a_batch("batch_1"))
    assert await batches.try_claim("batch_1", "w1", T0, 30) is not None
    assert await batches.record_line("batch_1", "w1", result(1)) == "in_progress"
    assert await batches.start_finalizing("batch_1", "w1", T0 + 3)
    assert await batches.start_finalizing("batch_1", "w1", T0 + 4)  # again: already so
    output = a_file("file-out", purpose="batch_output", at=T0 + 5)
    end = BatchEnd("completed", T0 + 6, output_file=output)
    assert await batches.finish("batch_1", "w2", end) is False
    assert await batches.finish("batch_1", "w1", end) is True
    record = await batches.get("key:a", "batch_1")
    assert record is not None
    assert (record.status, record.finalizing_at, record.completed_at) == (
        "completed",
        T0 + 3,
        T0 + 6,
    )
    assert (record.output_file_id, record.error_file_id, record.errors) == ("file-out", None, None)
    assert await files.get("key:a", "file-out") == output
    assert await batches.done_lines("batch_1") == set()
    assert await batches.candidates(T0 + 1000, 10) == []


async def test_a_released_batch_is_free_at_once(batches: BatchRepository) -> None:
    await batches.create(a_batch("batch_1"))
    assert await batches.try_claim("batch_1", "w1", T0, 3600) is not None
    await batches.release("batch_1", "w2")  # not its lease: nothing happens
    assert await batches.candidates(T0 + 1, 10) == []
    await batches.release("batch_1", "w1")
    assert [c[0] for c in await batches.candidates(T0 + 1, 10)] == ["batch_1"]
    claimed = await batches.try_claim("batch_1", "w2", T0 + 1, 30)
    assert claimed == dataclasses.replace(
        a_batch("batch_1"), status="in_progress", in_progress_at=T0
    )
