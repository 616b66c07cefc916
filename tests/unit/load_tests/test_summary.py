"""The plain-text summary."""

from __future__ import annotations

from typing import Any

from load_tests.report import CHAT, TTFT, StatsRow, build_report
from load_tests.summary import format_suite_summary, format_summary
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


def test_a_fixed_count_run_says_so_first() -> None:
    config = {**CONFIG, "users": 8, "requests": 10}
    report = build_report([stats_row(CHAT, {900.0: 10})], 4.0, config)
    lines = format_summary(report, [], "x").splitlines()
    assert lines[0].startswith("load test · scenario stream · 10 requests at concurrency 8 · 4.0 s")
    assert lines[1] == "latencies in ms"


def test_a_fixed_count_run_cut_by_the_duration_cap_says_how_far_it_got() -> None:
    config = {**CONFIG, "requests": 50}
    report = build_report([stats_row(CHAT, {900.0: 10})], 4.0, config)
    lines = format_summary(report, [], "x").splitlines()
    assert lines[1] == "stopped after 10 of 50 requests: the --duration cap came first"


def suite_run(latency_ms: float, passed: bool) -> dict[str, Any]:
    report = build_report([stats_row(CHAT, {latency_ms: 4})], 2.0, {**CONFIG, "requests": 4})
    checks = evaluate(report["overall"], {"latency_p50_ms": 500, "error_rate": 0.001})
    report["thresholds"] = {
        "profile": "cpu", "passed": passed, "checks": [check.as_dict() for check in checks]
    }  # fmt: skip
    return report


def test_the_suite_summary_has_a_row_and_a_verdict_per_scenario() -> None:
    suite = {
        "runs": {"short": suite_run(100.0, True), "long": suite_run(900.0, False), "stream": None},
        "thresholds": {"profile": "cpu", "passed": False, "failed": ["long", "stream"]},
    }
    lines = format_suite_summary(suite, "out").splitlines()
    assert lines[0].startswith(
        "load test · scenario all (short, long, stream) · 4 requests at concurrency 2 each · "
        "4.0 s in all · m @ http://gw"
    )
    assert lines[3].startswith("short          4     0   0.00   2.00    100")
    assert lines[4].startswith("long           4     0   0.00   2.00    900")
    assert lines[5] == "stream    no report"
    assert lines[6:10] == [
        "thresholds (profile cpu): FAIL",
        "  ok   short",
        "  FAIL long: latency_p50_ms",
        "  FAIL stream: no report",
    ]
    assert lines[-1] == "reports: out/<scenario>/summary.txt, out/report.json"
