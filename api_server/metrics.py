"""Prometheus metrics, registered on a registry owned by the app (no module globals).

With several workers (`workers` > 1) every worker records into files in one shared folder
(prometheus_client's multiprocess mode: the supervisor sets PROMETHEUS_MULTIPROC_DIR before
it starts them), and a scrape, whichever worker answers it, reads all of them: counters and
histograms add up, gauges of what each process holds (requests in flight, queues) are
summed over the live workers, gauges of an engine's own state show its latest reading.
Gauges read from a function (`Samplers`) are read at each scrape in one process; with
workers each worker also writes its readings to the shared files every second.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

_FLUSH_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1, 1.5, 2.5, 5, 10, 30, 60)


# prometheus_client's own variable, read by it when first imported: it and we must agree.
MULTIPROCESS_DIR_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
SAMPLE_INTERVAL_S = 1.0  # how often each worker writes its sampled gauges (workers only)


def shared_metrics_dir() -> Path | None:
    """The folder this process's metrics go to, when it is one of several workers."""
    value = os.environ.get(MULTIPROCESS_DIR_VARIABLE)
    return Path(value) if value else None


class Samplers:
    """Gauges set from what something holds right now (a queue's length), read when needed
    rather than updated on every change."""

    def __init__(self) -> None:
        self._reads: list[Callable[[], None]] = []

    def add(self, read: Callable[[], None]) -> None:
        """`read` sets one or more gauges."""
        self._reads.append(read)

    def gauge(self, gauge: Gauge, value: Callable[[], float]) -> None:
        self.add(lambda: gauge.set(value()))

    def run(self) -> None:
        for read in self._reads:
            read()


class GatewayMetrics:
    def __init__(self, shared_dir: Path | None = None) -> None:
        """`shared_dir`: the workers' shared folder (shared_metrics_dir()), or None."""
        self.shared_dir = shared_dir
        self.samplers = Samplers()
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
            "inferstack_requests_in_flight",
            "Requests being served",
            ["model"],
            registry=r,
            multiprocess_mode="livesum",
        )
        self.engine_errors = Counter(
            "inferstack_engine_errors",
            "Engine failures by model, replica and error type",
            ["model", "engine", "error"],
            registry=r,
        )
        self.engine_failovers = Counter(
            "inferstack_engine_failovers",
            "Generations moved off a failed replica, by model, the replica that failed and "
            "kind (retry: before any text; continuation: mid-stream, from the text sent)",
            ["model", "engine", "kind"],
            registry=r,
        )
        self.routing_decisions = Counter(
            "inferstack_routing_decisions",
            "Replica choices by model and reason (session, prefix: where it was served "
            "last; least_busy; only: a single candidate)",
            ["model", "reason"],
            registry=r,
        )
        self.engine_breaker_state = Gauge(
            "inferstack_engine_breaker_state",
            "Each replica's circuit breaker: 0 closed, 1 half-open, 2 open (the worst "
            "over the gateway's workers)",
            ["model", "engine"],
            registry=r,
            multiprocess_mode="livemax",
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
            multiprocess_mode="livemostrecent",
        )
        self.engine_in_flight = Gauge(
            "inferstack_engine_requests_in_flight",
            "Requests the gateway has open to each engine replica",
            ["model", "engine"],
            registry=r,
            multiprocess_mode="livesum",
        )
        self.engine_queue_depth = Gauge(
            "inferstack_engine_queue_depth",
            "Requests waiting inside the engine for a slot (from its /metrics)",
            ["model", "engine"],
            registry=r,
            multiprocess_mode="livemostrecent",
        )
        self.request_log = RequestLogMetrics(r, self.samplers)
        self.cache = CacheMetrics(r)
        self.auth = AuthMetrics(r)

    def routed(self, model: str, reason: str) -> None:
        """An engine pool chose a replica (`engines.pool.RoutingObserver`)."""
        self.routing_decisions.labels(model, reason).inc()

    def render(self) -> bytes:
        """The exposition text: this process's metrics, or with workers all of theirs."""
        self.samplers.run()
        if self.shared_dir is None:
            return generate_latest(self.registry)
        forget_dead_workers(self.shared_dir)
        every_worker = CollectorRegistry()
        MultiProcessCollector(every_worker, path=str(self.shared_dir))  # type: ignore[no-untyped-call]
        return generate_latest(every_worker)

    def worker_exits(self) -> None:
        """With workers: this process's live gauges leave the sums (its counts stay)."""
        if self.shared_dir is not None:
            mark_process_dead(os.getpid(), str(self.shared_dir))  # type: ignore[no-untyped-call]


def forget_dead_workers(shared_dir: Path) -> None:
    """Drop the live gauges of workers that died without exiting cleanly (a supervisor
    restarts them under new pids); the counts they made stay in the totals."""
    for path in shared_dir.glob("gauge_live*_*.db"):
        pid = path.stem.rpartition("_")[2]
        if pid.isdigit() and not _is_alive(int(pid)):
            mark_process_dead(int(pid), str(shared_dir))  # type: ignore[no-untyped-call]


def _is_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, someone else's
        return True
    return True


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
    """The request-log writer's (api_server.logs.writer). The two gauges are sampled from
    the writer (`samplers`)."""

    def __init__(self, registry: CollectorRegistry, samplers: Samplers | None = None) -> None:
        self.registry = r = registry
        self.samplers = samplers or Samplers()
        self.queue_depth = Gauge(
            "inferstack_request_log_queue_depth",
            "Rows waiting in memory",
            registry=r,
            multiprocess_mode="livesum",
        )
        self.spool_bytes = Gauge(
            "inferstack_request_log_spool_bytes",
            "Bytes of rows waiting on disk",
            registry=r,
            multiprocess_mode="livesum",
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
