"""Logs API routes: thin — hand the query to the service, answer JSON. Mounted only when
`logs_api_enabled` (admin-only once auth exists)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from api_server.deps import StateDep
from api_server.http import json_response
from api_server.logs_api.service import LogsQueryService
from api_server.openapi_doc import openai_errors

router = APIRouter(responses=openai_errors([400, 401, 403, 404, 500, 503]))


@router.get("/v1/logs")
async def list_logs(request: Request, state: StateDep) -> Response:
    return json_response(await LogsQueryService(state).list_logs(request.query_params))


@router.get("/v1/logs/{request_id}")
async def get_log(request_id: str, state: StateDep) -> Response:
    return json_response(await LogsQueryService(state).get_log(request_id))


@router.get("/v1/usage")
async def usage(request: Request, state: StateDep) -> Response:
    return json_response(await LogsQueryService(state).usage(request.query_params))
