"""Unicode block sparklines (▁▂▃▄▅▆▇█) for the trend of a figure."""

from __future__ import annotations

import math
from collections.abc import Sequence

BLOCKS = "▁▂▃▄▅▆▇█"


def resample(values: Sequence[float | None], width: int) -> list[float | None]:
    """At most `width` points: consecutive values merged into their maximum (a spike stays
    visible), the newest values kept at the right end. None marks a gap (no data)."""
    if width < 1:
        return []
    if len(values) <= width:
        return list(values)
    size = len(values) / width
    merged: list[float | None] = []
    for i in range(width):
        chunk = [v for v in values[int(i * size) : int((i + 1) * size)] if v is not None]
        merged.append(max(chunk) if chunk else None)
    return merged


def sparkline(values: Sequence[float | None], width: int, floor: float = 0.0) -> str:
    """A line of blocks scaled from `floor` (▁) to the largest value (█); gaps (None, NaN)
    are spaces; a line that never rises above `floor` is all ▁."""
    points = resample([v if v is not None and math.isfinite(v) else None for v in values], width)
    present = [v for v in points if v is not None]
    if not present:
        return " " * len(points)
    top = max(present)
    span = top - floor
    line = []
    for v in points:
        if v is None:
            line.append(" ")
        elif span <= 0:
            line.append(BLOCKS[0])
        else:
            step = round((max(v, floor) - floor) / span * (len(BLOCKS) - 1))
            line.append(BLOCKS[step])
    return "".join(line)
