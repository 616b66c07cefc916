"""FastAPI dependencies: reach the app state and per-request values through these aliases.

All async: FastAPI runs plain `def` dependencies in a thread pool, a cost on every request.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

from fastapi import Depends, Request

from api_server.auth.principal import Principal
from api_server.errors import RequestTooLargeError
from api_server.frontdoor.service import FrontDoorService
from api_server.http import client_addr
from api_server.state import AppState
from api_server.upstreams.credentials import client_headers_for_upstream


async def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.inferstack
    return state


async def get_request_id(request: Request) -> str:
    request_id: str = request.scope["state"]["request_id"]
    return request_id


async def get_principal(request: Request) -> Principal:
    """Who calls (401 without valid credentials, unless auth is off or the path is open)."""
    return await (await get_state(request)).auth.authenticate(request.url.path, request.headers)


async def read_limited_body(request: Request) -> bytes:
    """The request body, refused with 413 past the configured size (checked while reading,
    so a chunked upload cannot fill memory)."""
    limit = (await get_state(request)).settings.max_body_bytes
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise RequestTooLargeError(f"Request body of {declared} bytes exceeds {limit} bytes")
    received = bytearray()
    async for piece in request.stream():
        received += piece
        if len(received) > limit:
            raise RequestTooLargeError(f"Request body exceeds {limit} bytes")
    return bytes(received)


StateDep = Annotated[AppState, Depends(get_state)]
RequestIdDep = Annotated[str, Depends(get_request_id)]
BodyDep = Annotated[bytes, Depends(read_limited_body)]
PrincipalDep = Annotated[Principal, Depends(get_principal)]


Service = TypeVar("Service", bound=FrontDoorService)


def front_door(service: type[Service]) -> Callable[..., Awaitable[Service]]:
    """A dependency building a front door's service for the request: app state, request id,
    the caller's address and identity, and the headers it heeds."""

    async def build(
        request: Request, state: StateDep, request_id: RequestIdDep, principal: PrincipalDep
    ) -> Service:
        headers = request.headers
        return service(
            state,
            request_id,
            client_addr(request),
            principal,
            headers.get("cache-control"),
            headers.get("x-semantic-cache"),
            session_header=headers.get("x-session-id"),
            client_headers=(
                client_headers_for_upstream(headers) if state.registry.upstream_kinds else {}
            ),
            client_request_id=request.scope["state"].get("client_request_id"),
        )

    return build
