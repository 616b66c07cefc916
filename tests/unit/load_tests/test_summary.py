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


def sweep_step(rate: float, met: bool, achieved: float, p50: float) -> dict[str, Any]:
    return {
        "rate": rate, "warmup_s": 5.0, "window_s": 30.0, "burstiness": 1.0, "seed": 0,
        "requests": int(rate * 30), "offered_per_s": rate, "achieved_per_s": achieved,
        "output_tokens_per_s": achieved * 32, "goodput_per_s": achieved if met else 0.5,
        "failures": 0, "timeouts": 0, "error_rate": 0.0,
        "e2e_ms": {"p50": p50, "p90": p50 * 1.5, "p99": p50 * 2},
        "ttft_ms": {"p50": 40.0, "p90": 60.0, "p99": 90.0},
        "tpot_ms": {"p50": 20.0, "p90": 25.0, "p99": 30.0},
        "itl_ms": {"p50": 20.0, "p90": 25.0, "p99": 31.0},
        "attainment": {"e2e_ms": 1.0 if met else 0.2, "all": 1.0 if met else 0.2},
        "met_objectives": met, "send_lateness_ms": {"p50": 1.0, "p90": 2.0, "p99": 3.0},
        "client_cpu_percent": 12.0,
    }  # fmt: skip


def sweep_report(steps: list[dict[str, Any]], best: float | None) -> dict[str, Any]:
    report = build_report([stats_row(CHAT, {900.0: 10})], 60.0, CONFIG)
    report["config"]["arrivals"] = {"mode": "open-loop", "rates": "2,4,8"}
    report["sweep"] = {
        "objectives": {"e2e_ms": 1000.0, "min_attainment": 0.9},
        "steps": steps,
        "max_goodput_rate": best,
        "saturation": {"rate": 8, "why": "achieved 63% of the offered rate"},
        "passed": best is not None,
    }
    return report


def test_a_sweep_prints_one_row_per_rate_and_what_they_say() -> None:
    steps = [sweep_step(8, False, 5.0, 4000.0), sweep_step(2, True, 2.0, 300.0)]
    lines = format_summary(sweep_report(steps, 2), [], "x").splitlines()
    assert lines[0].startswith("load test · scenario stream · open loop, sweep 2,4,8 · 60 s")
    assert "objectives: e2e <= 1000 ms; a rate meets them when 90% of requests do" in lines
    rows = [line for line in lines if line.lstrip().startswith(("2 ", "8 "))]
    assert [row.split()[0] for row in rows] == ["2", "8"]  # by rate
    assert rows[0].split()[-1] == "yes" and rows[1].split()[-1] == "no"
    assert "4000/6000/8000" in rows[1]
    assert "max goodput rate: 2 req/s (the highest rate meeting the objectives)" in lines
    assert "saturation from: 8 req/s (achieved 63% of the offered rate)" in lines
    assert "sweep (profile cpu): PASS" in lines
    assert not any(line.startswith("thresholds") for line in lines)  # they merge every rate
    assert not any(line.startswith("client:") for line in lines)


def test_a_sweep_where_nothing_met_the_objectives_fails_and_a_busy_client_is_named() -> None:
    busy = {**sweep_step(8, False, 5.0, 4000.0), "client_cpu_percent": 97.0}
    lines = format_summary(sweep_report([sweep_step(4, False, 4.0, 900.0), busy], None), [], "x")
    assert "max goodput rate: none (no rate met the objectives)" in lines
    assert "sweep (profile cpu): FAIL (no rate met the objectives)" in lines
    assert "client: busy or late at 8 req/s" in lines


def test_a_single_rate_keeps_the_thresholds_and_adds_its_row() -> None:
    report = sweep_report([sweep_step(4, True, 4.0, 300.0)], 4)
    report["config"]["arrivals"]["rates"] = "4.0"
    checks = evaluate(report["overall"], {"error_rate": 0.001})
    lines = format_summary(report, checks, "x").splitlines()
    assert lines[0].startswith("load test · scenario stream · open loop at 4 req/s · ")
    assert "open loop, measured window only:" in lines
    assert "thresholds (profile cpu): PASS" in lines
    assert "max goodput rate: 4 req/s (the highest rate meeting the objectives)" in lines
