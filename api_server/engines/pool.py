"""Replicas of one model's engine: routing (least in-flight among healthy) and health."""

from __future__ import annotations

import time

import aiohttp

from api_server.engines.client import EngineReplica
from api_server.registry import ModelSpec

# A replica that refused a connection is skipped for this long, unless none is left.
_COOLDOWN_S = 2.0


class EnginePool:
    def __init__(self, spec: ModelSpec, http: aiohttp.ClientSession) -> None:
        self.model = spec.name
        self.replicas = tuple(
            EngineReplica(http, spec.engine.kind, spec.engine.served_name, url, metrics_url)
            for url, metrics_url in spec.engine.replica_urls()
        )
        self._down_until: dict[str, float] = {}

    def pick(self) -> EngineReplica:
        now = time.monotonic()
        candidates = [r for r in self.replicas if self._down_until.get(r.url, 0.0) <= now]
        if not candidates:
            candidates = list(self.replicas)
        return min(candidates, key=lambda replica: replica.in_flight)

    def mark_down(self, replica: EngineReplica) -> None:
        self._down_until[replica.url] = time.monotonic() + _COOLDOWN_S
