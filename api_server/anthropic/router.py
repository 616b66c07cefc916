"""Anthropic routes: thin — read the body, call the service, map the result to JSON or SSE.

Clients authenticate with `x-api-key` + `anthropic-version` or `Authorization: Bearer`;
both are accepted (`api_server.auth`). Errors under these paths, 401 and 403 included, use
Anthropic's envelope (`api_server.error_handlers.envelope_for`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from api_server.anthropic.protocol import CountTokensRequest, MessagesRequest
from api_server.anthropic.service import AnthropicService
from api_server.deps import BodyDep, front_door
from api_server.http import respond, unless_client_leaves
from api_server.openapi_doc import anthropic_errors, json_body

router = APIRouter(responses=anthropic_errors())
ServiceDep = Annotated[AnthropicService, Depends(front_door(AnthropicService))]

PATH_PREFIX = "/v1/messages"


@router.post("/v1/messages", openapi_extra=json_body(MessagesRequest, streams=True))
async def messages(request: Request, service: ServiceDep, body: BodyDep) -> Response:
    return respond(await unless_client_leaves(request, service.messages(body)))


@router.post("/v1/messages/count_tokens", openapi_extra=json_body(CountTokensRequest))
async def count_tokens(request: Request, service: ServiceDep, body: BodyDep) -> Response:
    return respond(await unless_client_leaves(request, service.count_tokens(body)))
