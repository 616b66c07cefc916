"""The typed application state: every shared client, built once in the lifespan."""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field, replace

import aiohttp
import redis.asyncio as aioredis

from api_server.access_log import AccessLog
from api_server.admission.control import AdmissionControl
from api_server.admission.engine_load import build_admission_control
from api_server.admission.metrics import AdmissionMetrics
from api_server.archive.writer import ArchiveWriter
from api_server.auth.authenticator import Authenticator, build_authenticator
from api_server.auth.repository import KeyStore
from api_server.batchstore.storage import BatchStorage
from api_server.cache import ExactCache
from api_server.cache.semantic import SemanticCache
from api_server.chat.conversation import Conversation
from api_server.config import Settings
from api_server.embeddings.backend import Embedder, build_embedder
from api_server.engines.breaker import BreakerPolicy
from api_server.engines.gauges import engine_gauge_sampler
from api_server.engines.pool import EnginePool, RoutingObserver
from api_server.engines.routing import RoutingSettings
from api_server.engines.shared_routes import SharedRoutes
from api_server.errors import UnsupportedFeatureError
from api_server.generation.request import ModelRuntime
from api_server.infra.connections import BackingServices
from api_server.logs.record import DiscardingSink, RequestLogSink
from api_server.metrics import GatewayMetrics, shared_metrics_dir
from api_server.prompts.base import FormattedPrompt
from api_server.ratelimit.limiter import RateLimiter, RateLimitMetrics
from api_server.ratelimit.window import SlidingWindow
from api_server.registry import (
    CATCH_ALL_MODEL,
    LOCAL_ENGINE_KINDS,
    ModelRegistry,
    ModelSpec,
    prompt_formatter,
)
from api_server.response_store.pg_store import PostgresResponseStore
from api_server.response_store.record import ResponseStore
from api_server.upstreams.model_catalog import ModelCatalog

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class AppState:
    settings: Settings
    registry: ModelRegistry
    runtimes: dict[str, ModelRuntime]
    http: aiohttp.ClientSession
    metrics: GatewayMetrics
    services: BackingServices
    request_log: RequestLogSink
    auth: Authenticator
    started_at: float
    archive: ArchiveWriter | None = None  # set when archive_enabled and a store is configured
    rate_limiter: RateLimiter | None = None  # rpm/tpm need Redis; max_concurrency does not
    admission: AdmissionControl | None = None  # the local models' queues, unless turned off
    exact_cache: ExactCache | None = None  # set when cache_enabled and Redis is configured
    embedder: Embedder | None = None  # set when embeddings_model is
    semantic_cache: SemanticCache | None = None  # set with Qdrant, an embedder, cache_enabled
    batch_storage: BatchStorage | None = None  # the Files and Batch APIs': PostgreSQL + store
    access_log: AccessLog = field(default_factory=AccessLog)
    # Hosted upstreams' model lists, to spell names as they do (proxy mode's catch-all).
    model_catalog: ModelCatalog = field(default_factory=ModelCatalog)
    response_store: ResponseStore | None = None  # the Responses API's; needs PostgreSQL

    def runtime_for(self, requested_model: str) -> ModelRuntime:
        """Resolve a client's model name (aliases, any case) to its runtime, or 404."""
        spec = self.registry.resolve(requested_model)
        runtime = self.runtimes.get(spec.name)
        if runtime is None:  # a name the catch-all entry took: its runtime, under that name
            runtime = replace(self.runtimes[CATCH_ALL_MODEL], spec=spec)
        return runtime


def build_engine_http_client(settings: Settings) -> aiohttp.ClientSession:
    """One pooled client for every engine, with explicit limits (aiohttp's default of 100
    connections would cap concurrency silently)."""
    connector = aiohttp.TCPConnector(
        limit=settings.engine_max_connections,
        limit_per_host=0,
        keepalive_timeout=settings.engine_keepalive_s,
        ttl_dns_cache=300,
    )
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=settings.engine_connect_timeout_s)
    return aiohttp.ClientSession(
        connector=connector, timeout=timeout, trust_env=False, auto_decompress=False
    )


def build_runtime(
    spec: ModelSpec,
    http: aiohttp.ClientSession,
    routing: RoutingSettings | None = None,
    observer: RoutingObserver | None = None,
) -> ModelRuntime:
    pool = EnginePool(spec, http, routing, observer)
    if spec.engine.is_upstream:
        key_env = spec.engine.auth.api_key_env
        our_key = os.environ.get(key_env) if key_env else None
        if key_env and not our_key:
            logger.warning(
                "model %s: %s is not set; its upstream gets no key of ours", spec.name, key_env
            )
        return ModelRuntime(
            spec=spec,
            format_prompt=_no_prompt,
            pool=pool,
            upstream_key=our_key,
        )
    formatter, bos_token = prompt_formatter(spec)
    return ModelRuntime(spec=spec, format_prompt=formatter, pool=pool, bos_token=bos_token)


