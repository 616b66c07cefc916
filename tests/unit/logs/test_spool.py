"""The disk spool: append, read back in order, seal and delete segments, size cap, and a
torn last line from a crash."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from api_server.logs.record import RequestLogRecord
from api_server.logs.spool import RequestLogSpool, encode_record

T0 = datetime(2025, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)


def record(n: int, **fields: object) -> RequestLogRecord:
    return RequestLogRecord(
        id=f"req-{n}",
        received_at=T0 + timedelta(seconds=n),
        endpoint="/v1/chat/completions",
        api_flavour="openai",
        **fields,  # type: ignore[arg-type]
    )


MakeSpool = Callable[..., RequestLogSpool]


@pytest.fixture
def make_spool(tmp_path: Path) -> Iterator[MakeSpool]:
    """Spools over tmp_path, closed at the end (an open segment would warn)."""
    opened: list[RequestLogSpool] = []

    def make(max_bytes: int = 1 << 20, segment_bytes: int = 16 << 20) -> RequestLogSpool:
        opened.append(RequestLogSpool(tmp_path, max_bytes, segment_bytes))
        return opened[-1]

    yield make
    for spool in opened:
        spool.close()


def replay(spool: RequestLogSpool) -> list[RequestLogRecord]:
    rows: list[RequestLogRecord] = []
    for path in spool.sealed_segments():
        records, unreadable = spool.read(path)
        assert unreadable == 0
        rows += records
    return rows


def test_records_round_trip_with_every_field(make_spool: MakeSpool) -> None:
    full = record(
        1,
        first_token_at=T0 + timedelta(milliseconds=5),
        finished_at=T0 + timedelta(milliseconds=9),
        model="m",
        engine="llamacpp",
        replica="http://e",
        status_code=200,
        prompt_tokens=3,
        completion_tokens=4,
        latency_ms=9.5,
        ttft_ms=5.25,
        stream=True,
        cache_outcome="miss",
        api_key_id="6f1c2a3e-0000-4000-8000-000000000000",
        end_user="u\x00ser \u00e9",
        client_addr="127.0.0.1:5",
    )
    spool = make_spool(1 << 20)
    assert spool.append([full, record(2)]) == 2
    assert replay(spool) == [full, record(2)]


def test_segments_replay_oldest_first_across_runs(make_spool: MakeSpool) -> None:
    first = make_spool(1 << 20, 300)
    first.append([record(n) for n in range(10)])
    first.close()
    assert len(first.segments()) > 1  # rotated at segment_bytes
    second = make_spool(1 << 20, 300)
    second.append([record(n) for n in range(10, 15)])
    assert [r.id for r in replay(second)] == [f"req-{n}" for n in range(15)]


def test_sealed_segments_seal_the_open_one_and_new_rows_go_to_a_new_one(
    make_spool: MakeSpool,
) -> None:
    spool = make_spool(1 << 20)
    spool.append([record(1)])
    sealed = spool.sealed_segments()
    assert len(sealed) == 1
    spool.append([record(2)])
    assert len(spool.segments()) == 2
    records, _ = spool.read(sealed[0])
    assert [r.id for r in records] == ["req-1"]


def test_remove_deletes_a_segment_and_its_bytes(make_spool: MakeSpool) -> None:
    spool = make_spool(1 << 20)
    spool.append([record(1), record(2)])
    assert spool.size_bytes == sum(len(encode_record(record(n))) for n in (1, 2))
    (segment,) = spool.sealed_segments()
    spool.remove(segment)
    assert spool.size_bytes == 0
    assert spool.segments() == []


def test_the_open_segment_cannot_be_removed(make_spool: MakeSpool) -> None:
    spool = make_spool(1 << 20)
    spool.append([record(1)])
    (segment,) = spool.segments()
    try:
        spool.remove(segment)
    except ValueError:
        pass
    else:
        raise AssertionError("removed the open segment")


def test_append_stops_at_the_size_cap_and_says_how_many_it_kept(make_spool: MakeSpool) -> None:
    line = len(encode_record(record(1)))
    spool = make_spool(line * 3 + line // 2)
    assert spool.append([record(n) for n in range(1, 6)]) == 3
    assert spool.size_bytes <= spool.max_bytes
    assert [r.id for r in replay(spool)] == ["req-1", "req-2", "req-3"]


def test_size_survives_a_restart(make_spool: MakeSpool) -> None:
    spool = make_spool(1 << 20)
    spool.append([record(1)])
    spool.close()
    assert make_spool(1 << 20).size_bytes == spool.size_bytes


def test_a_torn_last_line_is_skipped_and_counted(make_spool: MakeSpool) -> None:
    spool = make_spool(1 << 20)
    spool.append([record(1), record(2)])
    spool.close()
    (segment,) = spool.segments()
    data = segment.read_bytes()
    segment.write_bytes(data[: len(data) - 10])  # a crash in the middle of the second line
    records, unreadable = make_spool(1 << 20).read(segment)
    assert [r.id for r in records] == ["req-1"]
    assert unreadable == 1


def test_a_corrupt_line_is_skipped_and_the_rest_read(make_spool: MakeSpool) -> None:
    spool = make_spool(1 << 20)
    spool.append([record(1)])
    spool.close()
    (segment,) = spool.segments()
    segment.write_bytes(b"{not json\n" + segment.read_bytes() + b'{"id": "x"}\n')
    records, unreadable = spool.read(segment)
    assert [r.id for r in records] == ["req-1"]
    assert unreadable == 2


def test_a_new_run_never_appends_to_an_old_segment(make_spool: MakeSpool) -> None:
    old = make_spool(1 << 20)
    old.append([record(1)])
    old.close()
    (old_segment,) = old.segments()
    before = old_segment.read_bytes()
    new = make_spool(1 << 20)
    new.append([record(2)])
    new.sync()
    assert old_segment.read_bytes() == before
    assert len(new.segments()) == 2


def test_other_files_in_the_folder_are_ignored(tmp_path: Path, make_spool: MakeSpool) -> None:
    (tmp_path / "notes.txt").write_text("hi")
    (tmp_path / "request_logs-abc.jsonl").write_text("x")
    spool = make_spool(1 << 20)
    assert spool.segments() == []
    assert spool.size_bytes == 0


def test_the_folder_is_made_only_when_a_row_needs_it(tmp_path: Path) -> None:
    folder = tmp_path / "spool"
    spool = RequestLogSpool(folder, max_bytes=1 << 20)
    assert spool.segments() == []
    assert not folder.exists()
    spool.append([record(1)])
    spool.close()
    assert len(spool.segments()) == 1
