"""AI SDK routes: thin — read the body, call the service, map the result to JSON or SSE.
Errors before the stream starts use OpenAI's envelope; after, an `error` chunk."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from api_server.aisdk.service import AISDKService
from api_server.deps import BodyDep, front_door
from api_server.http import respond, unless_client_leaves

router = APIRouter()
ServiceDep = Annotated[AISDKService, Depends(front_door(AISDKService))]


@router.post("/api/chat")
async def chat(request: Request, service: ServiceDep, body: BodyDep) -> Response:
    return respond(await unless_client_leaves(request, service.chat(body)))


@router.post("/v1/title")
async def title(request: Request, service: ServiceDep, body: BodyDep) -> Response:
    return respond(await unless_client_leaves(request, service.title(body)))
