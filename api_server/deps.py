"""FastAPI dependencies: reach the app state and per-request values through these aliases.

All async: FastAPI runs plain `def` dependencies in a thread pool, a cost on every request.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Annotated, TypeVar

from fastapi import Depends, Request

from api_server.admission.priority import PRIORITY_HEADER
from api_server.agent_ids import agent_id_for
from api_server.auth.principal import Principal
from api_server.errors import RequestTooLargeError, UnsupportedMediaTypeError
from api_server.frontdoor.service import FrontDoorService
from api_server.generation.translation import DEBUG_HEADER, translation_debug_requested
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
    auth = (await get_state(request)).auth
    return await auth.authenticate(request.url.path, request.headers, client_addr(request))


async def read_limited_body(request: Request) -> bytes:
    """The JSON request body, refused past the configured size."""
    return await read_body_up_to(request, (await get_state(request)).settings.max_body_bytes)


async def read_body_up_to(request: Request, limit: int) -> bytes:
    """The JSON request body: 415 unless its Content-Type is JSON, 413 past `limit` bytes
    (checked while reading, so a chunked upload cannot fill memory)."""
    if not is_json_media_type(request.headers.get("content-type")):
        raise UnsupportedMediaTypeError(
            "Send the request body as JSON, with `Content-Type: application/json`"
        )
    declared = declared_length(request.headers.get("content-length"))
    if declared is not None and declared > limit:
        raise RequestTooLargeError(f"Request body of {declared} bytes exceeds {limit} bytes")
    received = bytearray()
    async for piece in request.stream():
        received += piece
        if len(received) > limit:
            raise RequestTooLargeError(f"Request body exceeds {limit} bytes")
    return bytes(received)


def is_json_media_type(content_type: str | None) -> bool:
    """application/json (parameters such as charset allowed) or a +json type. Anything
    else is refused, a missing type included: a browser page on another site can POST
    text/plain, a form or a typeless blob without asking first (CORS "simple" requests),
    but never JSON, so this keeps such cross-site requests out."""
    if content_type is None:
        return False
    media_type = content_type.partition(";")[0].strip().lower()
    return media_type == "application/json" or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )


def declared_length(value: str | None) -> int | None:
    """Content-Length as a number if it is one: ASCII digits only (str.isdigit also takes
    "²", which int() refuses); anything else is left to the streamed count."""
    if value is None or not value.isascii() or not value.isdecimal():
        return None
    return int(value)


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
            agent_id=agent_id_for(headers.get("x-agent-id"), headers.get("x-trace-id")),
            client_headers=(
                client_headers_for_upstream(headers) if state.registry.upstream_kinds else {}
            ),
            client_request_id=request.scope["state"].get("client_request_id"),
            debug_translation=translation_debug_allowed(state, principal, headers),
            priority_header=headers.get(PRIORITY_HEADER),
        )

    return build


def translation_debug_allowed(
    state: AppState, principal: Principal, headers: Mapping[str, str]
) -> bool:
    """The translation debug mode is on, asked for, and asked by the admin; any other
    caller's header is ignored (nothing extra, no error: it reveals nothing either)."""
    return (
        state.settings.debug_translation
        and principal.admin
        and translation_debug_requested(headers.get(DEBUG_HEADER))
    )
