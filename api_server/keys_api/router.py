"""`/v1/admin/keys`: create, list and revoke API keys; guarded by `admin_key`, mounted only
when it is set. The created key is in the POST answer, and nowhere else, ever."""

from __future__ import annotations

import hmac
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from api_server.auth.authenticator import credential_from
from api_server.auth.repository import ApiKeyRepository
from api_server.deps import StateDep
from api_server.errors import AuthenticationError, KeyNotFoundError
from api_server.http import json_response


class NewKey(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    models: list[str] | None = None  # None: every model
    rpm: int | None = Field(default=None, gt=0)
    tpm: int | None = Field(default=None, gt=0)


async def admin_repository(request: Request, state: StateDep) -> ApiKeyRepository:
    admin_key = state.settings.admin_key
    given = credential_from(request.headers)
    if (
        admin_key is None
        or given is None
        or not hmac.compare_digest(given.encode(), admin_key.get_secret_value().encode())
    ):
        raise AuthenticationError("Invalid admin key")
    repository = state.auth.repository
    assert repository is not None  # admin_key requires database_url (Settings)
    return repository


RepositoryDep = Annotated[ApiKeyRepository, Depends(admin_repository)]

# Out of the public /openapi.json and /docs: the admin key's business, documented in the
# README (Identity).
router = APIRouter(prefix="/v1/admin/keys", include_in_schema=False)


@router.post("", status_code=201)
async def create_key(new: NewKey, keys: RepositoryDep) -> Response:
    record, key = await keys.create(new.name, new.models, new.rpm, new.tpm)
    return json_response({**record.as_json(), "key": key}, status_code=201)


@router.get("")
async def list_keys(keys: RepositoryDep, include_revoked: bool = False) -> Response:
    return json_response({"data": [key.as_json() for key in await keys.list(include_revoked)]})


@router.delete("/{key_id}")
async def revoke_key(key_id: UUID, keys: RepositoryDep) -> Response:
    if not await keys.revoke(str(key_id)):
        raise KeyNotFoundError(f"No live key with id {key_id}")
    return json_response({"id": str(key_id), "revoked": True})
