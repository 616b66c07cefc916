"""`POST /v1/embeddings`: thin — read the body, call the service."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from api_server.deps import BodyDep, StateDep
from api_server.embeddings_api.protocol import EmbeddingRequestIn
from api_server.embeddings_api.service import create_embeddings
from api_server.http import json_response
from api_server.openapi_doc import json_body, openai_errors

router = APIRouter(responses=openai_errors())


@router.post("/v1/embeddings", openapi_extra=json_body(EmbeddingRequestIn))
async def embeddings(state: StateDep, body: BodyDep) -> Response:
    return json_response(await create_embeddings(state.embedder, body))
