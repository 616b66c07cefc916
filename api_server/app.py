"""`create_app(settings)`: the gateway's FastAPI application."""

from __future__ import annotations

import logging

from fastapi import Depends, FastAPI
from starlette.middleware.cors import CORSMiddleware

from api_server import __version__
from api_server.aisdk.router import router as aisdk_router
from api_server.anthropic.router import router as anthropic_router
from api_server.auth.repository import KeyStore
from api_server.batches.router import router as batches_router
from api_server.config import Settings
from api_server.dashboard.router import router as dashboard_router
from api_server.deps import get_principal
from api_server.embeddings_api.router import router as embeddings_router
from api_server.error_handlers import install_error_handlers
from api_server.files_api.router import router as files_router
from api_server.interceptors import InterceptorChain, InterceptorMiddleware
from api_server.keys_api.router import router as admin_keys_router
from api_server.lifespan import gateway_lifespan
from api_server.logs.record import RequestLogSink
from api_server.logs_api.router import router as logs_router
from api_server.middleware.request_id import RequestIdMiddleware
from api_server.openai.router import router as openai_router
from api_server.openapi_doc import install_openapi
from api_server.proxy_mode import upstream_registry
from api_server.registry import ModelRegistry
from api_server.response_store.record import ResponseStore
from api_server.responses.router import router as responses_router
from api_server.system.router import router as system_router

logger = logging.getLogger(__name__)


def create_app(
    settings: Settings | None = None,
    registry: ModelRegistry | None = None,
    request_log: RequestLogSink | None = None,
    key_store: KeyStore | None = None,
    response_store: ResponseStore | None = None,
) -> FastAPI:
    """Build the gateway; `registry` defaults to the one in `settings.models_file`, and
    `request_log`, `key_store` and `response_store` (tests) replace the sink request-log
    rows go to, the PostgreSQL store API keys are checked against and the one the
    Responses API keeps responses in."""
    settings = settings or Settings()
    # Load the registry now, not in the lifespan: a bad models file fails before serving.
    if registry is None:
        registry = (
            upstream_registry(settings.upstream, settings.retry)
            if settings.upstream is not None
            else ModelRegistry.from_file(settings.models_file, default_retry=settings.retry)
        )
    _refuse_forwarding_gateway_keys(settings, registry)
    if settings.title_model is not None:
        registry.resolve(settings.title_model)  # a title model that does not exist: now
    interceptors = InterceptorChain.from_specs(settings.interceptors)

    app = FastAPI(
        title="inferstack",
        version=__version__,
        lifespan=gateway_lifespan(
            settings, registry, interceptors, request_log, key_store, response_store
        ),
        summary="OpenAI-compatible gateway over vLLM, MAX Serve and llama.cpp",
    )
    app.add_middleware(RequestIdMiddleware)
    if interceptors.active:  # outside the request-id middleware: it sees X-Request-ID
        app.add_middleware(InterceptorMiddleware, chain=interceptors)
    # Every route asks who calls; auth_open_paths (health, metrics, dashboard) answer anyone.
    authenticated = [Depends(get_principal)]
    app.include_router(system_router, dependencies=authenticated)
    app.include_router(openai_router, dependencies=authenticated)
    app.include_router(responses_router, dependencies=authenticated)
    app.include_router(embeddings_router, dependencies=authenticated)
    app.include_router(anthropic_router, dependencies=authenticated)
    app.include_router(aisdk_router, dependencies=authenticated)
    app.include_router(files_router, dependencies=authenticated)
    app.include_router(batches_router, dependencies=authenticated)
    app.include_router(dashboard_router, dependencies=authenticated)
    if settings.logs_api_enabled:  # off unless asked for (404); scoped by its own access
        app.include_router(logs_router)  # rule: the admin key, a tenant's own rows, or 403
    if settings.admin_key is not None:
        app.include_router(admin_keys_router)  # guarded by admin_key, not by a client key
    install_error_handlers(app)
    install_openapi(app)
    _install_cors(app, settings)
    return app


def _install_cors(app: FastAPI, settings: Settings) -> None:
    """Added last, so outermost: it answers a preflight before any route or auth runs (a
    preflight carries no credentials), and it adds its headers to every error our own
    middleware and auth return, which a browser would otherwise hide from the page."""
    if not settings.cors_allow_origins:
        return
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.cors_allow_origins,
        allow_methods=settings.cors_allow_methods,
        allow_headers=settings.cors_allow_headers,
        allow_credentials=settings.cors_allow_credentials,
        # X-Request-ID is how a browser client quotes a request in a bug report.
        expose_headers=["x-request-id", "retry-after"],
    )


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
