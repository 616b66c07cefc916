"""The gateway's `/health/ready` JSON, read leniently: unknown or missing fields never raise."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Check:
    """One engine replica or backing service: "up", "down" or whatever the gateway said."""

    status: str
    latency_ms: float | None = None
    detail: str | None = None
    breaker: str | None = None  # an engine replica's circuit breaker: closed, half_open, open


@dataclass(frozen=True)
class Readiness:
    status: str  # ready | degraded | not_ready
    engines: dict[tuple[str, str], Check] = field(default_factory=dict)  # (model, engine)
    components: dict[str, Check] = field(default_factory=dict)


def _check(raw: Any) -> Check:
    if not isinstance(raw, dict):
        return Check(status=str(raw))
    latency = raw.get("latency_ms")
    detail = raw.get("detail")
    breaker = raw.get("breaker")
    return Check(
        status=str(raw.get("status", "unknown")),
        latency_ms=float(latency) if isinstance(latency, int | float) else None,
        detail=str(detail) if detail is not None else None,
        breaker=str(breaker) if breaker is not None else None,
    )


def parse_readiness(body: Any) -> Readiness:
    if not isinstance(body, dict):
        return Readiness(status="unknown")
    engines: dict[tuple[str, str], Check] = {}
    models = body.get("models")
    if isinstance(models, dict):
        for model, replicas in models.items():
            if isinstance(replicas, dict):
                for engine, raw in replicas.items():
                    engines[(str(model), str(engine))] = _check(raw)
    components: dict[str, Check] = {}
    raw_components = body.get("components")
    if isinstance(raw_components, dict):
        components = {str(name): _check(raw) for name, raw in raw_components.items()}
    return Readiness(
        status=str(body.get("status", "unknown")), engines=engines, components=components
    )
