"""Prometheus metrics, registered on a registry owned by the app (no module globals)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

_FLUSH_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
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
        self.upstream_retries = Counter(
            "inferstack_upstream_retries",
            "Retried attempts at hosted upstreams, by model, upstream and reason "
            "(status code or connection error)",
            ["model", "engine", "reason"],
            registry=r,
        )
        self.engine_up = Gauge(
            "inferstack_engine_up",
            "1 when the engine replica answered its last health check",
            ["model", "engine"],
            registry=r,
        )
        self.request_log = RequestLogMetrics(r)
        self.cache = CacheMetrics(r)
        self.auth = AuthMetrics(r)

    def render(self) -> bytes:
        return generate_latest(self.registry)


class AuthMetrics:
    """Authentication's audit trail (api_server.auth.audit): fixed label words only, never a
    key, a token or a client's address."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        registry = registry or CollectorRegistry()
        self.failures = Counter(
            "inferstack_auth_failures",
            "Requests refused or not checkable, by reason: missing, malformed_key, unknown_key, "
            "invalid_token, unknown_kid, admin_key (401s), unavailable (503)",
            ["reason"],
            registry=registry,
        )
        self.admin_key_events = Counter(
            "inferstack_admin_key_events",
            "API keys created or revoked through /v1/admin/keys, by action",
            ["action"],
            registry=registry,
        )


class CacheMetrics:
    """The response cache's (api_server.cache). Outcomes: hit_exact, hit_semantic, miss,
    bypass."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter(
            "inferstack_cache_requests",
            "Cacheable-path requests by model and cache outcome",
            ["model", "outcome"],
            registry=registry,
        )
        self.errors = Counter(
            "inferstack_cache_errors",
            "Cache operations that failed (lookup, store, decode, store_dropped); the request "
            "was served from the engine",
            ["operation"],
            registry=registry,
        )


class RequestLogMetrics:
    """The request-log writer's (api_server.logs.writer). The two gauges are read at scrape
    time from functions the writer sets."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = r = registry
        self.queue_depth = Gauge(
            "inferstack_request_log_queue_depth", "Rows waiting in memory", registry=r
        )
        self.spool_bytes = Gauge(
            "inferstack_request_log_spool_bytes", "Bytes of rows waiting on disk", registry=r
        )
        self.rows_written = Counter(
            "inferstack_request_log_rows_written", "Rows committed to PostgreSQL", registry=r
        )
        self.rows_spooled = Counter(
            "inferstack_request_log_rows_spooled",
            "Rows spilled to the disk spool (PostgreSQL down or slow, or the queue full)",
            registry=r,
        )
        self.rows_dropped = Counter(
            "inferstack_request_log_rows_dropped",
            "Rows lost: spool_full, rejected (PostgreSQL refused the values), unreadable "
            "(a torn or corrupt spool line), duplicate_id (an id already stored)",
            ["reason"],
            registry=r,
        )
        self.flush_latency = Histogram(
            "inferstack_request_log_flush_seconds",
            "Time to commit one batch to PostgreSQL",
            buckets=_FLUSH_BUCKETS,
            registry=r,
        )
        self.flush_failures = Counter(
            "inferstack_request_log_flush_failures",
            "Batches PostgreSQL did not take (down, slow or refusing); their rows were spooled",
            registry=r,
        )
