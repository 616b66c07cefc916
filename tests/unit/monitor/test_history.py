from __future__ import annotations

import pytest

from monitor.history import RingBuffer


def filled(times: list[float], capacity: int = 10) -> RingBuffer[str]:
    buffer: RingBuffer[str] = RingBuffer(capacity)
    for t in times:
        buffer.append(t, f"at {t:g}")
    return buffer


def test_capacity_drops_the_oldest() -> None:
    buffer = filled([1, 2, 3, 4], capacity=3)
    assert buffer.values() == ["at 2", "at 3", "at 4"]
    assert len(buffer) == 3
    assert buffer.latest() == "at 4"


def test_window_start_is_the_newest_item_at_or_before_the_window() -> None:
    buffer = filled([0, 1, 2, 3, 4, 5])
    assert buffer.window_start(now=5, window_s=3) == "at 2"
    assert buffer.window_start(now=5.5, window_s=3) == "at 2"
    assert buffer.window_start(now=5, window_s=2.5) == "at 2"


def test_window_start_falls_back_to_the_oldest_while_history_is_short() -> None:
    buffer = filled([10, 11])
    assert buffer.window_start(now=12, window_s=30) == "at 10"


def test_window_start_needs_an_item_older_than_now() -> None:
    assert filled([]).window_start(now=5, window_s=1) is None
    assert filled([5]).window_start(now=5, window_s=1) is None


def test_capacity_must_be_positive() -> None:
    with pytest.raises(ValueError):
        RingBuffer[int](0)
