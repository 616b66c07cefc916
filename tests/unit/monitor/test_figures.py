from __future__ import annotations

import pytest

from monitor.exposition import parse_exposition
from monitor.figures import Frame, compute_frame, is_error_status
from monitor.health import parse_readiness
from tests.unit.monitor.gateway_texts import (
    DOWN_ENGINE,
    ECHO_ENGINE,
    gateway_text,
    readiness_body,
)


def frame(cache: bool = True, queue: bool = True) -> Frame:
    old = parse_exposition(gateway_text(traffic=False, cache=cache, queue=queue), 100.0)
    new = parse_exposition(gateway_text(traffic=True, cache=cache, queue=queue), 110.0)
    return compute_frame(old, new, parse_readiness(readiness_body()))


def test_rates_over_the_window() -> None:
    echo = frame().models["fake-echo"]
    assert echo.requests_per_s == pytest.approx(2.5)  # 25 requests in 10 s
    assert echo.error_ratio == pytest.approx(0.2)  # 5 x 503
    assert echo.output_tokens_per_s == pytest.approx(25.0)


def test_latency_percentiles_from_bucket_increases() -> None:
    echo = frame().models["fake-echo"]
    # cumulative: ≤0.025: 8, ≤0.25: 20, ≤2.5: 25
    assert echo.latency_p50 == pytest.approx(0.1 + 0.15 * (12.5 - 8) / 12)
    assert echo.latency_p95 == pytest.approx(1.5 + 1.0 * (23.75 - 20) / 5)
    assert echo.latency_p99 == pytest.approx(1.5 + 1.0 * (24.75 - 20) / 5)
    assert echo.ttft_p50 == pytest.approx(0.005 + 0.005 * 12.5 / 25)
    assert echo.ttft_p95 == pytest.approx(0.005 + 0.005 * 23.75 / 25)


def test_gauges_and_cache_ratio() -> None:
    echo = frame().models["fake-echo"]
    assert echo.in_flight == 3
    assert echo.queued == 2
    assert echo.cache_hit_ratio == pytest.approx(0.5)  # 10 hits of 20 lookups; bypass left out


def test_total_row_sums_models() -> None:
    f = frame()
    assert f.total.requests_per_s == pytest.approx(2.5)
    assert f.total.latency_p95 == f.models["fake-echo"].latency_p95
    assert f.window_s == 10.0


def test_engines_join_gauges_errors_and_health() -> None:
    engines = {(e.model, e.engine): e for e in frame().engines}
    echo = engines[("fake-echo", ECHO_ENGINE)]
    assert (echo.up, echo.in_flight, echo.queued, echo.errors_per_s) == (True, 1, 2, 0)
    assert echo.health is not None and echo.health.status == "up"
    down = engines[("engine-down", DOWN_ENGINE)]
    assert down.up is False
    assert down.errors_per_s == pytest.approx(1.0)


def test_models_without_requests_have_no_percentiles() -> None:
    down = frame().models["engine-down"]
    assert down.requests_per_s == 0
    assert down.error_ratio is None and down.latency_p95 is None


def test_admission_queue_figures_per_model_and_class() -> None:
    f = frame()
    echo = f.models["fake-echo"]
    assert echo.waiting == 6  # 4 normal + 2 low
    # waits: 10 at 0, 10 at 2 s, 5 at 8 s: P95 in the (5, 10] bucket
    assert echo.wait_p95 == pytest.approx(5 + 5 * (23.75 - 20) / 5)
    queues = {(q.model, q.priority): q for q in f.queues}
    assert [q.priority for q in f.queues] == ["normal", "low"]  # served first to last; high idle
    normal = queues[("fake-echo", "normal")]
    assert (normal.waiting, normal.admitted_per_s, normal.refused_per_s) == (4, 2.0, 0.3)
    assert normal.wait_p50 == pytest.approx(0.001)  # half let in at once
    assert queues[("fake-echo", "low")].wait_p95 == pytest.approx(5 + 5 * (4.75 - 0) / 5)
    assert f.models["engine-down"].waiting is None  # a model without a queue


def test_absent_cache_and_queue_metrics() -> None:
    f = frame(cache=False, queue=False)
    assert not f.has_cache
    assert f.models["fake-echo"].cache_hit_ratio is None
    assert f.models["fake-echo"].queued is None


def test_identical_snapshots_give_zero_rates() -> None:
    snapshot = parse_exposition(gateway_text(traffic=True), 5.0)
    f = compute_frame(snapshot, snapshot)
    assert f.total.requests_per_s == 0 and f.window_s == 0


@pytest.mark.parametrize(
    ("status", "error"), [("200", False), ("400", True), ("503", True), ("", False), ("x", False)]
)
def test_error_statuses(status: str, error: bool) -> None:
    assert is_error_status({"status": status}) is error
