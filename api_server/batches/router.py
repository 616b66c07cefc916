"""Batch API routes: thin — parse, call the service, answer JSON."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from api_server.batches.protocol import (
    LIST_LIMIT_DEFAULT,
    LIST_LIMIT_MAX,
    BatchCreateRequest,
    BatchList,
    BatchObject,
)
from api_server.batches.service import BatchesService
from api_server.deps import BodyDep, PrincipalDep, StateDep
from api_server.http import json_response
from api_server.openapi_doc import json_body, openai_errors

router = APIRouter(responses=openai_errors([400, 401, 403, 404, 500, 503]))


async def batches_service(state: StateDep, principal: PrincipalDep) -> BatchesService:
    return BatchesService(state, principal)


ServiceDep = Annotated[BatchesService, Depends(batches_service)]


@router.post(
    "/v1/batches",
    openapi_extra=json_body(BatchCreateRequest),
    response_model=BatchObject,
    responses=openai_errors([413, 415]),
)
async def create_batch(service: ServiceDep, body: BodyDep) -> Response:
    return json_response(await service.create(body))


@router.get("/v1/batches", response_model=BatchList)
async def list_batches(
    service: ServiceDep,
    after: str | None = None,
    limit: Annotated[int, Query(ge=1, le=LIST_LIMIT_MAX)] = LIST_LIMIT_DEFAULT,
) -> Response:
    return json_response(await service.list(after=after, limit=limit))


@router.get("/v1/batches/{batch_id}", response_model=BatchObject)
async def get_batch(batch_id: str, service: ServiceDep) -> Response:
    return json_response(await service.get(batch_id))


@router.post("/v1/batches/{batch_id}/cancel", response_model=BatchObject)
async def cancel_batch(batch_id: str, service: ServiceDep) -> Response:
    return json_response(await service.cancel(batch_id))
