"""One open-loop step's figures from its records."""

from __future__ import annotations

from dataclasses import replace

import pytest

from load_tests.objectives import Objectives
from load_tests.request_record import Answer, RequestRecord
from load_tests.step_figures import StepPlan, bounded_samples, step_figures

PLAN = StepPlan(rate=2.0, warmup_s=1.0, window_s=10.0, burstiness=1.0, seed=0)


def record(
    scheduled_s: float, e2e_s: float, ok: bool = True, ttft_ms: float = 50.0
) -> RequestRecord:
    answer = (
        Answer(ok=True, ttft_ms=ttft_ms, itl_ms=(10.0, 30.0), client_tokens=3, server_tokens=3)
        if ok
        else Answer(ok=False, timed_out=True, error="timed out")
    )
    return RequestRecord(scheduled_s, scheduled_s, scheduled_s + e2e_s, answer)


def test_latencies_come_from_the_window_and_throughput_from_what_ended_in_it() -> None:
    records = [
        record(-0.5, 1.0),  # warm-up: ends at 0.5, inside the window
        *[record(float(t), 0.2) for t in range(9)],  # 0 .. 8
        record(9.5, 2.0),  # sent in the window, ends after it: measured, not delivered
    ]
    figures = step_figures(PLAN, records, Objectives(e2e_ms=1500))
    assert figures["requests"] == 10
    assert figures["offered_per_s"] == 1.0
    assert figures["achieved_per_s"] == 1.0  # the warm-up answer and 0 .. 8
    assert figures["output_tokens_per_s"] == 3.0
    assert figures["e2e_ms"]["p50"] == pytest.approx(200)
    assert figures["e2e_ms"]["p99"] == pytest.approx(2000)
    assert figures["attainment"] == {"e2e_ms": 0.9, "all": 0.9}
    assert figures["met_objectives"] is True  # 90 % of requests, the default share
    assert figures["goodput_per_s"] == 1.0
    assert figures["tpot_ms"]["p50"] == pytest.approx((200 - 50) / 2)
    assert figures["itl_ms"] == {"p50": 10.0, "p90": 30.0, "p99": 30.0}


def test_failures_and_timeouts_count_against_attainment_not_in_latencies() -> None:
    records = [record(float(t), 0.1) for t in range(7)] + [
        record(float(t), 5.0, ok=False) for t in range(7, 10)
    ]
    figures = step_figures(PLAN, records, Objectives(ttft_ms=100))
    assert figures["failures"] == 3
    assert figures["timeouts"] == 3
    assert figures["error_rate"] == 0.3
    assert figures["e2e_ms"]["p99"] == pytest.approx(100)  # the successful ones only
    assert figures["attainment"]["all"] == 0.7
    assert figures["met_objectives"] is False
    assert figures["goodput_per_s"] == 0.7


def test_a_step_without_requests_meets_nothing() -> None:
    figures = step_figures(PLAN, [], Objectives(e2e_ms=100))
    assert figures["requests"] == 0
    assert figures["error_rate"] is None
    assert figures["met_objectives"] is False
    assert figures["e2e_ms"] == {"p50": None, "p90": None, "p99": None}


def test_samples_are_bounded_seeded_and_in_send_order() -> None:
    records = [record(t / 100, 0.1) for t in range(500)]
    samples = bounded_samples(records, limit=50, seed=3)
    assert samples["of"] == 500
    assert len(samples["rows"]) == 50
    assert samples["fields"][:2] == ["scheduled_s", "sent_s"]
    sent = [row[1] for row in samples["rows"]]
    assert sent == sorted(sent)
    assert samples == bounded_samples(records, limit=50, seed=3)
    assert len(bounded_samples(records[:20], limit=50, seed=3)["rows"]) == 20


def test_repeats_pool_their_windows_and_report_each_runs_spread() -> None:
    """Two runs of a 10 s window: one answering in 0.2 s, one in 0.6 s. The figures pool
    them over 20 s; the spread shows each run's own."""
    fast = [record(float(t), 0.2) for t in range(10)]
    slow = [replace(record(float(t), 0.6), repeat=1) for t in range(10)]
    figures = step_figures(PLAN, fast + slow, Objectives(e2e_ms=500), repeats=2)
    assert figures["repeats"] == 2 and figures["requests"] == 20
    assert figures["offered_per_s"] == 1.0 and figures["achieved_per_s"] == 1.0
    assert figures["goodput_per_s"] == 0.5
    assert figures["attainment"]["all"] == 0.5
    assert figures["spread"]["goodput_per_s"] == [0.0, 1.0]
    assert figures["spread"]["e2e_ms.p50"] == [pytest.approx(200), pytest.approx(600)]
    assert figures["spread"]["attainment.all"] == [0.0, 1.0]
    assert {row[-1] for row in figures["samples"]["rows"]} == {0, 1}  # each run's window
    assert step_figures(PLAN, fast, Objectives(e2e_ms=500))["spread"] is None
