"""AI SDK routes: thin — read the body, call the service, map the result to JSON or SSE.
Errors before the stream starts use OpenAI's envelope; after, an `error` chunk."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from api_server.aisdk.protocol import ChatStreamRequest, TitleRequest
from api_server.aisdk.service import AISDKService
from api_server.deps import BodyDep, front_door
from api_server.http import respond, unless_client_leaves
from api_server.openapi_doc import json_body, openai_errors

router = APIRouter(responses=openai_errors())
ServiceDep = Annotated[AISDKService, Depends(front_door(AISDKService))]


@router.post("/api/chat", openapi_extra=json_body(ChatStreamRequest, streams=True))
async def chat(request: Request, service: ServiceDep, body: BodyDep) -> Response:
    return respond(await unless_client_leaves(request, service.chat(body)))


@router.post("/v1/title", openapi_extra=json_body(TitleRequest))
async def title(request: Request, service: ServiceDep, body: BodyDep) -> Response:
    return respond(await unless_client_leaves(request, service.title(body)))
