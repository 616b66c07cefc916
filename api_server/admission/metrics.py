"""The admission queues' metrics: how many wait (sampled at each scrape), how long each
admitted request waited, and the requests refused or gone while waiting."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from api_server.admission.queue import FairQueue, waiting_by_class
from api_server.priority_classes import PriorityClass

# From no wait at all (most requests) to the longest a request may wait by default (20 s).
_WAIT_BUCKETS = (0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60)


class AdmissionMetrics:
    """A `QueueObserver` for every model's queue."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.depth = Gauge(
            "inferstack_queue_depth",
            "Requests waiting in the gateway's admission queue, by model and priority class",
            ["model", "priority"],
            registry=registry,
            multiprocess_mode="livesum",
        )
        self.wait = Histogram(
            "inferstack_queue_wait_seconds",
            "Time admitted requests waited for a slot (0 when there was room), by model and "
            "priority class",
            ["model", "priority"],
            buckets=_WAIT_BUCKETS,
            registry=registry,
        )
        self.rejections = Counter(
            "inferstack_queue_rejections",
            "Requests that left the admission queue without a slot, by reason: full (429), "
            "timeout (503), client_gone (the client left while waiting)",
            ["model", "priority", "reason"],
            registry=registry,
        )

    def waited(self, model: str, priority: PriorityClass, seconds: float) -> None:
        self.wait.labels(model, priority).observe(seconds)

    def refused(self, model: str, priority: PriorityClass, reason: str) -> None:
        self.rejections.labels(model, priority, reason).inc()

    def depth_sampler(self, queues: Mapping[str, FairQueue]) -> Callable[[], None]:
        """For `metrics.Samplers`: each queue's waiting requests per class."""

        def sample() -> None:
            for model, queue in queues.items():
                for priority, waiting in waiting_by_class(queue).items():
                    self.depth.labels(model, priority).set(waiting)

        return sample
