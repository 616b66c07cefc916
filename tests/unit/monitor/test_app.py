from __future__ import annotations

import io

from rich.console import Console, RenderableType

from monitor.app import Monitor
from monitor.exposition import parse_exposition
from monitor.health import parse_readiness
from monitor.scrape import Scrape, ScrapeError
from tests.unit.monitor.gateway_texts import gateway_text, readiness_body


def text_of(renderable: RenderableType) -> str:
    console = Console(width=150, color_system=None, record=True, file=io.StringIO())
    console.print(renderable)
    return console.export_text()


def scrape_at(time: float, traffic: bool) -> Scrape:
    snapshot = parse_exposition(gateway_text(traffic), time)
    return Scrape(snapshot, parse_readiness(readiness_body()), None)


def make_monitor(results: list[Scrape | ScrapeError]) -> Monitor:
    pending = list(results)

    def scrape() -> Scrape:
        result = pending.pop(0)
        if isinstance(result, ScrapeError):
            raise result
        return result

    return Monitor(scrape, "http://gw", interval_s=1, window_s=30, clock_text=lambda: "t")


def test_unreachable_then_recovery() -> None:
    monitor = make_monitor(
        [ScrapeError("Connection refused"), scrape_at(0, False), scrape_at(10, True)]
    )
    first = text_of(monitor.tick())
    assert "gateway unreachable at http://gw (retrying every 1s): Connection refused" in first
    assert monitor.last_error == "Connection refused"
    assert "rates need a second" in text_of(monitor.tick())
    assert not monitor.last_error  # recovered
    third = text_of(monitor.tick())
    assert "fake-echo" in third and "2.50" in third
    assert len(monitor.trends) == 1


def test_window_measures_against_the_snapshot_window_seconds_ago() -> None:
    # Traffic happened between t=0 and t=10; at t=50 with a 30 s window it is out of the window.
    monitor = make_monitor([scrape_at(0, False), scrape_at(10, True), scrape_at(50, True)])
    monitor.tick()
    monitor.tick()
    text = text_of(monitor.tick())
    fake_echo = next(line for line in text.splitlines() if line.startswith(" fake-echo"))
    assert fake_echo.split()[1] == "0.00"
    assert [round(p.requests_per_s, 2) for p in monitor.trends.values()] == [2.5, 0.0]
