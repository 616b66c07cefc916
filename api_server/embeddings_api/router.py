"""`POST /v1/embeddings`: thin — read the body, call the service, render."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from api_server.deps import BodyDep, front_door
from api_server.embeddings_api.protocol import EmbeddingRequestIn
from api_server.embeddings_api.service import EmbeddingsService
from api_server.http import respond, unless_client_leaves
from api_server.openapi_doc import json_body, openai_errors

router = APIRouter(responses=openai_errors())
ServiceDep = Annotated[EmbeddingsService, Depends(front_door(EmbeddingsService))]


@router.post("/v1/embeddings", openapi_extra=json_body(EmbeddingRequestIn))
async def embeddings(request: Request, service: ServiceDep, body: BodyDep) -> Response:
    # A client that leaves cancels its embedding, queued work included.
    return respond(await unless_client_leaves(request, service.create(body)))
