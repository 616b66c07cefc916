"""The writer against a fake store that can be down, slow or picky: batches, spill to the
spool, replay in order once it is back, no duplicates, counted drops, shutdown flush."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from api_server.logs.record import RequestLogRecord
from api_server.logs.retention import delete_expired
from api_server.logs.spool import RequestLogSpool, encode_record
from api_server.logs.writer import RequestLogWriter
from api_server.metrics import RequestLogMetrics

T0 = datetime(2025, 1, 2, tzinfo=UTC)


def record(n: int) -> RequestLogRecord:
    return RequestLogRecord(
        id=f"req-{n:05d}",
        received_at=T0 + timedelta(seconds=n),
        endpoint="/v1/chat/completions",
        api_flavour="openai",
        status_code=200,
    )


class FakeStore:
    """request_logs as a dict; `insert` skips known ids like ON CONFLICT DO NOTHING."""

    def __init__(self) -> None:
        self.rows: dict[str, RequestLogRecord] = {}
        self.down = False
        self.commit_then_hang = False  # commits, then never answers (a lost reply)
        self.reject: set[str] = set()
        self.batches: list[int] = []

    async def insert(self, records: list[RequestLogRecord]) -> tuple[int, int]:
        await asyncio.sleep(0)
        if self.down:
            raise ConnectionRefusedError("connection refused")
        inserted = rejected = 0
        for row in records:
            if row.id in self.reject:
                rejected += 1
            elif row.id not in self.rows:
                self.rows[row.id] = row
                inserted += 1
        self.batches.append(len(records))
        if self.commit_then_hang:
            await asyncio.sleep(3600)
        return inserted, rejected

    async def delete_received_before(self, cutoff: datetime, limit: int) -> int:
        expired = [k for k, r in self.rows.items() if r.received_at < cutoff][:limit]
        for key in expired:
            del self.rows[key]
        return len(expired)


MakeWriter = Callable[..., RequestLogWriter]


@pytest.fixture
def store() -> FakeStore:
    return FakeStore()


@pytest.fixture
async def make_writer(tmp_path: Path, store: FakeStore) -> AsyncIterator[MakeWriter]:
    writers: list[RequestLogWriter] = []

    def make(spool_max_bytes: int = 1 << 20, **options: object) -> RequestLogWriter:
        settings: dict[str, object] = {
            "batch_size": 100,
            "flush_interval_s": 0.01,
            "flush_timeout_s": 0.2,
            "backoff_max_s": 0.02,
            **options,
        }
        spool = RequestLogSpool(tmp_path / "spool", spool_max_bytes)
        writer = RequestLogWriter(store, spool, **settings)  # type: ignore[arg-type]
        writer.start(RequestLogMetrics(CollectorRegistry()))
        writers.append(writer)
        return writer

    yield make
    for writer in writers:
        await writer.close(timeout_s=1)


def sample(writer: RequestLogWriter, name: str, **labels: str) -> float:
    writer.metrics.samplers.run()  # as a scrape does
    found = writer.metrics.registry.get_sample_value(f"inferstack_request_log_{name}", labels)
    return 0.0 if found is None else float(found)


async def wait_for(condition: Callable[[], bool], timeout_s: float = 20.0) -> None:
    async with asyncio.timeout(timeout_s):
        while not condition():  # noqa: ASYNC110 (a condition of another task's state)
            await asyncio.sleep(0.005)


async def test_rows_are_committed_in_batches(store: FakeStore, make_writer: MakeWriter) -> None:
    writer = make_writer()
    for n in range(250):
        writer.enqueue(record(n))
    await wait_for(lambda: len(store.rows) == 250)
    assert max(store.batches) <= 100
    assert sample(writer, "rows_written_total") == 250
    assert sample(writer, "queue_depth") == 0
    assert sample(writer, "flush_seconds_count") == len(store.batches)


async def test_a_lone_row_is_committed_after_the_flush_interval(
    store: FakeStore, make_writer: MakeWriter
) -> None:
    writer = make_writer(flush_interval_s=0.05)
    writer.enqueue(record(1))
    await wait_for(lambda: "req-00001" in store.rows, timeout_s=1)


async def test_rows_wait_in_the_spool_while_down_and_replay_in_order(
    store: FakeStore, make_writer: MakeWriter
) -> None:
    writer = make_writer()
    store.down = True
    for n in range(300):
        writer.enqueue(record(n))
        if n % 50 == 0:
            await asyncio.sleep(0.02)
    await wait_for(lambda: sample(writer, "rows_spooled_total") == 300)
    assert sample(writer, "flush_failures_total") >= 1
    assert sample(writer, "spool_bytes") > 0
    assert store.rows == {}
    store.down = False
    for n in range(300, 350):  # new rows after the spooled ones
        writer.enqueue(record(n))
    # A replayed segment is removed after its rows are committed (in a thread): wait for both.
    await wait_for(lambda: len(store.rows) == 350 and writer.spool.segments() == [])
    assert list(store.rows) == [record(n).id for n in range(350)]  # spool first, in order
    assert sample(writer, "spool_bytes") == 0
    assert sample(writer, "rows_dropped_total", reason="spool_full") == 0


async def test_a_commit_whose_answer_is_lost_is_replayed_without_duplicates(
    store: FakeStore, make_writer: MakeWriter
) -> None:
    writer = make_writer()
    store.commit_then_hang = True
    for n in range(50):
        writer.enqueue(record(n))
    await wait_for(lambda: sample(writer, "rows_spooled_total") == 50)
    assert len(store.rows) == 50  # committed, but the writer could not know
    store.commit_then_hang = False
    await wait_for(lambda: writer.spool.segments() == [])
    assert len(store.rows) == 50
    assert sample(writer, "rows_written_total") == 0  # the replay inserted nothing new
    assert sample(writer, "rows_dropped_total", reason="duplicate_id") == 0  # not lost


async def test_a_fresh_row_whose_id_is_stored_already_is_counted_as_dropped(
    store: FakeStore, make_writer: MakeWriter
) -> None:
    writer = make_writer()
    writer.enqueue(record(1))
    await writer.wait_idle(timeout_s=5)
    writer.enqueue(record(1))  # the same id again: the insert skips it
    writer.enqueue(record(2))
    await writer.wait_idle(timeout_s=5)
    assert sorted(store.rows) == [record(1).id, record(2).id]
    assert sample(writer, "rows_written_total") == 2
    assert sample(writer, "rows_dropped_total", reason="duplicate_id") == 1


async def test_a_full_queue_spills_straight_to_the_spool(
    store: FakeStore, make_writer: MakeWriter
) -> None:
    writer = make_writer(queue_size=10, flush_interval_s=60, batch_size=1000)
    for n in range(25):  # no await: the writer task cannot run meanwhile
        writer.enqueue(record(n))
    assert sample(writer, "queue_depth") == 10
    assert sample(writer, "rows_spooled_total") == 15
    await writer.wait_idle(timeout_s=5)
    assert len(store.rows) == 25


async def test_a_full_spool_drops_and_counts(store: FakeStore, make_writer: MakeWriter) -> None:
    line = len(encode_record(record(1)))
    writer = make_writer(spool_max_bytes=line * 5, queue_size=1, flush_interval_s=60)
    store.down = True
    for n in range(10):
        writer.enqueue(record(n))
    assert sample(writer, "rows_spooled_total") == 5
    assert sample(writer, "rows_dropped_total", reason="spool_full") == 4  # 1 stays queued


async def test_enqueue_never_raises_when_the_spool_cannot_be_written(
    store: FakeStore, make_writer: MakeWriter, monkeypatch: pytest.MonkeyPatch
) -> None:
    writer = make_writer(queue_size=1, flush_interval_s=60)

    def broken(records: list[RequestLogRecord]) -> int:
        raise OSError("disk gone")

    monkeypatch.setattr(writer.spool, "append", broken)
    writer.enqueue(record(1))
    writer.enqueue(record(2))
    assert sample(writer, "rows_dropped_total", reason="spool_error") == 1


async def test_rejected_rows_are_counted_as_dropped(
    store: FakeStore, make_writer: MakeWriter
) -> None:
    writer = make_writer()
    store.reject = {record(1).id}
    for n in range(3):
        writer.enqueue(record(n))
    await wait_for(lambda: len(store.rows) == 2)
    assert sample(writer, "rows_dropped_total", reason="rejected") == 1


async def test_close_flushes_everything(store: FakeStore, make_writer: MakeWriter) -> None:
    writer = make_writer(flush_interval_s=60, batch_size=1000)
    for n in range(500):
        writer.enqueue(record(n))
    await writer.close(timeout_s=5)
    assert len(store.rows) == 500


async def test_close_while_down_spools_and_the_next_start_replays(
    store: FakeStore, make_writer: MakeWriter
) -> None:
    writer = make_writer(flush_interval_s=60, batch_size=1000)
    store.down = True
    for n in range(200):
        writer.enqueue(record(n))
    await writer.close(timeout_s=5)
    assert store.rows == {}
    assert writer.spool.size_bytes > 0
    store.down = False
    make_writer()  # a new run over the same spool folder
    await wait_for(lambda: len(store.rows) == 200)
    assert list(store.rows) == [record(n).id for n in range(200)]


async def test_close_is_bounded_when_the_store_hangs(
    store: FakeStore, make_writer: MakeWriter
) -> None:
    writer = make_writer(flush_interval_s=60, flush_timeout_s=30)
    store.commit_then_hang = True
    for n in range(10):
        writer.enqueue(record(n))
    async with asyncio.timeout(3):
        await writer.close(timeout_s=0.3)
    records, _ = writer.spool.read(writer.spool.segments()[0])
    assert [r.id for r in records] == [record(n).id for n in range(10)]


async def test_rows_enqueued_after_close_go_to_the_spool(
    store: FakeStore, make_writer: MakeWriter
) -> None:
    writer = make_writer()
    await writer.close(timeout_s=1)
    writer.enqueue(record(1))
    assert sample(writer, "rows_spooled_total") == 1


async def test_retention_deletes_expired_rows_in_batches(store: FakeStore) -> None:
    for n in range(25):
        store.rows[record(n).id] = record(n)
    now = T0 + timedelta(days=3, seconds=10)  # rows 0..9 are more than 3 days old
    assert await delete_expired(store, days=3, batch=4, now=now) == 10
    assert sorted(store.rows) == [record(n).id for n in range(10, 25)]
