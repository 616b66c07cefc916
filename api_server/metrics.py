"""Prometheus metrics, registered on a registry owned by the app (no module globals)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1, 1.5, 2.5, 5, 10, 30, 60)


class GatewayMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "inferstack_requests",
            "Requests served, by endpoint, model and HTTP status",
            ["endpoint", "model", "status"],
            registry=r,
        )
        self.request_latency = Histogram(
            "inferstack_request_latency_seconds",
            "Time from request received to last byte sent",
            ["endpoint", "model"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.time_to_first_token = Histogram(
            "inferstack_time_to_first_token_seconds",
            "Time from engine request to its first generated text",
            ["model"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.prompt_tokens = Counter(
            "inferstack_prompt_tokens", "Prompt tokens processed", ["model"], registry=r
        )
        self.completion_tokens = Counter(
            "inferstack_completion_tokens", "Completion tokens generated", ["model"], registry=r
        )
        self.in_flight = Gauge(
            "inferstack_requests_in_flight", "Requests being served", ["model"], registry=r
        )
        self.engine_errors = Counter(
            "inferstack_engine_errors",
            "Engine failures by model, replica and error type",
            ["model", "engine", "error"],
            registry=r,
        )
        self.engine_up = Gauge(
            "inferstack_engine_up",
            "1 when the engine replica answered its last health check",
            ["model", "engine"],
            registry=r,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
