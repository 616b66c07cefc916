"""A sweep's report as `reporting` writes it, from records of an M/D/1-like server: each
rate's figures from `step_figures`, the section from `sweep_section`."""

from __future__ import annotations

import random
from typing import Any

from load_tests.objectives import Objectives
from load_tests.request_record import Answer, RequestRecord
from load_tests.step_figures import StepPlan, step_figures
from load_tests.sweep import sweep_section

OBJECTIVES = Objectives(ttft_ms=300, e2e_ms=1000)
SERVICE_S = 0.25  # one request at a time: capacity 4/s


def served(rate: float, window_s: float, seed: int) -> list[RequestRecord]:
    """Poisson arrivals at `rate` to one server taking SERVICE_S each, first come first
    served: latency grows without bound past 4/s."""
    rng = random.Random(seed)
    records, at, free_at = [], 0.0, 0.0
    while at < window_s:
        start = max(at, free_at)
        free_at = start + SERVICE_S
        ttft_ms = (start - at) * 1000 + 20
        answer = Answer(ok=True, ttft_ms=ttft_ms, itl_ms=(10.0,) * 7, client_tokens=8,
                        server_tokens=8)  # fmt: skip
        records.append(RequestRecord(at, at, free_at, answer))
        at += rng.expovariate(rate)
    return records


def sweep_report(rates: tuple[float, ...] = (1, 2, 4, 8)) -> dict[str, Any]:
    steps = [
        step_figures(StepPlan(rate, 0.0, 30.0, 1.0, 0), served(rate, 30.0, 0), OBJECTIVES)
        for rate in rates
    ]
    return {
        "config": {"model": "m", "host": "http://gateway", "arrivals": {"mode": "open-loop"}},
        "sweep": sweep_section(steps, list(rates), OBJECTIVES),
    }
