"""Responses API routes: thin — read the body or the query, call the service, map the result
to JSON or SSE. Errors come in OpenAI's envelope; a stream that fails once begun ends with
`response.failed`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from api_server.deps import BodyDep, front_door
from api_server.http import json_response, respond, unless_client_leaves
from api_server.openapi_doc import json_body, openai_errors
from api_server.responses.protocol import ResponsesRequest
from api_server.responses.service import ResponsesService

router = APIRouter()
ServiceDep = Annotated[ResponsesService, Depends(front_door(ResponsesService))]
_READ_ERRORS = openai_errors([400, 401, 404, 500, 503])


@router.post(
    "/v1/responses",
    openapi_extra=json_body(ResponsesRequest, streams=True),
    responses=openai_errors(),
)
async def create_response(request: Request, service: ServiceDep, body: BodyDep) -> Response:
    return respond(await unless_client_leaves(request, service.create(body)))


@router.get("/v1/responses/{response_id}", responses=_READ_ERRORS)
async def retrieve_response(request: Request, response_id: str, service: ServiceDep) -> Response:
    return json_response(await service.retrieve(response_id, request.query_params))


@router.delete("/v1/responses/{response_id}", responses=_READ_ERRORS)
async def delete_response(response_id: str, service: ServiceDep) -> Response:
    return json_response(await service.delete(response_id))


@router.get("/v1/responses/{response_id}/input_items", responses=_READ_ERRORS)
async def list_input_items(request: Request, response_id: str, service: ServiceDep) -> Response:
    return json_response(await service.input_items(response_id, request.query_params))
