"""Replicas of one model's engine: routing (least in-flight among healthy), health, and the
lease every request path holds on the replica it was given."""

from __future__ import annotations

import logging
import time
from types import TracebackType
from typing import Protocol

import aiohttp

from api_server.engines.client import EngineReplica
from api_server.errors import EngineError, EngineUnavailableError
from api_server.registry import ModelSpec

logger = logging.getLogger(__name__)


class ReplicaObserver(Protocol):
    """Who is told which replica serves a request, and how it failed (the tracker)."""

    def engine_chosen(self, replica: EngineReplica) -> None: ...
    def engine_failed(self, replica: EngineReplica, error: EngineError) -> None: ...


# A replica that refused a connection is skipped for this long, unless none is left.
_COOLDOWN_S = 2.0


class EnginePool:
    def __init__(self, spec: ModelSpec, http: aiohttp.ClientSession) -> None:
        self.model = spec.name
        self.replicas = tuple(
            EngineReplica(http, spec.engine.kind, spec.engine.served_name, url, metrics_url, index)
            for index, (url, metrics_url) in enumerate(spec.engine.replica_urls())
        )
        for replica in self.replicas:
            logger.info("model %s: replica %s is %s", self.model, replica.label, replica.url)
        self._down_until: dict[str, float] = {}

    def lease(self, observer: ReplicaObserver) -> ReplicaLease:
        """The replica for one request, counted in flight until the lease is released; the
        local engine path and both hosted-upstream paths take theirs here."""
        replica = self.pick()
        observer.engine_chosen(replica)
        return ReplicaLease(self, replica, observer)

    def pick(self) -> EngineReplica:
        now = time.monotonic()
        candidates = [r for r in self.replicas if self._down_until.get(r.url, 0.0) <= now]
        if not candidates:
            candidates = list(self.replicas)
        return min(candidates, key=lambda replica: replica.in_flight)

    def mark_down(self, replica: EngineReplica) -> None:
        self._down_until[replica.url] = time.monotonic() + _COOLDOWN_S


class ReplicaLease:
    """One request's hold on a replica: in flight from the start until `release` (once, also
    as a context manager); `failed` reports an error and, when the replica proved
    unreachable, cools it down so the next request goes elsewhere."""

    def __init__(self, pool: EnginePool, replica: EngineReplica, observer: ReplicaObserver):
        self.pool = pool
        self.replica = replica
        self._observer = observer
        self._held = True
        replica.in_flight += 1

    def failed(self, error: EngineError) -> None:
        if isinstance(error, EngineUnavailableError):
            self.pool.mark_down(self.replica)
        self._observer.engine_failed(self.replica, error)

    def release(self) -> None:
        if self._held:
            self._held = False
            self.replica.in_flight -= 1

    def __enter__(self) -> ReplicaLease:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()
