"""The gate every generation passes after its model is resolved and authorized: the model's
concurrency valve, then the caller's rpm/tpm in Redis. Redis down or slow means the request
is served and the failure counted (`inferstack_ratelimit_errors_total`): the limiter never
fails a request of its own."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from prometheus_client import CollectorRegistry, Counter
from redis.exceptions import RedisError

from api_server.background_writes import BackgroundWrites
from api_server.errors import ModelOverloadedError, RateLimitExceededError
from api_server.ratelimit.concurrency import ModelConcurrency
from api_server.ratelimit.headers import rate_limit_headers
from api_server.ratelimit.window import Decision, SlidingWindow

if TYPE_CHECKING:
    from api_server.auth.principal import Principal
    from api_server.logs.record import RequestLogRecord

logger = logging.getLogger(__name__)

_FAILURES = (RedisError, OSError, TimeoutError)
# Token charges under way at most; past it Redis is far behind and a charge is dropped
# (counted in inferstack_ratelimit_errors_total), not queued without end.
_MAX_PENDING_TOKEN_RECORDS = 1024


class LimitedModel(Protocol):
    """What the gate needs of a model: a registry entry (`ModelSpec`), or the embedding
    model, which has no registry entry."""

    @property
    def name(self) -> str: ...
    @property
    def max_concurrency(self) -> int | None: ...


class RateLimitMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.errors = Counter(
            "inferstack_ratelimit_errors",
            "Rate-limit operations that failed (admit, record_tokens); the request was served",
            ["operation"],
            registry=registry,
        )
        self.rejections = Counter(
            "inferstack_ratelimit_rejections",
            "Requests refused with 429, by the limit hit (requests, tokens, concurrency)",
            ["limit"],
            registry=registry,
        )


@dataclass(slots=True)
class Admission:
    """A request let in: its response headers, and what to give back when it ends."""

    limiter: RateLimiter
    model: str
    caller: str | None  # set when its tokens count against a tpm
    headers: dict[str, str] = field(default_factory=dict)
    done: bool = False

    def finish(self, record: RequestLogRecord) -> None:
        if self.done:
            return
        self.done = True
        self.limiter.concurrency.release(self.model)
        tokens = (record.prompt_tokens or 0) + (record.completion_tokens or 0)
        if self.caller is not None and tokens:
            self.limiter.record_tokens_later(self.caller, tokens)


class RateLimiter:
    def __init__(
        self,
        window: SlidingWindow | None,
        metrics: RateLimitMetrics,
        *,
        timeout_s: float,
        default_rpm: int | None = None,
        default_tpm: int | None = None,
    ) -> None:
        """`window` None (no Redis): only the concurrency valve applies. `default_rpm` and
        `default_tpm` apply to callers without a key (auth_mode none, or a JWT without
        rpm/tpm claims)."""
        self.window = window
        self.metrics = metrics
        self.timeout_s = timeout_s
        self.default_rpm = default_rpm
        self.default_tpm = default_tpm
        self.concurrency = ModelConcurrency()
        self._token_records = BackgroundWrites(limit=_MAX_PENDING_TOKEN_RECORDS)

    async def admit(
        self,
        principal: Principal,
        spec: LimitedModel,
        model_key: str | None = None,
        *,
        valve: bool = True,
    ) -> Admission:
        """Raise 429 or let the request in; the caller must `finish` the admission.
        `model_key`: the name the model's concurrency is counted under (spec.name).
        `valve` False: counted, never refused, as the model's admission queue holds it to
        max_concurrency instead (the request waits there rather than being refused here)."""
        key = model_key or spec.name
        concurrency_limit = spec.max_concurrency if valve else None
        if not self.concurrency.try_acquire(key, concurrency_limit):
            self.metrics.rejections.labels("concurrency").inc()
            raise ModelOverloadedError(
                f"The model {spec.name!r} is serving its maximum of concurrent requests",
                retry_after_s=1,
            )
        caller, rpm, tpm = self._limits(principal)
        try:
            decision = await self._decide(caller, rpm, tpm)
        except BaseException:
            self.concurrency.release(key)
            raise
        if decision is None:  # unlimited, or Redis failed: still try to charge the tokens
            counted = tpm is not None and self.window is not None
            return Admission(self, key, caller if counted else None)
        headers = rate_limit_headers(decision)
        if not decision.allowed:
            self.concurrency.release(key)
            limit = "requests" if decision.requests.exhausted else "tokens"
            self.metrics.rejections.labels(limit).inc()
            raise RateLimitExceededError(
                f"Rate limit reached for {limit} per minute; retry after the Retry-After delay",
                retry_after_s=decision.retry_after_s,
                headers=headers,
            )
        return Admission(self, key, caller if tpm is not None else None, headers)

    def _limits(self, principal: Principal) -> tuple[str, int | None, int | None]:
        if principal.key_id is not None:
            return f"key:{principal.key_id}", principal.rpm, principal.tpm
        rpm = principal.rpm if principal.rpm is not None else self.default_rpm
        tpm = principal.tpm if principal.tpm is not None else self.default_tpm
        return principal.tenant or f"principal:{principal.name}", rpm, tpm

    async def _decide(self, caller: str, rpm: int | None, tpm: int | None) -> Decision | None:
        """None: nothing to check, or Redis failed (fail open)."""
        if self.window is None or (rpm is None and tpm is None):
            return None
        try:
            async with asyncio.timeout(self.timeout_s):
                return await self.window.admit(caller, rpm, tpm)
        except _FAILURES as exc:
            self._failed("admit", exc)
            return None

    def record_tokens_later(self, caller: str, tokens: int) -> None:
        """Off the response path: the client has its answer already."""
        if not self._token_records.start(self._record_tokens(caller, tokens)):
            # Redis far behind, or a stream closed outside the loop (interpreter shutdown).
            self._failed("record_tokens", None)

    async def _record_tokens(self, caller: str, tokens: int) -> None:
        assert self.window is not None
        try:
            async with asyncio.timeout(self.timeout_s * 4):
                await self.window.record_tokens(caller, tokens)
        except _FAILURES as exc:
            self._failed("record_tokens", exc)

    async def drain(self) -> None:
        await self._token_records.drain()

    def _failed(self, operation: str, exc: BaseException | None) -> None:
        self.metrics.errors.labels(operation).inc()
        logger.warning("rate limiter %s failed (request served): %r", operation, exc)
