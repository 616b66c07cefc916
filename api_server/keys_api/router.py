"""`/v1/admin/keys`: create, list and revoke API keys; guarded by `admin_key`, mounted only
when it is set. The created key is in the POST answer, and nowhere else, ever.

The admin key is checked before the body is read: a caller without it costs no parsing,
and the body is then read only up to `MAX_NEW_KEY_BYTES`. Creations, revocations and
refused admin keys are audited (`auth.audit`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field, ValidationError

from api_server.auth.admin import is_admin_key
from api_server.auth.authenticator import credential_from
from api_server.auth.repository import ApiKeyRepository
from api_server.deps import StateDep, read_body_up_to
from api_server.errors import (
    AuthenticationError,
    AuthUnavailableError,
    InvalidRequestError,
    KeyNotFoundError,
)
from api_server.http import client_addr, json_response
from api_server.pg_errors import DATABASE_ERRORS
from api_server.priority_classes import PriorityClass

MAX_NEW_KEY_BYTES = 64 * 1024  # a name and a model list: far below the gateway's 4 MiB


class NewKey(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    models: list[str] | None = None  # None: every model
    rpm: int | None = Field(default=None, gt=0)
    tpm: int | None = Field(default=None, gt=0)
    # The key's class in the admission queues: its requests' default and ceiling; None: normal.
    priority: PriorityClass | None = None


async def admin_repository(request: Request, state: StateDep) -> ApiKeyRepository:
    if not is_admin_key(state.settings.admin_key, credential_from(request.headers)):
        state.auth.audit.refused("admin_key", request.url.path, client_addr(request))
        raise AuthenticationError("Invalid admin key", reason="admin_key")
    repository = state.auth.repository
    assert repository is not None  # admin_key requires database_url (Settings)
    return repository


RepositoryDep = Annotated[ApiKeyRepository, Depends(admin_repository)]

# Out of the public /openapi.json and /docs: the admin key's business, documented in the
# README (Identity).
router = APIRouter(prefix="/v1/admin/keys", include_in_schema=False)

# The body is read by hand (after the admin key is checked); the document still shows it.
_NEW_KEY_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": NewKey.model_json_schema()}},
    }
}


@router.post("", status_code=201, openapi_extra=_NEW_KEY_BODY)
async def create_key(request: Request, state: StateDep, keys: RepositoryDep) -> Response:
    new = parse_new_key(await read_body_up_to(request, MAX_NEW_KEY_BYTES))
    with database_errors_as_503():
        record, key = await keys.create(new.name, new.models, new.rpm, new.tpm, new.priority)
    state.auth.audit.key_event("create", record.id, record.prefix, client_addr(request))
    return json_response({**record.as_json(), "key": key}, status_code=201)


@router.get("")
async def list_keys(keys: RepositoryDep, include_revoked: bool = False) -> Response:
    with database_errors_as_503():
        listed = await keys.list(include_revoked)
    return json_response({"data": [key.as_json() for key in listed]})


@router.delete("/{key_id}")
async def revoke_key(
    key_id: UUID, request: Request, state: StateDep, keys: RepositoryDep
) -> Response:
    with database_errors_as_503():
        revoked = await keys.revoke(str(key_id))
    if not revoked:
        raise KeyNotFoundError(f"No live key with id {key_id}")
    state.auth.audit.key_event("revoke", str(key_id), None, client_addr(request))
    return json_response({"id": str(key_id), "revoked": True})


def parse_new_key(body: bytes) -> NewKey:
    """The POST body as a NewKey; a 400 naming the first problem otherwise."""
    try:
        return NewKey.model_validate_json(body)
    except ValidationError as exc:
        problem = exc.errors(include_url=False, include_input=False)[0]
        where = ".".join(str(part) for part in problem["loc"]) or "body"
        raise InvalidRequestError(
            f"Invalid request: {where}: {problem['msg']}", param=where
        ) from exc


@contextmanager
def database_errors_as_503() -> Iterator[None]:
    try:
        yield
    except DATABASE_ERRORS as exc:
        raise AuthUnavailableError("API keys cannot be managed right now") from exc
