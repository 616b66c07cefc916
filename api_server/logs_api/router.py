"""Logs API routes: thin — hand the query and the caller's scope to the service, answer
JSON. Mounted only when `logs_api_enabled`; who sees what is `access.log_scope`'s call."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from api_server.deps import StateDep
from api_server.http import json_response
from api_server.logs.query.protocol import LogScope
from api_server.logs_api.access import log_scope
from api_server.logs_api.service import LogsQueryService
from api_server.openapi_doc import openai_errors

ScopeDep = Annotated[LogScope, Depends(log_scope)]

router = APIRouter(responses=openai_errors([400, 401, 403, 404, 500, 503]))


@router.get("/v1/logs")
async def list_logs(request: Request, state: StateDep, scope: ScopeDep) -> Response:
    return json_response(await LogsQueryService(state, scope).list_logs(request.query_params))


@router.get("/v1/logs/{request_id}")
async def get_log(request_id: str, state: StateDep, scope: ScopeDep) -> Response:
    return json_response(await LogsQueryService(state, scope).get_log(request_id))


@router.get("/v1/usage")
async def usage(request: Request, state: StateDep, scope: ScopeDep) -> Response:
    return json_response(await LogsQueryService(state, scope).usage(request.query_params))
