"""The dashboard's numbers, per model, per engine replica, per admission queue class and
overall, from the snapshot at the start of the window, the latest one and the readiness
report."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from monitor.exposition import Snapshot
from monitor.health import Check, Readiness
from monitor.promql import Group, bucket_increase, gauge_sum, histogram_quantile, rate

REQUESTS = "inferstack_requests_total"
LATENCY = "inferstack_request_latency_seconds"
TTFT = "inferstack_time_to_first_token_seconds"
COMPLETION_TOKENS = "inferstack_completion_tokens_total"
IN_FLIGHT = "inferstack_requests_in_flight"
ENGINE_UP = "inferstack_engine_up"
ENGINE_ERRORS = "inferstack_engine_errors_total"
ENGINE_IN_FLIGHT = "inferstack_engine_requests_in_flight"
ENGINE_QUEUE = "inferstack_engine_queue_depth"
CACHE = "inferstack_cache_requests_total"
QUEUE_DEPTH = "inferstack_queue_depth"
QUEUE_WAIT = "inferstack_queue_wait_seconds"
QUEUE_REJECTIONS = "inferstack_queue_rejections_total"
CACHE_HITS = ("hit_exact", "hit_semantic")
PRIORITY_ORDER = {"high": 0, "normal": 1, "low": 2}  # as the gateway serves them
CACHE_LOOKUPS = (*CACHE_HITS, "miss")  # a bypass is no lookup, so not in the ratio


def is_error_status(labels: dict[str, str]) -> bool:
    """An error is any response with status 400 or more (what a load test counts as failed)."""
    status = labels.get("status", "")
    return status.isdigit() and int(status) >= 400


@dataclass(frozen=True)
class Figures:
    """Rates and percentiles over the window; gauges as of the latest scrape. None: no data."""

    requests_per_s: float = 0.0
    error_ratio: float | None = None
    latency_p50: float | None = None  # seconds
    latency_p95: float | None = None
    latency_p99: float | None = None
    ttft_p50: float | None = None
    ttft_p95: float | None = None
    output_tokens_per_s: float = 0.0
    in_flight: float = 0.0
    # Waiting in the gateway's admission queue, and P95 of the wait of those let in; None
    # for a model without a queue.
    waiting: float | None = None
    wait_p95: float | None = None
    queued: float | None = None  # None when no engine of the model reports its queue
    cache_hit_ratio: float | None = None


@dataclass(frozen=True)
class EngineFigures:
    model: str
    engine: str
    up: bool | None  # the gateway's engine_up gauge
    health: Check | None  # the replica's entry in /health/ready
    in_flight: float | None
    queued: float | None
    errors_per_s: float


@dataclass(frozen=True)
class QueueFigures:
    """One priority class of one model's admission queue."""

    model: str
    priority: str
    waiting: float
    admitted_per_s: float
    wait_p50: float | None
    wait_p95: float | None
    refused_per_s: float  # full, timeout, client_gone together


@dataclass(frozen=True)
class Frame:
    window_s: float
    total: Figures
    models: dict[str, Figures]
    engines: list[EngineFigures]
    queues: list[QueueFigures] = field(default_factory=list)  # the classes with traffic
    readiness: Readiness | None = None
    health_error: str | None = None
    has_cache: bool = False