def share_routes(pool: EnginePool, redis: aioredis.Redis, settings: Settings) -> None:
    """Route `pool`'s requests with what the other gateway processes learnt too."""
    if pool.replicas[0].kind in LOCAL_ENGINE_KINDS and len(pool.replicas) > 1:
        pool.shared = SharedRoutes(
            redis,
            pool.model,
            len(pool.replicas),
            timeout_s=settings.redis_timeout_s,
            ttl_s=settings.routing_shared_ttl_s,
            open_s=settings.breaker_open_s,
        )


def routing_settings(settings: Settings) -> RoutingSettings:
    return RoutingSettings(
        policy=settings.routing_policy,
        block_bytes=settings.routing_block_bytes,
        index_entries=settings.routing_index_entries,
        balance_slack=settings.routing_balance_slack,
        breaker=BreakerPolicy(
            failures_to_open=settings.breaker_failures_to_open,
            open_s=settings.breaker_open_s,
            successes_to_close=settings.breaker_successes_to_close,
        ),
    )


def build_app_state(
    settings: Settings,
    registry: ModelRegistry,
    http: aiohttp.ClientSession,
    services: BackingServices,
    request_log: RequestLogSink | None = None,
    key_store: KeyStore | None = None,
    response_store: ResponseStore | None = None,
) -> AppState:
    metrics = GatewayMetrics(shared_metrics_dir())
    routing = routing_settings(settings)
    runtimes = {spec.name: build_runtime(spec, http, routing, metrics) for spec in registry.models}
    shared = settings.routing_shared
    if (settings.workers > 1 if shared is None else shared) and services.redis is not None:
        for runtime in runtimes.values():
            share_routes(runtime.pool, services.redis, settings)
    metrics.samplers.add(
        engine_gauge_sampler(
            metrics.engine_in_flight,
            metrics.engine_queue_depth,
            metrics.engine_breaker_state,
            {name: runtime.pool for name, runtime in runtimes.items()},
            removable=metrics.shared_dir is None,
        )
    )
    archive = None
    if settings.archive_enabled and services.object_store is not None:
        archive = ArchiveWriter(
            services.object_store, metrics.registry, queue_size=settings.archive_queue_size
        )
    exact_cache = None
    if settings.cache_enabled and services.redis is not None:
        exact_cache = ExactCache(
            services.redis,
            metrics.cache,
            timeout_s=settings.redis_timeout_s,
            default_ttl_s=settings.cache_ttl_s,
            replay_max_ms=(
                settings.cache_replay_max_ms if settings.cache_replay_timing == "original" else None
            ),
            max_pending_stores=settings.cache_max_pending_stores,
        )
    embedder = build_embedder(
        settings.embeddings_model,
        settings.embeddings_url,
        http,
        max_pending=settings.embeddings_max_pending,
    )
    semantic_cache = _semantic_cache(settings, services, metrics, embedder)
    admission_metrics = AdmissionMetrics(metrics.registry)
    admission = build_admission_control(
        settings,
        ((runtime.spec, runtime.pool) for runtime in runtimes.values()),
        admission_metrics,
    )
    if admission is not None:
        metrics.samplers.add(admission_metrics.depth_sampler(admission.queues))
    rate_limiter = RateLimiter(
        SlidingWindow(services.ratelimit_redis) if services.ratelimit_redis is not None else None,
        RateLimitMetrics(metrics.registry),
        timeout_s=settings.ratelimit_timeout_s,
        default_rpm=settings.default_rpm,
        default_tpm=settings.default_tpm,
    )
    return AppState(
        settings=settings,
        registry=registry,
        runtimes=runtimes,
        http=http,
        metrics=metrics,
        services=services,
        request_log=request_log or DiscardingSink(),
        auth=build_authenticator(settings, services.postgres, key_store, metrics.auth),
        started_at=time.time(),
        rate_limiter=rate_limiter,
        admission=admission,
        archive=archive,
        exact_cache=exact_cache,
        embedder=embedder,
        semantic_cache=semantic_cache,
        batch_storage=(
            BatchStorage(services.postgres, services.object_store)
            if services.postgres is not None and services.object_store is not None
            else None
        ),
        access_log=AccessLog(
            enabled=settings.access_log,
            slow_request_warning_s=settings.slow_request_warning_s,
        ),
        response_store=response_store
        or (PostgresResponseStore(services.postgres) if services.postgres is not None else None),
    )


def _semantic_cache(
    settings: Settings,
    services: BackingServices,
    metrics: GatewayMetrics,
    embedder: Embedder | None,
) -> SemanticCache | None:
    if not settings.cache_enabled or services.qdrant is None or embedder is None:
        return None
    return SemanticCache(
        services.qdrant,
        embedder,
        metrics.cache,
        threshold=settings.semantic_cache_threshold,
        timeout_s=settings.semantic_cache_timeout_s,
        default_ttl_s=settings.cache_ttl_s,
        replay_max_ms=(
            settings.cache_replay_max_ms if settings.cache_replay_timing == "original" else None
        ),
        max_pending_stores=settings.cache_max_pending_stores,
    )


def _no_prompt(conversation: Conversation) -> FormattedPrompt:
    raise UnsupportedFeatureError("A hosted upstream model takes messages, not a raw prompt")
