"""The app's exception handlers: one error tree rendered in the envelope of the front door
whose client asks (OpenAI's, or Anthropic's under its paths), with Retry-After."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from api_server.anthropic.errors import anthropic_envelope
from api_server.anthropic.router import PATH_PREFIX as ANTHROPIC_PATHS
from api_server.errors import InferstackError, InvalidRequestError
from api_server.http import json_response
from api_server.openai.render import error_body

logger = logging.getLogger(__name__)


def install_error_handlers(app: FastAPI) -> None:
    async def on_gateway_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, InferstackError)
        return render_error(exc, envelope_for(request))

    async def on_validation_error(request: Request, exc: Exception) -> Response:
        return render_error(InvalidRequestError(f"Invalid request: {exc}"), envelope_for(request))

    async def on_http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        error = InferstackError(str(exc.detail), code=_http_code(exc.status_code))
        error.status_code = exc.status_code
        error.error_type = "invalid_request_error" if exc.status_code < 500 else "server_error"
        response = render_error(error, envelope_for(request))
        response.headers.update(exc.headers or {})  # e.g. Allow on 405
        return response

    async def on_unexpected_error(request: Request, exc: Exception) -> Response:
        logger.exception("unhandled error on %s %s", request.method, request.url.path)
        error = InferstackError("The gateway hit an internal error")
        response = render_error(error, envelope_for(request))
        # This handler runs outside the request-id middleware: add the id here.
        request_id = request.scope.get("state", {}).get("request_id")
        if request_id:
            response.headers["X-Request-ID"] = request_id
        return response

    app.add_exception_handler(InferstackError, on_gateway_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(Exception, on_unexpected_error)


Envelope = Callable[[InferstackError], tuple[int, dict[str, Any]]]


def openai_envelope(error: InferstackError) -> tuple[int, dict[str, Any]]:
    return error.status_code, error_body(error)


def envelope_for(request: Request) -> Envelope:
    """One error tree, one envelope per front door: the path says whose client asks."""
    if request.url.path.startswith(ANTHROPIC_PATHS):
        return anthropic_envelope
    return openai_envelope


def render_error(error: InferstackError, envelope: Envelope = openai_envelope) -> Response:
    headers = dict(error.headers)
    if error.retry_after_s is not None:
        headers["Retry-After"] = str(max(1, math.ceil(error.retry_after_s)))
    status, body = envelope(error)
    return json_response(body, status_code=status, headers=headers)


def _http_code(status: int) -> str:
    return {404: "not_found", 405: "method_not_allowed"}.get(status, f"http_{status}")
