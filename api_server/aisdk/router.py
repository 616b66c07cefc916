"""AI SDK routes: thin — read the body, call the service, map the result to JSON or SSE.
Errors before the stream starts use OpenAI's envelope; after, an `error` chunk."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from api_server.aisdk.service import AISDKService
from api_server.deps import BodyDep, PrincipalDep, RequestIdDep, StateDep
from api_server.http import client_addr, respond, unless_client_leaves

router = APIRouter()


@router.post("/api/chat")
async def chat(
    request: Request,
    state: StateDep,
    request_id: RequestIdDep,
    principal: PrincipalDep,
    body: BodyDep,
) -> Response:
    service = AISDKService(state, request_id, client_addr(request), principal)
    return respond(await unless_client_leaves(request, service.chat(body)))


@router.post("/v1/title")
async def title(
    request: Request,
    state: StateDep,
    request_id: RequestIdDep,
    principal: PrincipalDep,
    body: BodyDep,
) -> Response:
    service = AISDKService(state, request_id, client_addr(request), principal)
    return respond(await unless_client_leaves(request, service.title(body)))
