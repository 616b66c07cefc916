from __future__ import annotations

import io

from rich.console import Console, RenderableType

from monitor.exposition import parse_exposition
from monitor.figures import compute_frame
from monitor.health import parse_readiness
from monitor.render import TrendPoint, dashboard, fmt_rate, fmt_seconds, unreachable
from tests.unit.monitor.gateway_texts import DOWN_ENGINE, gateway_text, readiness_body


def text_of(renderable: RenderableType, width: int = 150) -> str:
    console = Console(width=width, color_system=None, record=True, file=io.StringIO())
    console.print(renderable)
    return console.export_text()


def frame_text(cache: bool = True, health: bool = True) -> str:
    old = parse_exposition(gateway_text(traffic=False, cache=cache), 0.0)
    new = parse_exposition(gateway_text(traffic=True, cache=cache), 10.0)
    readiness = parse_readiness(readiness_body()) if health else None
    frame = compute_frame(old, new, readiness, None if health else "/health/ready: timed out")
    trends = [TrendPoint(0.5, 0.2, 5.0), TrendPoint(1.0, None, 10.0), TrendPoint(2.5, 2.25, 25.0)]
    return text_of(dashboard("http://gw:8000", frame, trends, "12:00:00", spark_width=20))


def row(text: str, name: str) -> list[str]:
    return next(line.split() for line in text.splitlines() if line.strip().startswith(name))


def test_model_row_shows_the_window_figures() -> None:
    text = frame_text()
    assert row(text, "fake-echo") == [
        "fake-echo", "2.50", "20.0", "%", "156", "ms", "2.25", "s", "2.45", "s", "8", "ms",
        "10", "ms", "25.0", "3", "6", "8.75", "s", "2", "50.0", "%",
    ]  # fmt: skip


def test_admission_queues_show_per_class_with_traffic_only() -> None:
    text = frame_text()
    assert "admission queues" in text
    normal = next(line.split() for line in text.splitlines() if " normal " in line)
    assert normal == ["fake-echo", "normal", "4", "2.00", "1", "ms", "2.35", "s", "0.30"]
    low = next(line.split() for line in text.splitlines() if " low " in line)
    assert low[:4] == ["fake-echo", "low", "2", "0.50"]
    assert not any(" high " in line for line in text.splitlines())  # no traffic: no row


def test_without_admission_metrics_there_is_no_queue_table() -> None:
    old = parse_exposition(gateway_text(traffic=False, admission=False), 0.0)
    new = parse_exposition(gateway_text(traffic=True, admission=False), 10.0)
    text = text_of(dashboard("http://gw:8000", compute_frame(old, new), [], "12:00:00"))
    assert "admission queues" not in text
    assert row(text, "fake-echo")[16:18] == ["—", "—"]  # waiting, wait95


def test_header_engines_and_components() -> None:
    text = frame_text()
    assert "http://gw:8000  degraded  window 10s  12:00:00" in text
    engine_row = next(line.split() for line in text.splitlines() if DOWN_ENGINE in line)
    assert engine_row[2:6] == ["down", "open", "—", "0"]  # health, breaker, check, engine_up
    assert engine_row[-1] == "1.00"  # engine errors per second
    assert "postgres down 3.0 ms (connection refused)" in text
    assert "redis up 0.5 ms" in text


def test_trends_show_sparklines_latest_and_max() -> None:
    text = frame_text()
    assert row(text, "│ req/s")[2:] == ["▂▄█", "2.50", "max", "2.50", "│"]
    assert row(text, "│ P95 latency")[3:7] == ["▂", "█", "2.25", "s"]  # 0.2 s, a gap, 2.25 s


def test_without_cache_metric_the_table_says_so() -> None:
    text = frame_text(cache=False)
    assert "no cache metric" in text
    assert row(text, "fake-echo")[-1] == "2"  # the queued column ends the row


def test_health_unavailable_is_shown_not_fatal() -> None:
    text = frame_text(health=False)
    assert "health unavailable (/health/ready: timed out)" in text
    assert row(text, "fake-echo")[1] == "2.50"


def test_unreachable_message() -> None:
    text = text_of(unreachable("http://gw:1", 2, "[Errno 111] Connection refused", "now"))
    assert "gateway unreachable at http://gw:1 (retrying every 2s): [Errno 111] Connection" in text


def test_formats() -> None:
    assert [fmt_rate(v) for v in (None, 0.123, 12.34, 4321.0)] == ["—", "0.12", "12.3", "4321"]
    assert [fmt_seconds(v) for v in (None, 0.0042, 0.5, 1.234)] == ["—", "4 ms", "500 ms", "1.23 s"]
