"""The figures of one open-loop step (one offered rate) from its requests' records.

A step sends requests at `rate` for a warm-up, then for the measured window of `window_s`
seconds, then waits for the answers still in flight. Offsets count from the window's start.

- The *measured* requests are those scheduled inside the window; latency, TTFT, TPOT and
  ITL percentiles, errors, timeouts, token counts and attainment are theirs, however long
  after the window they end (a slow answer is never dropped).
- Throughput (requests/s, output tokens/s) and goodput count the answers that *ended*
  inside the window, warm-up requests included, over the window's length: what the server
  delivered while it was under exactly this load. Past the knee the offered rate keeps
  growing and this stops following it.

Pure: no Locust, no clock.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from load_tests.objectives import Objectives, meets_all, objective_verdicts
from load_tests.report import percentile
from load_tests.request_record import RequestRecord

PERCENTILES = (50, 90, 99)
SAMPLE_FIELDS = ("scheduled_s", "sent_s", "ttft_ms", "e2e_ms", "output_tokens", "ok", "repeat")
# The figures whose spread over a step's repeats is reported (min, max): path in the figures.
SPREAD_FIGURES: tuple[tuple[str, ...], ...] = (
    ("achieved_per_s",), ("goodput_per_s",), ("output_tokens_per_s",),
    ("e2e_ms", "p50"), ("e2e_ms", "p99"), ("ttft_ms", "p50"), ("ttft_ms", "p99"),
    ("tpot_ms", "p50"), ("attainment", "all"),
)  # fmt: skip


@dataclass(frozen=True)
class StepPlan:
    """What a step was asked to do."""

    rate: float  # offered requests/s
    warmup_s: float
    window_s: float
    burstiness: float  # 0: a recorded schedule (`recorded`), not a drawn one
    seed: int
    recorded: tuple[float, ...] | None = None  # the schedule itself, where it was recorded


def step_figures(
    plan: StepPlan,
    records: Sequence[RequestRecord],
    objectives: Objectives,
    client_cpu_percent: float | None = None,
    max_samples: int = 1000,
    repeats: int = 1,
) -> dict[str, Any]:
    """`repeats`: how many times the step ran (each record's `repeat`, each run with its own
    window): the figures pool them, and `spread` gives each run's range."""
    measured = [r for r in records if 0 <= r.scheduled_s < plan.window_s]
    ok = [r for r in measured if r.answer.ok]
    delivered = [r for r in records if r.answer.ok and 0 <= r.done_s < plan.window_s]
    good = [r for r in delivered if meets_all(r, objectives)]
    window = plan.window_s * repeats
    attained = _attainment(measured, objectives)
    failures = len(measured) - len(ok)
    return {
        "rate": plan.rate,
        "warmup_s": plan.warmup_s,
        "window_s": plan.window_s,  # each run's; rates are over all of them
        "burstiness": plan.burstiness,
        "seed": plan.seed,
        "requests": len(measured),
        "offered_per_s": round(len(measured) / window, 3),  # the schedule's actual rate
        "achieved_per_s": round(len(delivered) / window, 3),
        "output_tokens_per_s": round(sum(r.output_tokens or 0 for r in delivered) / window, 1),
        "goodput_per_s": round(len(good) / window, 3),
        "failures": failures,
        "timeouts": sum(r.answer.timed_out for r in measured),
        "error_rate": round(failures / len(measured), 6) if measured else None,
        "e2e_ms": _percentiles([r.e2e_ms for r in ok]),
        "ttft_ms": _percentiles([r.answer.ttft_ms for r in ok if r.answer.ttft_ms is not None]),
        "tpot_ms": _percentiles([r.tpot_ms for r in ok if r.tpot_ms is not None]),
        "itl_ms": _percentiles([gap for r in ok for gap in r.answer.itl_ms]),
        "token_count_mismatches": sum(r.token_count_mismatch for r in ok),
        "output_len": output_lengths(ok),
        "attainment": attained,
        "met_objectives": bool(measured) and attained["all"] >= objectives.min_attainment,
        # The client's own health: late sends or a busy CPU mean the client, not the server,
        # limited this step.
        "send_lateness_ms": {
            **_percentiles([r.lateness_ms for r in measured]),
            "max": _round(max((r.lateness_ms for r in measured), default=None)),
        },
        "client_cpu_percent": _round(client_cpu_percent),
        "repeats": repeats,
        "spread": _spread(plan, records, objectives, repeats),
        "samples": bounded_samples(measured, max_samples, plan.seed),
    }


def _spread(
    plan: StepPlan, records: Sequence[RequestRecord], objectives: Objectives, repeats: int
) -> dict[str, list[float | None]] | None:
    """[min, max] of SPREAD_FIGURES over the step's runs; None for a step run once."""
    if repeats < 2:
        return None
    runs = [
        step_figures(plan, [r for r in records if r.repeat == k], objectives, max_samples=0)
        for k in range(repeats)
    ]
    spread: dict[str, list[float | None]] = {}
    for path in SPREAD_FIGURES:
        values = [v for run in runs if (v := _at(run, path)) is not None]
        spread[".".join(path)] = [min(values), max(values)] if values else [None, None]
    return spread


def _at(figures: dict[str, Any], path: tuple[str, ...]) -> float | None:
    value: Any = figures
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return value if isinstance(value, int | float) else None


def output_lengths(ok: Sequence[RequestRecord]) -> dict[str, float | None]:
    """Output tokens asked for (max_tokens) and received, over the successful answers: an
    engine that stops early (no ignore_eos) shows here, not in the latencies."""
    requested = [r.answer.requested_tokens for r in ok if r.answer.requested_tokens is not None]
    received = [r.output_tokens for r in ok if r.output_tokens is not None]
    return {
        "requested_mean": _round(sum(requested) / len(requested)) if requested else None,
        "received_mean": _round(sum(received) / len(received)) if received else None,
        **{f"received_{key}": value for key, value in _percentiles(received).items()},
    }


def _attainment(measured: Sequence[RequestRecord], objectives: Objectives) -> dict[str, float]:
    """Share of the measured requests meeting each objective, and all of them ("all")."""
    if not measured:
        return {name: 0.0 for name in (*objectives.limits, "all")}
    verdicts = [objective_verdicts(r, objectives) for r in measured]
    shares = {name: sum(v[name] for v in verdicts) / len(measured) for name in objectives.limits}
    shares["all"] = sum(meets_all(r, objectives) for r in measured) / len(measured)
    return {name: round(share, 4) for name, share in shares.items()}


def _percentiles(values: Sequence[float]) -> dict[str, float | None]:
    """Nearest-rank percentiles of exact values (no histogram buckets here)."""
    histogram = Counter(values)
    return {f"p{p}": _round(percentile(histogram, p)) for p in PERCENTILES}


def bounded_samples(records: Sequence[RequestRecord], limit: int, seed: int) -> dict[str, Any]:
    """Per-request rows for charts (latency over time, CDFs), at most `limit` of them: a
    seeded random subset in send order when there are more."""
    chosen = list(records)
    if len(chosen) > limit:
        picked = sorted(random.Random(seed).sample(range(len(chosen)), limit))
        chosen = [chosen[i] for i in picked]
    rows = [
        [
            round(r.scheduled_s, 4),
            round(r.sent_s, 4),
            _round(r.answer.ttft_ms),
            round(r.e2e_ms, 2),
            r.output_tokens,
            r.answer.ok,
            r.repeat,
        ]
        for r in chosen
    ]
    return {"fields": list(SAMPLE_FIELDS), "of": len(records), "rows": rows}


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)
