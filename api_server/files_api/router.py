"""Files API routes: thin — the upload streamed to a temporary file, the service, JSON or
the file's bytes back."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response, StreamingResponse

from api_server.deps import PrincipalDep, StateDep
from api_server.files_api.protocol import (
    LIST_LIMIT_DEFAULT,
    UPLOAD_BODY,
    FileDeleted,
    FileList,
    FileObject,
)
from api_server.files_api.service import FilesService
from api_server.files_api.upload import received_upload
from api_server.http import json_response
from api_server.openapi_doc import openai_errors

router = APIRouter(responses=openai_errors([400, 401, 404, 500, 503]))


async def files_service(state: StateDep, principal: PrincipalDep) -> FilesService:
    return FilesService(state, principal)


ServiceDep = Annotated[FilesService, Depends(files_service)]


@router.post(
    "/v1/files",
    openapi_extra=UPLOAD_BODY,
    response_model=FileObject,
    responses=openai_errors([413, 415]),
)
async def create_file(request: Request, state: StateDep, service: ServiceDep) -> Response:
    async with received_upload(request, state.settings.batch_max_file_bytes) as upload:
        return json_response(await service.create(upload))


@router.get("/v1/files", response_model=FileList)
async def list_files(
    service: ServiceDep,
    after: str | None = None,
    limit: Annotated[int, Query(ge=1, le=LIST_LIMIT_DEFAULT)] = LIST_LIMIT_DEFAULT,
    order: Literal["asc", "desc"] = "desc",
    purpose: str | None = None,
) -> Response:
    return json_response(await service.list(after=after, limit=limit, order=order, purpose=purpose))


@router.get("/v1/files/{file_id}", response_model=FileObject)
async def get_file(file_id: str, service: ServiceDep) -> Response:
    return json_response(await service.get(file_id))


@router.get(
    "/v1/files/{file_id}/content",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/octet-stream": {}}}},
)
async def file_content(file_id: str, service: ServiceDep) -> Response:
    return StreamingResponse(await service.content(file_id), media_type="application/octet-stream")


@router.delete("/v1/files/{file_id}", response_model=FileDeleted)
async def delete_file(file_id: str, service: ServiceDep) -> Response:
    return json_response(await service.delete(file_id))
