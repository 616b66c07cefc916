"""Fixed /metrics texts and a /health/ready body with hand-computed figures, written by a real
prometheus_client registry under the gateway's metric names."""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1, 1.5, 2.5, 5, 10, 30, 60)
ECHO_ENGINE = "llamacpp@http://fake:1"
DOWN_ENGINE = "llamacpp@http://dead:2"
WAIT_BUCKETS = (0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60)


def gateway_text(
    traffic: bool, cache: bool = True, queue: bool = True, admission: bool = True
) -> str:
    """The exposition before (`traffic=False`: series exist, all zero) and 10 s after
    (`traffic=True`) this traffic to fake-echo: 20 x 200 and 5 x 503; latencies 8 x 20 ms,
    12 x 200 ms, 5 x 2 s; 25 first tokens at 10 ms; 250 completion tokens; cache lookups 5 exact
    + 5 semantic hits, 10 misses, 100 bypasses; 10 connect errors on the dead engine. Its
    admission queue: 4 normal requests waiting and 20 let in (10 at once, 10 after 2 s), 2
    low waiting and 5 let in after 8 s, 3 refused as full."""
    r = CollectorRegistry()
    requests = Counter("inferstack_requests", "", ["endpoint", "model", "status"], registry=r)
    latency = Histogram("inferstack_request_latency_seconds", "", ["endpoint", "model"],
                        buckets=BUCKETS, registry=r)  # fmt: skip
    ttft = Histogram("inferstack_time_to_first_token_seconds", "", ["model"], buckets=BUCKETS,
                     registry=r)  # fmt: skip
    tokens = Counter("inferstack_completion_tokens", "", ["model"], registry=r)
    in_flight = Gauge("inferstack_requests_in_flight", "", ["model"], registry=r)
    errors = Counter("inferstack_engine_errors", "", ["model", "engine", "error"], registry=r)
    up = Gauge("inferstack_engine_up", "", ["model", "engine"], registry=r)
    up.labels("fake-echo", ECHO_ENGINE).set(1)
    up.labels("engine-down", DOWN_ENGINE).set(0)
    endpoint = "/v1/chat/completions"
    requests.labels(endpoint, "fake-echo", "200")
    latency.labels(endpoint, "fake-echo")
    ttft.labels("fake-echo")
    tokens.labels("fake-echo")
    errors.labels("engine-down", DOWN_ENGINE, "connect")
    if queue:
        engine_in_flight = Gauge("inferstack_engine_requests_in_flight", "", ["model", "engine"],
                                 registry=r)  # fmt: skip
        engine_queue = Gauge("inferstack_engine_queue_depth", "", ["model", "engine"], registry=r)
        engine_in_flight.labels("fake-echo", ECHO_ENGINE).set(1 if traffic else 0)
        engine_queue.labels("fake-echo", ECHO_ENGINE).set(2 if traffic else 0)
    if cache:
        lookups = Counter("inferstack_cache_requests", "", ["model", "outcome"], registry=r)
        for outcome in ("hit_exact", "hit_semantic", "miss", "bypass"):
            lookups.labels("fake-echo", outcome)
    if admission:
        depth = Gauge("inferstack_queue_depth", "", ["model", "priority"], registry=r)
        wait = Histogram("inferstack_queue_wait_seconds", "", ["model", "priority"],
                         buckets=WAIT_BUCKETS, registry=r)  # fmt: skip
        refused = Counter("inferstack_queue_rejections", "", ["model", "priority", "reason"],
                          registry=r)  # fmt: skip
        for priority in ("high", "normal", "low"):
            depth.labels("fake-echo", priority).set(0)
            wait.labels("fake-echo", priority)
        if traffic:
            depth.labels("fake-echo", "normal").set(4)
            depth.labels("fake-echo", "low").set(2)
            for seconds, times in ((0.0, 10), (2.0, 10)):
                for _ in range(times):
                    wait.labels("fake-echo", "normal").observe(seconds)
            for _ in range(5):
                wait.labels("fake-echo", "low").observe(8.0)
            refused.labels("fake-echo", "normal", "full").inc(3)
    if traffic:
        requests.labels(endpoint, "fake-echo", "200").inc(20)
        requests.labels(endpoint, "fake-echo", "503").inc(5)
        for seconds, times in ((0.02, 8), (0.2, 12), (2.0, 5)):
            for _ in range(times):
                latency.labels(endpoint, "fake-echo").observe(seconds)
        for _ in range(25):
            ttft.labels("fake-echo").observe(0.01)
        tokens.labels("fake-echo").inc(250)
        in_flight.labels("fake-echo").set(3)
        errors.labels("engine-down", DOWN_ENGINE, "connect").inc(10)
        if cache:
            for outcome, count in (("hit_exact", 5), ("hit_semantic", 5), ("miss", 10),
                                   ("bypass", 100)):  # fmt: skip
                lookups.labels("fake-echo", outcome).inc(count)
    return generate_latest(r).decode()


def readiness_body() -> dict[str, Any]:
    return {
        "status": "degraded",
        "models": {
            "fake-echo": {ECHO_ENGINE: {"status": "up", "latency_ms": 1.25, "breaker": "closed"}},
            "engine-down": {DOWN_ENGINE: {"status": "down", "latency_ms": None, "breaker": "open"}},
        },
        "components": {
            "redis": {"status": "up", "latency_ms": 0.5},
            "postgres": {"status": "down", "latency_ms": 3.0, "detail": "connection refused"},
        },
    }
