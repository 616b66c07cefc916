"""A bounded ring buffer of timed items: the snapshots a window is measured against, and the
trend values behind the sparklines."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from typing import Generic, TypeVar

T = TypeVar("T")


class RingBuffer(Generic[T]):
    """Items in time order; the oldest is dropped once `capacity` is reached."""

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self._items: deque[tuple[float, T]] = deque(maxlen=capacity)

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[tuple[float, T]]:
        return iter(self._items)

    def append(self, time: float, item: T) -> None:
        self._items.append((time, item))

    def latest(self) -> T | None:
        return self._items[-1][1] if self._items else None

    def window_start(self, now: float, window_s: float) -> T | None:
        """The item to measure a `window_s` window ending at `now` against: the newest one
        taken at or before `now - window_s`, else (history still shorter than the window)
        the oldest one older than `now`. None when there is none."""
        cutoff = now - window_s
        chosen: T | None = None
        for time, item in self._items:
            if time <= cutoff:
                chosen = item
            elif chosen is None and time < now:
                return item
            else:
                break
        return chosen

    def values(self) -> list[T]:
        return [item for _, item in self._items]
