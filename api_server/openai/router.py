"""OpenAI routes: thin — read the body, call the service, map the result to JSON or SSE."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from api_server.deps import BodyDep, PrincipalDep, RequestIdDep, StateDep
from api_server.http import client_addr, respond, unless_client_leaves
from api_server.openai.service import OpenAIService

router = APIRouter()


@router.post("/v1/chat/completions")
async def chat_completions(
    request: Request,
    state: StateDep,
    request_id: RequestIdDep,
    principal: PrincipalDep,
    body: BodyDep,
) -> Response:
    service = OpenAIService(state, request_id, client_addr(request), principal)
    cache_control = request.headers.get("cache-control")
    semantic = request.headers.get("x-semantic-cache")
    return respond(
        await unless_client_leaves(request, service.chat_completion(body, cache_control, semantic))
    )


@router.post("/v1/completions")
async def completions(
    request: Request,
    state: StateDep,
    request_id: RequestIdDep,
    principal: PrincipalDep,
    body: BodyDep,
) -> Response:
    service = OpenAIService(state, request_id, client_addr(request), principal)
    return respond(await unless_client_leaves(request, service.text_completion(body)))
