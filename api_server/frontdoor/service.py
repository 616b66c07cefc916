"""What every front door's service shares: who is calling, and one tracked request each
(counted even when refused; a stream finishes its own tracking)."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Any, ParamSpec, TypeVar

import orjson

from api_server.admission.control import release_when_finished
from api_server.admission.priority import rank, request_priority
from api_server.auth.principal import ANONYMOUS, Principal, authorize_model
from api_server.cache import cache_policy
from api_server.cache.layered import CachedGeneration
from api_server.cache.policy import semantic_cache_policy, semantic_cache_requested
from api_server.chat.deadline import RequestDeadline
from api_server.chat.streaming import (
    Event,
    JsonResult,
    RelayResult,
    StreamResult,
    is_finished,
    start_stream,
)
from api_server.errors import InferstackError
from api_server.frontdoor.caching import CacheObserver, cached_chat
from api_server.generation.request import ChatRequest, ModelRuntime
from api_server.ratelimit import admit_request, with_headers
from api_server.registry import UpstreamKind
from api_server.sessions import SESSION_HEADER, session_id_for
from api_server.state import AppState
from api_server.tracking import RequestTracker
from api_server.upstreams.credentials import client_credential
from api_server.upstreams.relay import relay

logger = logging.getLogger(__name__)

FrontDoorResult = dict[str, Any] | JsonResult | StreamResult | RelayResult
_P = ParamSpec("_P")
_T = TypeVar("_T")


class FrontDoorService:
    api_flavour = "openai"

    def __init__(
        self,
        state: AppState,
        request_id: str,
        client_addr: str | None = None,
        principal: Principal = ANONYMOUS,
        cache_control: str | None = None,
        semantic_header: str | None = None,
        session_header: str | None = None,
        agent_id: str | None = None,
        client_headers: dict[str, str] | None = None,
        client_request_id: str | None = None,
        debug_translation: bool = False,
        priority_header: str | None = None,
    ) -> None:
        self.state = state
        self.request_id = request_id  # ours, always
        self.client_request_id = client_request_id  # the client's own, logged beside it
        self.client_addr = client_addr
        self.principal = principal
        # The request's Cache-Control (no-cache, no-store) and x-semantic-cache (on, off).
        self.cache_control = cache_control
        self.semantic_header = semantic_header
        self.session_header = session_header  # X-Session-ID, if the client names its session
        self.agent_id = agent_id  # X-Agent-ID (or X-Trace-ID), already sanitized
        self.limit_headers: dict[str, str] = {}  # x-ratelimit-*, once admitted
        # Credentials and protocol headers a hosted upstream may be sent (see upstreams).
        self.client_headers = client_headers or {}
        # The whole request's (request_timeout_s, then the model's), from when it is tracked;
        # streams take it on.
        self.deadline: RequestDeadline | None = None
        # The admin asked for the translation debug mode and the settings allow it.
        self.debug_translation = debug_translation
        self.priority_header = priority_header  # X-Priority, checked at admission
        # The priority an engine that schedules by it is sent (vLLM's, lower first), once
        # admitted; None for every other engine.
        self.engine_priority: int | None = None

    @staticmethod
    async def _translated(
        has_tools: bool, translate: Callable[_P, _T], *args: _P.args, **kwargs: _P.kwargs
    ) -> _T:
        """A request's translation; off the event loop when the request defines tools, as
        it then compiles their schemas (bounded, yet tens of milliseconds for the largest),
        which must not stall other requests."""
        if not has_tools:
            return translate(*args, **kwargs)
        return await asyncio.to_thread(translate, *args, **kwargs)

    async def _tracked(
        self,
        endpoint: str,
        handler: Callable[[bytes, RequestTracker], Awaitable[FrontDoorResult]],
        body: bytes,
    ) -> FrontDoorResult:
        tracker = RequestTracker(
            self.state.metrics,
            self.state.request_log,
            self.state.archive,
            request_id=self.request_id,
            endpoint=endpoint,
            api_flavour=self.api_flavour,
            client_addr=self.client_addr,
            client_request_id=self.client_request_id,
        )
        privacy = self.state.settings.privacy_mode
        session_id = session_id_for(
            self.session_header, body, self.principal.tenant, derive=not privacy
        )
        tracker.identify(
            session_id, self.principal.tenant, self.principal.key_id, agent_id=self.agent_id
        )
        tracker.capture_request(body)
        tracker.on_finish.append(self.state.access_log.finished)
        self.deadline = RequestDeadline.from_now(self.state.settings.request_timeout_s)
        try:
            async with self.deadline.enforced():  # the model may set its own timeout later
                result = await handler(body, tracker)
        except BaseException as exc:
            tracker.finish(exc)
            if session_id is not None and isinstance(exc, InferstackError):
                exc.headers[SESSION_HEADER] = session_id  # a failed turn is still the session's
            raise
        if not isinstance(result, StreamResult | RelayResult):
            tracker.finish(None, response=result.body if isinstance(result, JsonResult) else result)
        headers = self.limit_headers
        if session_id is not None:
            headers = {**headers, SESSION_HEADER: session_id}
        return with_headers(result, headers)

    async def _admit(
        self,
        runtime: ModelRuntime,
        tracker: RequestTracker,
        *,
        stream: bool = False,
        end_user: str | None = None,
    ) -> None:
        """The caller may use this model and is within its rate limits (403 / 429 if not),
        then has its slot, after waiting in the model's admission queue while the model's
        replicas are saturated (429 queue_full, 503 queue_timeout if it cannot); from here
        on the request is counted under the model."""
        authorize_model(self.principal, runtime.spec)
        priority = request_priority(  # 400 for a malformed X-Priority, before any charge
            self.priority_header,
            self.principal.priority,
            may_raise=self.principal.admin,
        )
        if self.deadline is not None:  # the model's own whole-request timeout, if it has one
            self.deadline.change_timeout(
                runtime.spec.whole_request_timeout(self.state.settings.request_timeout_s)
            )
        # Metrics, the concurrency valve and the queue count under this name; the log row
        # keeps the model's own (they differ only for names a catch-all entry takes beyond
        # its cap).
        accounted = self.state.registry.accounting_name(runtime.spec)
        admission = self.state.admission
        queued = admission is not None and admission.queues_model(accounted)
        self.limit_headers = await admit_request(
            self.state.rate_limiter,
            self.principal,
            runtime.spec,
            tracker,
            accounted,
            valve=not queued,
        )
        # privacy_mode keeps nothing the request body says in the row, the caller's user included.
        if self.state.settings.privacy_mode:
            end_user = None
        tracker.model_named(accounted, runtime.spec.name, stream=stream, end_user=end_user)
        if admission is not None and queued:
            deadline_at = self.deadline.at if self.deadline is not None else None
            slot = await admission.admit(accounted, self.principal.tenant, priority, deadline_at)
            if slot is not None:  # given back when the request ends, its last byte sent
                tracker.on_finish.append(release_when_finished(slot))
        if runtime.spec.engine.priority_scheduling:
            self.engine_priority = rank(priority)

    async def _cached_generation(
        self,
        chat: ChatRequest,
        tracker: CacheObserver,
        *,
        paced: bool,
        cache_requested: bool | None = None,
        semantic_requested: bool | None = None,
    ) -> CachedGeneration:
        """The chat's events: from the exact or semantic cache when they may answer (per the
        request's body opt-ins and headers), else the engine's, recorded for the caches."""
        return await cached_chat(
            self.state.exact_cache,
            chat,
            tracker,
            cache_policy(chat.sampling, cache_requested, self.cache_control),
            paced=paced,
            metric_name=self.state.registry.accounting_name(chat.model.spec),
            tenant=self._cache_tenant(chat.model),
            semantic=self.state.semantic_cache,
            semantic_policy=semantic_cache_policy(
                chat.sampling,
                model_opt_in=chat.model.spec.semantic_cache,
                requested=semantic_cache_requested(semantic_requested, self.semantic_header),
                cache_requested=cache_requested,
                cache_control=self.cache_control,
            ),
        )

    def _default_temperature(self, runtime: ModelRuntime) -> float | None:
        """For a request that names none: ours for local engines; a hosted upstream keeps
        its own default (some models refuse a temperature, or one beside top_p)."""
        return None if runtime.spec.engine.is_upstream else self.state.settings.default_temperature

    def _cache_tenant(self, runtime: ModelRuntime) -> str | None:
        """Whose answers a cached one may be: the caller's key; for an upstream that is sent
        the client's own credential, that credential too (a caller whose key the upstream
        would refuse must not read answers bought with another's)."""
        tenant = self.principal.tenant
        engine = runtime.spec.engine
        if engine.is_upstream and engine.auth.style != "env":
            credential = client_credential(self.client_headers)
            if credential is not None:
                digest = hashlib.sha256(credential.encode()).hexdigest()[:16]
                tenant = f"{tenant or ''}:{digest}"
        return tenant

    async def _relayed(
        self,
        body: bytes,
        tracker: RequestTracker,
        *,
        kind: UpstreamKind,
        path: str,
        render_error: Callable[[InferstackError], bytes],
        resolve: Callable[[str], Awaitable[ModelRuntime]] | None = None,
    ) -> RelayResult | None:
        """A request for a hosted upstream of the client's own protocol, relayed as is
        (the upstream judges fields this gateway would refuse); None for any other model,
        which then takes the translated path. `resolve` maps the body's model name (it may
        ask an upstream how that spells it, hence awaited)."""
        if kind not in self.state.registry.upstream_kinds:
            return None  # no such upstream: not even a second parse of the body
        try:
            raw = orjson.loads(body)
        except orjson.JSONDecodeError:
            return None  # the front door's own parse reports it
        model = raw.get("model") if isinstance(raw, dict) else None
        if not isinstance(model, str):
            return None
        runtime = await resolve(model) if resolve is not None else self.state.runtime_for(model)
        if runtime.spec.engine.kind != kind:
            return None
        metadata = raw.get("metadata")
        user = raw.get("user") or (metadata.get("user_id") if isinstance(metadata, dict) else None)
        await self._admit(
            runtime,
            tracker,
            stream=raw.get("stream") is True,
            end_user=user if isinstance(user, str) else None,
        )
        return await relay(runtime, path, raw, self.client_headers, tracker, render_error)

    async def _stream(
        self,
        tracker: RequestTracker,
        events: AsyncGenerator[Event, None],
        render: Callable[[Event], bytes],
        render_error: Callable[[InferstackError], bytes],
        opening: bytes,
        headers: dict[str, str] | None = None,
        completes: Callable[[Event], bool] = is_finished,
    ) -> StreamResult:
        """`events` as the response stream (start_stream), ended and timed as this request."""
        return await start_stream(
            events,
            render=render,
            render_error=render_error,
            opening=opening,
            end=tracker,
            request_id=self.request_id,
            headers=headers,
            deadline=self.deadline,
            completes=completes,
        )


def log_unknown_fields(fields: list[str], endpoint: str) -> None:
    """Fields a client sent that change nothing here: accepted, and noted once per request."""
    if fields:
        logger.info("%s: ignoring unsupported fields %s", endpoint, ", ".join(fields))
