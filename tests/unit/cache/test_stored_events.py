from __future__ import annotations

import time

import pytest

from api_server.cache.stored_events import (
    RecordingError,
    TimedEvent,
    decode_recording,
    encode_recording,
    replay,
)
from api_server.chat.events import (
    ChatEvent,
    Finished,
    Logprobs,
    TextDelta,
    TokenLogprob,
    ToolCallArgumentsDelta,
    ToolCallStart,
    TopLogprob,
    Usage,
)

EVENTS: list[TimedEvent] = [
    (
        10.0,
        Logprobs(
            (
                TokenLogprob(
                    "Let", -0.1, (76, 101, 116), (TopLogprob("Let", -0.1, (76, 101, 116)),)
                ),
                TokenLogprob(" me", -0.2, None, ()),
            )
        ),
    ),
    (12.34, TextDelta("Let me check.")),
    (20.0, ToolCallStart(0, "get_weather", "abc123")),
    (25.5, ToolCallArgumentsDelta(0, '{"city": ')),
    (30.0, ToolCallArgumentsDelta(0, '"Paris"}')),
    (31.0, Finished("tool_calls", Usage(11, 7))),
]


def test_round_trip_keeps_every_event_and_its_time() -> None:
    decoded = decode_recording(encode_recording(EVENTS))
    assert [e for _, e in decoded] == [e for _, e in EVENTS]
    assert [ms for ms, _ in decoded] == pytest.approx([ms for ms, _ in EVENTS], abs=0.05)


def test_stop_sequence_survives() -> None:
    events: list[TimedEvent] = [(0.0, TextDelta("a")), (1.0, Finished("stop", Usage(1, 1), "##"))]
    assert decode_recording(encode_recording(events))[-1][1] == events[-1][1]


@pytest.mark.parametrize(
    "data",
    [
        b"not json",
        b'{"v": 2, "e": []}',
        b'{"v": 1, "e": []}',
        b'{"v": 1, "e": [[0, "t", "unfinished"]]}',
        b'{"v": 1, "e": [[0, "x"]]}',
        b'{"v": 1, "e": [[0, "f", "exploded", 1, 1, null]]}',
    ],
)
def test_garbage_is_refused(data: bytes) -> None:
    with pytest.raises(RecordingError):
        decode_recording(data)


async def _collect(events: list[TimedEvent], max_ms: float | None) -> tuple[list[ChatEvent], float]:
    started = time.perf_counter()
    out = [event async for event in replay(events, max_ms)]
    return out, (time.perf_counter() - started) * 1000


async def test_unpaced_replay_is_immediate() -> None:
    slow: list[TimedEvent] = [(i * 1000.0, TextDelta(str(i))) for i in range(5)]
    out, elapsed = await _collect([*slow, (5000.0, Finished("stop", Usage(1, 5)))], None)
    assert len(out) == 6
    assert elapsed < 50


async def test_paced_replay_keeps_the_shape_within_the_cap() -> None:
    # 100 ms of original stream after the first event, replayed within a 40 ms cap.
    events: list[TimedEvent] = [(50.0 + i * 20, TextDelta(str(i))) for i in range(5)]
    events.append((150.0, Finished("stop", Usage(1, 5))))
    out, elapsed = await _collect(events, 40)
    assert [e for _, e in events] == out
    assert 35 <= elapsed < 100
    out, elapsed = await _collect(events, 10_000)  # under the cap: the original pace
    assert 95 <= elapsed < 200
