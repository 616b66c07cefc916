"""The gateway's lifespan: open every shared client and backing service, build the app
state, keep the engines' health fresh, and close it all in the right order."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager

from fastapi import FastAPI

from api_server.auth.repository import KeyStore
from api_server.batches.background import gateway_batch_runner
from api_server.config import Settings
from api_server.embeddings.backend import preload_embedder
from api_server.infra.connections import open_backing_services
from api_server.interceptors import InterceptorChain
from api_server.logs.record import RequestLogSink
from api_server.logs.spool_claim import claim_spool_directory
from api_server.logs.writer import build_request_log_writer
from api_server.metrics import SAMPLE_INTERVAL_S
from api_server.registry import ModelRegistry
from api_server.response_store.record import ResponseStore
from api_server.state import AppState, build_app_state, build_engine_http_client
from api_server.system.health import check_engines

logger = logging.getLogger(__name__)


def gateway_lifespan(
    settings: Settings,
    registry: ModelRegistry,
    interceptors: InterceptorChain,
    request_log: RequestLogSink | None,
    key_store: KeyStore | None,
    response_store: ResponseStore | None = None,
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """`request_log`, `key_store` and `response_store` (tests) replace the PostgreSQL-backed
    ones."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            # First in, last out: exchanges still finishing are written before it closes.
            if settings.privacy_mode:
                turned_off = ", ".join(settings.privacy_turned_off) or "nothing (already off)"
                logger.info("privacy_mode: no request content is kept; turned off: %s", turned_off)
            interceptors.start()
            stack.push_async_callback(asyncio.to_thread, interceptors.close, 5.0)
            http = await stack.enter_async_context(build_engine_http_client(settings))
            services = await open_backing_services(settings, stack)
            writer = None
            if request_log is None and services.postgres is not None:
                # Released last of all (after the writer closed its segments): the folder
                # is this process's alone until then, whatever other workers share the root.
                claim = claim_spool_directory(settings.request_log_spool_dir)
                stack.callback(claim.release)
                writer = build_request_log_writer(services.postgres, settings, claim.directory)
            state = build_app_state(
                settings,
                registry,
                http,
                services,
                request_log or writer,
                key_store,
                response_store,
            )
            app.state.inferstack = state
            stack.push_async_callback(state.model_catalog.close)  # before the client closes
            if state.metrics.shared_dir is not None:  # one of several workers
                stack.callback(state.metrics.worker_exits)  # after sampling stopped
                sampling = asyncio.create_task(_sample_for_scrapes(state))
                stack.callback(sampling.cancel)
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
            for runtime in state.runtimes.values():  # routes learnt, before Redis closes
                if runtime.pool.shared is not None:
                    stack.push_async_callback(runtime.pool.shared.drain)
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
            # Last in, first out: its lines stop (leases given back) before anything they use.
            if (batch_runner := gateway_batch_runner(state)) is not None:
                batch_runner.start()
                stack.push_async_callback(batch_runner.close)
            logger.info(
                "gateway ready: %d models, auth %s", len(registry.models), settings.auth_mode
            )
            yield

    return lifespan


async def _sample_for_scrapes(state: AppState) -> None:
    """A scrape reaches one worker: this one's sampled gauges must be in the shared files."""
    while True:
        state.metrics.samplers.run()
        await asyncio.sleep(SAMPLE_INTERVAL_S)


async def _watch_engines(state: AppState) -> None:
    while True:
        await asyncio.sleep(state.settings.health_interval_s)
        try:
            await check_engines(state)
        except Exception:  # the watcher must outlive any one bad probe
            logger.exception("engine health check failed")
        if state.admission is not None:  # an engine's queue may have drained meanwhile
            state.admission.recheck()
