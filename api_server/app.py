"""`create_app(settings)`: the gateway's FastAPI application."""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from api_server import __version__
from api_server.aisdk.router import router as aisdk_router
from api_server.anthropic.errors import anthropic_envelope
from api_server.anthropic.router import PATH_PREFIX as ANTHROPIC_PATHS
from api_server.anthropic.router import router as anthropic_router
from api_server.auth.admin_router import router as admin_keys_router
from api_server.auth.repository import KeyStore
from api_server.config import Settings
from api_server.dashboard.router import router as dashboard_router
from api_server.deps import get_principal
from api_server.embeddings.backend import preload_embedder
from api_server.embeddings.router import router as embeddings_router
from api_server.errors import InferstackError, InvalidRequestError
from api_server.http import json_response
from api_server.infra.connections import open_backing_services
from api_server.interceptors import InterceptorChain, InterceptorMiddleware
from api_server.logs.query.router import router as logs_router
from api_server.logs.record import RequestLogSink
from api_server.logs.writer import build_request_log_writer
from api_server.middleware.request_id import RequestIdMiddleware
from api_server.openai.responses import error_body
from api_server.openai.router import router as openai_router
from api_server.proxy_mode import upstream_registry
from api_server.registry import ModelRegistry
from api_server.state import AppState, build_app_state, build_engine_http_client
from api_server.system.health import check_engines
from api_server.system.router import router as system_router

logger = logging.getLogger(__name__)


def create_app(
    settings: Settings | None = None,
    registry: ModelRegistry | None = None,
    request_log: RequestLogSink | None = None,
    key_store: KeyStore | None = None,
) -> FastAPI:
    """Build the gateway; `registry` defaults to the one in `settings.models_file`, and
    `request_log` and `key_store` (tests) replace the sink request-log rows go to and the
    PostgreSQL store API keys are checked against."""
    settings = settings or Settings()
    # Load the registry now, not in the lifespan: a bad models file fails before serving.
    if registry is None:
        registry = (
            upstream_registry(settings.upstream)
            if settings.upstream is not None
            else ModelRegistry.from_file(settings.models_file)
        )
    _refuse_forwarding_gateway_keys(settings, registry)
    if settings.title_model is not None:
        registry.resolve(settings.title_model)  # a title model that does not exist: now
    interceptors = InterceptorChain.from_specs(settings.interceptors)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            # First in, last out: exchanges still finishing are written before it closes.
            interceptors.start()
            stack.push_async_callback(asyncio.to_thread, interceptors.close, 5.0)
            http = await stack.enter_async_context(build_engine_http_client(settings))
            services = await open_backing_services(settings, stack)
            writer = None
            if request_log is None and services.postgres is not None:
                writer = build_request_log_writer(services.postgres, settings)
            state = build_app_state(
                settings, registry, http, services, request_log or writer, key_store
            )
            app.state.inferstack = state
            if writer is not None:
                writer.start(state.metrics.request_log)
                # Closed after everything entered below, before the pool it writes with.
                stack.push_async_callback(writer.close, settings.request_log_shutdown_timeout_s)
            if state.archive is not None:
                await stack.enter_async_context(state.archive)
            elif settings.archive_enabled:
                logger.warning("archive_enabled, but no object store is configured")
            if state.rate_limiter is not None:  # its token charges, before Redis closes
                stack.push_async_callback(state.rate_limiter.drain)
            if state.exact_cache is not None:  # its pending stores, before Redis closes
                stack.push_async_callback(state.exact_cache.drain)
            if state.embedder is not None:
                stack.callback(state.embedder.close)
                if settings.embeddings_preload:
                    await preload_embedder(state.embedder)
            if state.semantic_cache is not None:  # its pending stores, before Qdrant closes
                stack.push_async_callback(state.semantic_cache.drain)
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
    if interceptors.active:  # outside the request-id middleware: it sees X-Request-ID
        app.add_middleware(InterceptorMiddleware, chain=interceptors)
    # Every route asks who calls; auth_open_paths (health, metrics, dashboard) answer anyone.
    authenticated = [Depends(get_principal)]
    app.include_router(system_router, dependencies=authenticated)
    app.include_router(openai_router, dependencies=authenticated)
    app.include_router(embeddings_router, dependencies=authenticated)
    app.include_router(anthropic_router, dependencies=authenticated)
    app.include_router(aisdk_router, dependencies=authenticated)
    app.include_router(dashboard_router, dependencies=authenticated)
    if settings.logs_api_enabled:  # off unless asked for (404); any valid key may read
        app.include_router(logs_router, dependencies=authenticated)
    if settings.admin_key is not None:
        app.include_router(admin_keys_router)  # guarded by admin_key, not by a client key
    _install_error_handlers(app)
    return app


def _refuse_forwarding_gateway_keys(settings: Settings, registry: ModelRegistry) -> None:
    """With the gateway's own auth on, a client's key is an inferstack key: an upstream
    that forwards the client's key would hand it to a third party."""
    if settings.auth_mode == "none":
        return
    for spec in registry.models:
        if spec.engine.is_upstream and spec.engine.auth.style != "env":
            raise ValueError(
                f"model {spec.name}: auth style '{spec.engine.auth.style}' would forward "
                f"clients' gateway keys upstream while auth_mode={settings.auth_mode}; use "
                "style 'env' with api_key_env"
            )


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
