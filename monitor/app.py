"""One refresh of the dashboard: scrape, keep history, compute the window's figures, render."""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from rich.console import RenderableType

from monitor.exposition import Snapshot
from monitor.figures import compute_frame
from monitor.history import RingBuffer
from monitor.render import TrendPoint, dashboard, unreachable, waiting
from monitor.scrape import Scrape, ScrapeError


class Monitor:
    """Holds the snapshots a `window_s` window needs and `trend_s` seconds of trend points."""

    def __init__(
        self,
        scrape: Callable[[], Scrape],
        url: str,
        interval_s: float,
        window_s: float,
        trend_s: float = 300.0,
        clock_text: Callable[[], str] = lambda: time.strftime("%H:%M:%S"),
    ) -> None:
        self._scrape = scrape
        self.url = url
        self.interval_s = interval_s
        self.window_s = window_s
        self._clock_text = clock_text
        self.snapshots: RingBuffer[Snapshot] = RingBuffer(math.ceil(window_s / interval_s) + 5)
        self.trends: RingBuffer[TrendPoint] = RingBuffer(max(2, math.ceil(trend_s / interval_s)))
        self.last_error: str | None = None

    def tick(self, spark_width: int = 60) -> RenderableType:
        clock = self._clock_text()
        try:
            result = self._scrape()
        except ScrapeError as exc:
            self.last_error = str(exc)
            return unreachable(self.url, self.interval_s, self.last_error, clock)
        self.last_error = None
        now = result.snapshot.time
        start = self.snapshots.window_start(now, self.window_s)
        self.snapshots.append(now, result.snapshot)
        if start is None:
            return waiting(self.url, clock)
        frame = compute_frame(start, result.snapshot, result.readiness, result.health_error)
        total = frame.total
        point = TrendPoint(total.requests_per_s, total.latency_p95, total.output_tokens_per_s)
        self.trends.append(now, point)
        return dashboard(self.url, frame, self.trends.values(), clock, spark_width)
