"""report.json figures from Locust's merged rows."""

from __future__ import annotations

import pytest

from load_tests.report import (
    CHAT,
    ITL,
    TOOLCALL,
    TTFT,
    USAGE,
    StatsRow,
    build_report,
    percentile,
)


def row(
    kind: str, name: str, times: dict[float, int], failures: int = 0, length: int = 0
) -> StatsRow:
    count = sum(times.values())
    return StatsRow(
        request_type=kind,
        name=name,
        num_requests=count,
        num_failures=failures,
        response_times=times,
        max_response_time=max(times, default=0.0),
        total_response_time=sum(ms * n for ms, n in times.items()),
        total_content_length=length,
    )


@pytest.mark.parametrize(
    ("histogram", "percent", "expected"),
    [
        ({100.0: 1}, 50, 100.0),
        ({1.0: 50, 2.0: 50}, 50, 1.0),
        ({1.0: 50, 2.0: 50}, 51, 2.0),
        ({10.0: 98, 500.0: 1, 900.0: 1}, 99, 500.0),
        ({10.0: 98, 500.0: 1, 900.0: 1}, 100, 900.0),
        ({}, 50, None),
    ],
)
def test_percentile_is_nearest_rank(
    histogram: dict[float, int], percent: float, expected: float | None
) -> None:
    assert percentile(histogram, percent) == expected


def test_figures_per_scenario_and_overall() -> None:
    rows = [
        row(CHAT, "short", {100.0: 8, 200.0: 2}, failures=1),
        row(USAGE, "short", {10.0: 10}, length=100),
        row(CHAT, "stream", {1000.0: 10}),
        row(TTFT, "stream", {50.0: 9, 90.0: 1}),
        row(ITL, "stream", {5.0: 90, 30.0: 10}),
        row(USAGE, "stream", {20.0: 10}, length=200),
    ]
    report = build_report(rows, duration_s=10.0, config={"scenario": "mixed"})

    assert report["config"] == {"scenario": "mixed"}
    assert set(report["scenarios"]) == {"short", "stream"}
    short = report["scenarios"]["short"]
    assert short["requests"] == 10
    assert short["failures"] == 1
    assert short["error_rate"] == 0.1
    assert short["requests_per_s"] == 1.0
    assert short["latency_ms"] == {
        "p50": 100.0, "p90": 200.0, "p95": 200.0, "p99": 200.0, "max": 200.0, "avg": 120.0
    }  # fmt: skip
    assert short["ttft_ms"] is None  # not streamed: no time to first token
    assert short["itl_ms"] is None
    assert short["output_tokens"] == 100
    assert short["output_tokens_per_s"] == 10.0
    stream = report["scenarios"]["stream"]
    assert stream["ttft_ms"] == {"p50": 50.0, "p95": 90.0, "p99": 90.0}
    assert stream["itl_ms"] == {"p50": 5.0, "p95": 30.0, "p99": 30.0}

    overall = report["overall"]
    assert overall["requests"] == 20
    assert overall["failures"] == 1
    assert overall["error_rate"] == 0.05
    assert overall["latency_ms"]["p50"] == 200.0
    assert overall["latency_ms"]["p99"] == 1000.0
    assert overall["ttft_ms"] == stream["ttft_ms"]
    assert overall["output_tokens"] == 300
    assert overall["output_tokens_per_s"] == 30.0


def test_a_bucket_above_the_slowest_request_is_capped_at_it() -> None:
    # Locust files 1582 ms under 1600: no percentile may exceed the true maximum.
    chat = row(CHAT, "long", {1600.0: 1})
    capped = StatsRow(**{**chat.__dict__, "max_response_time": 1582.25})
    figures = build_report([capped], 1.0, {})["overall"]
    assert figures["latency_ms"]["p99"] == 1582.25
    assert figures["latency_ms"]["max"] == 1582.25


def test_an_empty_run_reports_no_figures_rather_than_zeros() -> None:
    overall = build_report([], 0.0, {})["overall"]
    assert overall["requests"] == 0
    assert overall["error_rate"] is None
    assert overall["requests_per_s"] is None
    assert overall["latency_ms"]["p50"] is None
    assert overall["ttft_ms"] is None


def test_tool_call_rate_counts_answers_with_the_named_call() -> None:
    rows = [
        row(CHAT, "tools", {300.0: 4}),
        row(TOOLCALL, "tools", {0.0: 4}, failures=1),
        row(CHAT, "short", {100.0: 4}),
    ]
    report = build_report(rows, 1.0, {})
    assert report["scenarios"]["tools"]["tool_call_rate"] == 0.75
    assert report["scenarios"]["short"]["tool_call_rate"] is None
    assert report["overall"]["tool_call_rate"] == 0.75
    assert report["overall"]["failures"] == 0  # a malformed call is not a failed request
