"""Which rates a sweep runs, and what its steps say: the max goodput rate and saturation.

`SWEEP=1,2,4` runs the listed rates. `SWEEP=auto` starts at a low rate and doubles it until a
step misses the objectives, then bisects between the highest rate that met them and the
lowest that did not, for a bounded number of steps. Pure: the runner asks `next_auto_rate`
for each step with the verdicts so far.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from load_tests.objectives import Objectives

AUTO = "auto"
SATURATION_SHARE = 0.9  # achieved below 90 % of offered: the server no longer keeps up
LATENCY_GROWTH = 2.0  # median E2E more than twice the lightest step's: queues are growing


@dataclass(frozen=True)
class AutoSweep:
    start_rate: float = 1.0
    max_doublings: int = 10  # stop even if nothing fails: 1 → 1024 req/s
    bisect_steps: int = 3


@dataclass(frozen=True)
class StepVerdict:
    rate: float  # asked for
    met_objectives: bool
    offered_per_s: float  # what the seeded schedule actually sent in the window
    achieved_per_s: float
    e2e_p50_ms: float | None
    window_s: float = 0.0  # the measured window (0: unknown, no allowance for answers in flight)


def parse_rates(text: str) -> list[float] | None:
    """`1,2,4` → [1.0, 2.0, 4.0]; `auto` → None. Raises ValueError."""
    if text.strip() == AUTO:
        return None
    rates = [float(part) for part in text.split(",") if part.strip()]
    if not rates or any(rate <= 0 for rate in rates):
        raise ValueError(f"expected rates above 0 separated by commas, or 'auto': {text!r}")
    return rates


def next_auto_rate(verdicts: Sequence[StepVerdict], plan: AutoSweep) -> float | None:
    """The next rate to run, or None when the sweep is done."""
    if not verdicts:
        return plan.start_rate
    failed = [v.rate for v in verdicts if not v.met_objectives]
    if not failed:
        if len(verdicts) > plan.max_doublings:
            return None
        return verdicts[-1].rate * 2
    first_failure = next(i for i, v in enumerate(verdicts) if not v.met_objectives)
    if len(verdicts) - 1 - first_failure >= plan.bisect_steps:
        return None
    low, high = bracket(verdicts)
    return round((low + high) / 2, 3)


def bracket(verdicts: Sequence[StepVerdict]) -> tuple[float, float]:
    """(highest rate that met the objectives below the lowest that did not, that lowest);
    0 below when none met them. Assumes at least one step failed."""
    high = min(v.rate for v in verdicts if not v.met_objectives)
    low = max((v.rate for v in verdicts if v.met_objectives and v.rate < high), default=0.0)
    return low, high


def max_goodput_rate(verdicts: Sequence[StepVerdict]) -> float | None:
    """The highest offered rate that met the objectives (below any rate that did not)."""
    if all(v.met_objectives for v in verdicts):
        return max((v.rate for v in verdicts), default=None)
    low, _ = bracket(verdicts)
    return low or None


def saturation(verdicts: Sequence[StepVerdict]) -> tuple[float, str] | None:
    """The lowest rate at which the server stops keeping up, and why; None if it never does.

    Either the achieved rate falls below SATURATION_SHARE of the offered one (the schedule's
    own count, which a Poisson draw puts above or below `rate`) by more than the answers a
    server keeping up still has in flight when the window closes (offered rate x the
    lightest step's median E2E, Little's law: a short window would otherwise call a few
    requests in flight a shortfall), or the median E2E latency grows past LATENCY_GROWTH
    times the lightest step's.
    """
    ordered = sorted(verdicts, key=lambda v: v.rate)
    if not ordered:
        return None
    baseline = ordered[0].e2e_p50_ms
    for v in ordered:
        in_flight = (
            v.offered_per_s * baseline / 1000 / v.window_s if baseline and v.window_s else 0.0
        )
        if v.achieved_per_s < SATURATION_SHARE * v.offered_per_s - in_flight:
            share = v.achieved_per_s / v.offered_per_s
            return v.rate, f"achieved {share:.0%} of the offered rate"
        if baseline and v.e2e_p50_ms is not None and v.e2e_p50_ms > LATENCY_GROWTH * baseline:
            growth = v.e2e_p50_ms / baseline
            return v.rate, f"median E2E {growth:.1f}x the lightest step's"
    return None


def verdict_of(step: Mapping[str, Any]) -> StepVerdict:
    """The figures of a step (`load_tests.step_figures`) that decide the sweep."""
    return StepVerdict(
        rate=step["rate"],
        met_objectives=step["met_objectives"],
        offered_per_s=step["offered_per_s"],
        achieved_per_s=step["achieved_per_s"],
        e2e_p50_ms=step["e2e_ms"]["p50"],
        window_s=step["window_s"],
    )


DEFINITIONS = {
    "ttft_ms": "request sent -> first chunk carrying content or a tool call (streams)",
    "tpot_ms": "(E2E - TTFT) / (output tokens - 1), streams with 2+ output tokens",
    "itl_ms": "every gap between successive token-carrying chunks of a stream",
    "e2e_ms": "request sent -> last byte of the answer",
    "output_tokens": "usage.completion_tokens; a stream's token chunks are counted too "
    "(token_count_mismatches: requests where the two differ)",
    "offered_per_s": "requests the schedule sent in the measured window / window",
    "achieved_per_s": "successful answers that ended in the window / window",
    "goodput_per_s": "answers that ended in the window meeting every objective / window",
    "attainment": "share of the window's requests meeting each objective (failed: none)",
    "met_objectives": "attainment.all >= objectives.min_attainment",
    "send_lateness_ms": "how late each request was sent against its schedule",
    "client_cpu_percent": "the load generator's CPU over the step (100 = one core)",
}


def sweep_section(
    steps: Sequence[Mapping[str, Any]],
    rates: Sequence[float] | None,
    objectives: Objectives,
) -> dict[str, Any]:
    """report.json's `sweep`: each step's figures and what they say together."""
    verdicts = [verdict_of(step) for step in steps]
    saturated = saturation(verdicts)
    best = max_goodput_rate(verdicts)
    return {
        "mode": AUTO if rates is None else "rates",
        "objectives": objectives.as_dict(),
        "definitions": DEFINITIONS,
        "steps": list(steps),
        "max_goodput_rate": best,
        "saturation": None if saturated is None else {"rate": saturated[0], "why": saturated[1]},
        "passed": best is not None,
    }
