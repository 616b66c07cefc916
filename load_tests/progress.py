"""The progress of an open-loop step while it runs: a bar of the step's schedule (warm-up
and window), with requests sent and answered. On a terminal it redraws one line in place;
into a file or a pipe (CI logs) it writes a line at each quarter instead of one a second."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TextIO

BAR_WIDTH = 24


def bar(fraction: float, width: int = BAR_WIDTH) -> str:
    """`[#########...............]` for `fraction` (clamped to 0..1) of `width` cells."""
    filled = round(max(0.0, min(1.0, fraction)) * width)
    return "[" + "#" * filled + "." * (width - filled) + "]"


class StepProgress:
    """Told every second how far a step is; draws it as `label [###...] 12/30 s · 40 sent ·
    35 answered`."""

    def __init__(self, label: str, total_s: float, out: TextIO | None = None) -> None:
        self.label = label
        self.total_s = total_s
        self.out = out or sys.stdout
        self.live = self.out.isatty()
        self._quarters_shown = 0

    def tick(self, elapsed_s: float, sent: int, answered: int) -> None:
        fraction = elapsed_s / self.total_s if self.total_s > 0 else 1.0
        line = (
            f"{self.label} {bar(fraction)} {min(elapsed_s, self.total_s):.0f}/"
            f"{self.total_s:.0f} s · {sent} sent · {answered} answered"
        )
        if self.live:
            self.out.write("\r" + line + "\x1b[K")
            self.out.flush()
            return
        quarter = int(min(fraction, 1.0) * 4)
        if quarter > self._quarters_shown:
            self._quarters_shown = quarter
            self.out.write(line + "\n")
            self.out.flush()

    def done(self) -> None:
        """Leave the terminal's line for the step's summary."""
        if self.live:
            self.out.write("\r\x1b[K")
            self.out.flush()


ProgressFactory = Callable[[str, float], StepProgress]
