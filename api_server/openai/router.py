"""OpenAI routes: thin — read the body, call the service, map the result to JSON or SSE."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from api_server.deps import BodyDep, front_door
from api_server.http import respond, unless_client_leaves
from api_server.openai.protocol import ChatCompletionRequest, CompletionRequestIn
from api_server.openai.service import OpenAIService
from api_server.openapi_doc import json_body, openai_errors

router = APIRouter(responses=openai_errors())
ServiceDep = Annotated[OpenAIService, Depends(front_door(OpenAIService))]


@router.post("/v1/chat/completions", openapi_extra=json_body(ChatCompletionRequest, streams=True))
async def chat_completions(request: Request, service: ServiceDep, body: BodyDep) -> Response:
    return respond(await unless_client_leaves(request, service.chat_completion(body)))


@router.post("/v1/completions", openapi_extra=json_body(CompletionRequestIn, streams=True))
async def completions(request: Request, service: ServiceDep, body: BodyDep) -> Response:
    return respond(await unless_client_leaves(request, service.text_completion(body)))
