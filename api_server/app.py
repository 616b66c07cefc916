"""`create_app(settings)`: the gateway's FastAPI application."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from api_server import __version__
from api_server.config import Settings
from api_server.dashboard.router import router as dashboard_router
from api_server.errors import InferstackError, InvalidRequestError
from api_server.http import json_response
from api_server.infra.connections import open_backing_services
from api_server.logs.record import RequestLogSink
from api_server.middleware.request_id import RequestIdMiddleware
from api_server.openai.responses import error_body
from api_server.openai.router import router as openai_router
from api_server.registry import ModelRegistry
from api_server.state import AppState, build_app_state, build_engine_http_client
from api_server.system.health import check_engines
from api_server.system.router import router as system_router

logger = logging.getLogger(__name__)


def create_app(
    settings: Settings | None = None,
    registry: ModelRegistry | None = None,
    request_log: RequestLogSink | None = None,
) -> FastAPI:
    """Build the gateway; `registry` defaults to the one in `settings.models_file`, and
    `request_log` (tests) replaces the sink request-log rows go to."""
    settings = settings or Settings()
    # Load the registry now, not in the lifespan: a bad models file fails before serving.
    registry = registry or ModelRegistry.from_file(settings.models_file)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            http = await stack.enter_async_context(build_engine_http_client(settings))
            services = await open_backing_services(settings, stack)
            state = build_app_state(settings, registry, http, services, request_log)
            app.state.inferstack = state
            # Learn each replica's health (and whether llama.cpp adds BOS) before the first
            # request, then keep it fresh: engines restart, sometimes with another model.
            await check_engines(state)
            monitor = asyncio.create_task(_watch_engines(state))
            stack.callback(monitor.cancel)
            yield

    app = FastAPI(
        title="inferstack",
        version=__version__,
        lifespan=lifespan,
        summary="OpenAI-compatible gateway over vLLM, MAX Serve and llama.cpp",
    )
    app.add_middleware(RequestIdMiddleware)
    app.include_router(system_router)
    app.include_router(openai_router)
    app.include_router(dashboard_router)
    _install_error_handlers(app)
    return app


async def _watch_engines(state: AppState) -> None:
    while True:
        await asyncio.sleep(state.settings.health_interval_s)
        try:
            await check_engines(state)
        except Exception:  # the watcher must outlive any one bad probe
            logger.exception("engine health check failed")


def _install_error_handlers(app: FastAPI) -> None:
    async def on_gateway_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, InferstackError)
        return render_error(exc)

    async def on_validation_error(request: Request, exc: Exception) -> Response:
        return render_error(InvalidRequestError(f"Invalid request: {exc}"))

    async def on_http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        error = InferstackError(str(exc.detail), code=_http_code(exc.status_code))
        error.status_code = exc.status_code
        error.error_type = "invalid_request_error" if exc.status_code < 500 else "server_error"
        response = render_error(error)
        response.headers.update(exc.headers or {})  # e.g. Allow on 405
        return response

    async def on_unexpected_error(request: Request, exc: Exception) -> Response:
        logger.exception("unhandled error on %s %s", request.method, request.url.path)
        response = render_error(InferstackError("The gateway hit an internal error"))
        # This handler runs outside the request-id middleware: add the id here.
        request_id = request.scope.get("state", {}).get("request_id")
        if request_id:
            response.headers["X-Request-ID"] = request_id
        return response

    app.add_exception_handler(InferstackError, on_gateway_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(Exception, on_unexpected_error)


def render_error(error: InferstackError) -> Response:
    headers = None
    if error.retry_after_s is not None:
        headers = {"Retry-After": str(max(1, round(error.retry_after_s)))}
    return json_response(error_body(error), status_code=error.status_code, headers=headers)


def _http_code(status: int) -> str:
    return {404: "not_found", 405: "method_not_allowed"}.get(status, f"http_{status}")
