"""Service routes: index, health, models, metrics."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST

from api_server import __version__
from api_server.auth.authenticator import credential_from
from api_server.deps import StateDep
from api_server.errors import InferstackError
from api_server.http import json_response
from api_server.openapi_doc import openai_errors
from api_server.registry import CATCH_ALL_MODEL
from api_server.state import AppState
from api_server.system.health import check_backing_services, check_engines
from api_server.upstreams.credentials import client_headers_for_upstream
from api_server.upstreams.models import upstream_model_list

router = APIRouter(responses=openai_errors([401, 500]))


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
                "dashboard": "/dashboard",
                "docs": "/docs",
            },
        }
    )


@router.get("/v1/models")
async def list_models(state: StateDep, request: Request) -> Response:
    registry = state.registry
    if registry.catch_all is not None and len(registry.models) == 1:  # proxy mode
        answer = await upstream_model_list(
            state.runtimes[CATCH_ALL_MODEL], client_headers_for_upstream(request.headers)
        )
        return Response(answer.body, answer.status, media_type=answer.media_type)
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
        if spec is not state.registry.catch_all  # "*" is no model a client can name
    ]
    return json_response({"object": "list", "data": data})


@router.get("/health/live")
async def live() -> Response:
    return json_response({"status": "alive"})


@router.get(
    "/health/ready",
    responses={503: {"description": "Not ready: the same report, some model has no engine up"}},
)
async def ready(state: StateDep, request: Request) -> Response:
    body = await readiness(state, details=await _shows_details(state, request))
    return json_response(body, status_code=503 if body["status"] == "not_ready" else 200)


@router.get("/health")
async def health(state: StateDep, request: Request) -> Response:
    body = await readiness(state, details=await _shows_details(state, request))
    body["version"] = __version__
    body["uptime_s"] = round(time.time() - state.started_at, 1)
    return json_response(body)


@router.get("/metrics")
async def metrics(state: StateDep) -> Response:
    return Response(state.metrics.render(), media_type=CONTENT_TYPE_LATEST)


# Not an open path, whatever auth_open_paths says (it has a query string): asking the
# authenticator about it checks the caller's credentials.
_DETAILS_PATH = "/health?details"


async def _shows_details(state: AppState, request: Request) -> bool:
    """Why a component is down (exception text, addresses) only for callers with valid
    credentials or the admin key; anyone reaching the open health paths sees status and
    latency, and the details are in the gateway's debug log. With auth off and no admin key
    nobody is told."""
    if credential_from(request.headers) is None:
        return False
    try:  # the admin key is the admin in every mode; with auth off nobody else is anyone
        principal = await state.auth.authenticate(_DETAILS_PATH, request.headers)
    except InferstackError:
        return False
    return principal.admin or state.auth.mode != "none"


async def readiness(state: AppState, *, details: bool = False) -> dict[str, Any]:
    engines, services = await asyncio.gather(
        check_engines(state, details=details), check_backing_services(state, details=details)
    )
    every_model_served = all(
        any(replica["status"] == "up" for replica in replicas.values())
        for replicas in engines.values()
    )
    services_up = all(service["status"] == "up" for service in services.values())
    status = "ready" if every_model_served and services_up else "degraded"
    if not every_model_served:
        status = "not_ready"
    return {"status": status, "models": engines, "components": services}
