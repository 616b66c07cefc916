"""OpenAI routes: thin — read the body, call the service, map the result to JSON or SSE."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse

from api_server.deps import BodyDep, RequestIdDep, StateDep
from api_server.http import json_response, unless_client_leaves
from api_server.openai.service import OpenAIResult, OpenAIService, StreamResult

router = APIRouter()

_SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def _respond(result: OpenAIResult) -> Response:
    if isinstance(result, StreamResult):
        return StreamingResponse(
            result.chunks, media_type="text/event-stream", headers=_SSE_HEADERS
        )
    return json_response(result)


@router.post("/v1/chat/completions")
async def chat_completions(
    request: Request, state: StateDep, request_id: RequestIdDep, body: BodyDep
) -> Response:
    service = OpenAIService(state, request_id, _client_addr(request))
    return _respond(await unless_client_leaves(request, service.chat_completion(body)))


@router.post("/v1/completions")
async def completions(
    request: Request, state: StateDep, request_id: RequestIdDep, body: BodyDep
) -> Response:
    service = OpenAIService(state, request_id, _client_addr(request))
    return _respond(await unless_client_leaves(request, service.text_completion(body)))


def _client_addr(request: Request) -> str | None:
    return f"{request.client.host}:{request.client.port}" if request.client else None
