"""Anthropic routes: thin — read the body, call the service, map the result to JSON or SSE.

Clients authenticate with `x-api-key` + `anthropic-version` or `Authorization: Bearer`;
both are accepted (`api_server.auth`). Errors under these paths, 401 and 403 included, use
Anthropic's envelope (`api_server.app.envelope_for`).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from api_server.anthropic.service import AnthropicService
from api_server.deps import BodyDep, PrincipalDep, RequestIdDep, StateDep
from api_server.http import client_addr, respond, unless_client_leaves

router = APIRouter()

PATH_PREFIX = "/v1/messages"


@router.post("/v1/messages")
async def messages(
    request: Request,
    state: StateDep,
    request_id: RequestIdDep,
    principal: PrincipalDep,
    body: BodyDep,
) -> Response:
    service = AnthropicService(state, request_id, client_addr(request), principal)
    cache_control = request.headers.get("cache-control")
    semantic = request.headers.get("x-semantic-cache")
    messages = service.messages(body, cache_control, semantic)
    return respond(await unless_client_leaves(request, messages))


@router.post("/v1/messages/count_tokens")
async def count_tokens(
    request: Request,
    state: StateDep,
    request_id: RequestIdDep,
    principal: PrincipalDep,
    body: BodyDep,
) -> Response:
    service = AnthropicService(state, request_id, client_addr(request), principal)
    return respond(await unless_client_leaves(request, service.count_tokens(body)))