def _figures_by(old: Snapshot, new: Snapshot, by: Sequence[str]) -> dict[Group, Figures]:
    requests = rate(old, new, REQUESTS, by)
    errors = rate(old, new, REQUESTS, by, where=is_error_status)
    tokens = rate(old, new, COMPLETION_TOKENS, by)
    latency = bucket_increase(old, new, LATENCY, by)
    ttft = bucket_increase(old, new, TTFT, by)
    in_flight = gauge_sum(new, IN_FLIGHT, by)
    queued = gauge_sum(new, ENGINE_QUEUE, by)  # absent for engines that export no queue
    waiting = gauge_sum(new, QUEUE_DEPTH, by)  # absent for models without a queue
    waits = bucket_increase(old, new, QUEUE_WAIT, by)
    hits = rate(old, new, CACHE, by, where=lambda lb: lb.get("outcome") in CACHE_HITS)
    lookups = rate(old, new, CACHE, by, where=lambda lb: lb.get("outcome") in CACHE_LOOKUPS)
    keys = {*requests, *tokens, *latency, *ttft, *in_flight, *queued, *lookups}
    result: dict[Group, Figures] = {}
    for key in keys:
        total = requests.get(key, 0.0)
        lat = latency.get(key, [])
        first = ttft.get(key, [])
        looked_up = lookups.get(key, 0.0)
        result[key] = Figures(
            requests_per_s=total,
            error_ratio=errors.get(key, 0.0) / total if total > 0 else None,
            latency_p50=histogram_quantile(0.50, lat),
            latency_p95=histogram_quantile(0.95, lat),
            latency_p99=histogram_quantile(0.99, lat),
            ttft_p50=histogram_quantile(0.50, first),
            ttft_p95=histogram_quantile(0.95, first),
            output_tokens_per_s=tokens.get(key, 0.0),
            in_flight=in_flight.get(key, 0.0),
            waiting=waiting.get(key),
            wait_p95=histogram_quantile(0.95, waits.get(key, [])),
            queued=queued.get(key),
            cache_hit_ratio=hits.get(key, 0.0) / looked_up if looked_up > 0 else None,
        )
    return result


def _engines(old: Snapshot, new: Snapshot, readiness: Readiness | None) -> list[EngineFigures]:
    by = ("model", "engine")
    up = gauge_sum(new, ENGINE_UP, by)
    in_flight = gauge_sum(new, ENGINE_IN_FLIGHT, by)
    queued = gauge_sum(new, ENGINE_QUEUE, by)
    errors = rate(old, new, ENGINE_ERRORS, by)
    checks = readiness.engines if readiness else {}
    keys = sorted({*up, *in_flight, *queued, *errors, *checks})
    return [
        EngineFigures(
            model=model,
            engine=engine,
            up=up[(model, engine)] >= 1 if (model, engine) in up else None,
            health=checks.get((model, engine)),
            in_flight=in_flight.get((model, engine)),
            queued=queued.get((model, engine)),
            errors_per_s=errors.get((model, engine), 0.0),
        )
        for model, engine in keys
    ]


def _queues(old: Snapshot, new: Snapshot) -> list[QueueFigures]:
    by = ("model", "priority")
    waiting = gauge_sum(new, QUEUE_DEPTH, by)
    admitted = rate(old, new, f"{QUEUE_WAIT}_count", by)
    waits = bucket_increase(old, new, QUEUE_WAIT, by)
    refused = rate(old, new, QUEUE_REJECTIONS, by)
    rows = []
    for model, priority in sorted({*waiting, *admitted, *refused}, key=_queue_order):
        key = (model, priority)
        figures = QueueFigures(
            model=model,
            priority=priority,
            waiting=waiting.get(key, 0.0),
            admitted_per_s=admitted.get(key, 0.0),
            wait_p50=histogram_quantile(0.50, waits.get(key, [])),
            wait_p95=histogram_quantile(0.95, waits.get(key, [])),
            refused_per_s=refused.get(key, 0.0),
        )
        if figures.waiting or figures.admitted_per_s or figures.refused_per_s:
            rows.append(figures)
    return rows


def _queue_order(key: Group) -> tuple[str, int, str]:
    model, priority = key
    return (model, PRIORITY_ORDER.get(priority, len(PRIORITY_ORDER)), priority)


def _model_order(name: str) -> tuple[bool, str]:
    return (name == "unknown", name.lower())  # refused requests ("unknown") last


def compute_frame(
    old: Snapshot,
    new: Snapshot,
    readiness: Readiness | None = None,
    health_error: str | None = None,
) -> Frame:
    per_model = _figures_by(old, new, ("model",))
    engines = _engines(old, new, readiness)
    names = {key[0] for key in per_model} | {e.model for e in engines}
    return Frame(
        window_s=max(new.time - old.time, 0.0),
        total=_figures_by(old, new, ()).get((), Figures()),
        models={
            name: per_model.get((name,), Figures()) for name in sorted(names, key=_model_order)
        },
        engines=engines,
        queues=_queues(old, new),
        readiness=readiness,
        health_error=health_error,
        has_cache=new.has(CACHE) or old.has(CACHE),
    )
