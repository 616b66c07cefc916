"""Mint an `X-Request-ID` for every request, and keep the client's own id beside it.

The request id is the gateway's, always: it keys the request-log row and the archived
payload, so a client must not be able to choose it (a reused id would drop a row or
overwrite another tenant's archive). A client's id, from `X-Client-Request-Id` (OpenAI's
header) or else `X-Request-ID`, is kept in its own log column and echoed back as
`X-Client-Request-Id`.

A pure ASGI middleware: Starlette's BaseHTTPMiddleware costs a task per request.
"""

from __future__ import annotations

import re
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api_server.log_format import current_request_id

HEADER = b"x-request-id"
CLIENT_HEADER = b"x-client-request-id"
# Where a client's id is looked for, first match wins.
_CLIENT_ID_HEADERS = (CLIENT_HEADER, HEADER)
# Keep the client's id only when it is short and printable; it ends up in logs.
_VALID_ID = re.compile(rb"[A-Za-z0-9._:\-]{1,128}")


class RequestIdMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = uuid.uuid4().hex
        client_id = client_request_id(scope["headers"])
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        state["client_request_id"] = client_id
        current_request_id.set(request_id)  # for every log line of this request
        added = [(HEADER, request_id.encode())]
        if client_id is not None:
            added.append((CLIENT_HEADER, client_id.encode()))

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", []).extend(added)
            await send(message)

        await self.app(scope, receive, send_with_id)


def client_request_id(headers: list[tuple[bytes, bytes]]) -> str | None:
    """The client's own id for its request, when it sent a usable one (else None: an
    unusable id is ignored, not an error)."""
    for wanted in _CLIENT_ID_HEADERS:
        for name, value in headers:
            if name == wanted and _VALID_ID.fullmatch(value):
                return value.decode()
    return None
