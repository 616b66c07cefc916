"""The plain-text summary."""

from __future__ import annotations

from load_tests.report import CHAT, TTFT, StatsRow, build_report
from load_tests.summary import format_summary
from load_tests.thresholds import evaluate

CONFIG = {
    "scenario": "stream", "users": 2, "model": "m", "host": "http://gw", "max_tokens": 16,
    "cache_friendly": False, "profile": "cpu",
}  # fmt: skip


def stats_row(kind: str, times: dict[float, int]) -> StatsRow:
    return StatsRow(kind, "stream", sum(times.values()), 0, times, max(times), 0.0, 0)


def test_summary_lists_scenarios_overall_and_each_check() -> None:
    report = build_report(
        [stats_row(CHAT, {900.0: 10}), stats_row(TTFT, {120.0: 10})], 10.0, CONFIG
    )
    checks = evaluate(report["overall"], {"latency_p50_ms": 500, "error_rate": 0.001})
    text = format_summary(report, checks, "load_tests/reports/x")
    lines = text.splitlines()
    assert lines[0].startswith("load test · scenario stream · 2 users · 10 s · m @ http://gw")
    assert any(line.startswith("stream ") and "120/120" in line for line in lines)
    assert any(line.startswith("overall ") for line in lines)
    assert "thresholds (profile cpu): FAIL" in lines
    assert "  FAIL latency_p50_ms            900 ms <= 500 ms" in lines
    assert "  ok   error_rate                     0 <= 0.001" in lines
    assert lines[-1].startswith("report: load_tests/reports/x/report.json")


def test_a_run_without_answers_still_has_a_summary() -> None:
    report = build_report([stats_row(CHAT, {1.0: 3})], 2.0, CONFIG)
    report["overall"]["latency_ms"]["p50"] = None
    checks = evaluate(report["overall"], {"latency_p50_ms": 500, "ttft_p95_ms": 100})
    lines = format_summary(report, checks, "x").splitlines()
    assert "  FAIL latency_p50_ms           no data <= 500 ms" in lines
    assert "  n/a  ttft_p95_ms              no data <= 100 ms" in lines
