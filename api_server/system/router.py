"""Service routes: index, health, models, metrics."""

from __future__ import annotations

import asyncio
import time

from fastapi import APIRouter
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST

from api_server import __version__
from api_server.deps import StateDep
from api_server.http import json_response
from api_server.state import AppState

router = APIRouter()


@router.get("/")
async def index(state: StateDep) -> Response:
    return json_response(
        {
            "name": "inferstack",
            "version": __version__,
            "default_model": state.registry.default_model,
            "links": {
                "chat_completions": "/v1/chat/completions",
                "completions": "/v1/completions",
                "models": "/v1/models",
                "health": "/health",
                "ready": "/health/ready",
                "metrics": "/metrics",
                "docs": "/docs",
            },
        }
    )


@router.get("/v1/models")
async def list_models(state: StateDep) -> Response:
    created = int(state.started_at)
    data = [
        {
            "id": spec.name,
            "object": "model",
            "created": created,
            "owned_by": spec.owned_by,
            "aliases": list(spec.aliases),
            "context_length": spec.context_length,
            "max_tokens": spec.max_tokens.limit,
        }
        for spec in state.registry.models
    ]
    return json_response({"object": "list", "data": data})


@router.get("/health/live")
async def live() -> Response:
    return json_response({"status": "alive"})


@router.get("/health/ready")
async def ready(state: StateDep) -> Response:
    report = await probe_engines(state)
    is_ready = all(any(replicas.values()) for replicas in report.values())
    return json_response(
        {"status": "ready" if is_ready else "not_ready", "models": report},
        status_code=200 if is_ready else 503,
    )


@router.get("/health")
async def health(state: StateDep) -> Response:
    report = await probe_engines(state)
    healthy = all(any(replicas.values()) for replicas in report.values())
    return json_response(
        {
            "status": "ok" if healthy else "degraded",
            "version": __version__,
            "uptime_s": round(time.time() - state.started_at, 1),
            "models": report,
        }
    )


@router.get("/metrics")
async def metrics(state: StateDep) -> Response:
    return Response(state.metrics.render(), media_type=CONTENT_TYPE_LATEST)


async def probe_engines(state: AppState) -> dict[str, dict[str, bool]]:
    """Ask every replica of every model for its health, concurrently."""
    timeout = state.settings.health_probe_timeout_s
    names = list(state.runtimes)
    reports = await asyncio.gather(*(state.runtimes[n].pool.probe(timeout) for n in names))
    for name, replicas in zip(names, reports, strict=True):
        for engine, up in replicas.items():
            state.metrics.engine_up.labels(name, engine).set(1 if up else 0)
    return dict(zip(names, reports, strict=True))
