"""What the front doors call: admit a request once its model is resolved and authorized,
and put the rate-limit headers on its response."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from api_server.auth.principal import Principal
from api_server.chat.streaming import JsonResult, RelayResult, StreamResult
from api_server.logs.record import RequestLogRecord
from api_server.ratelimit.limiter import LimitedModel, RateLimiter


class FinishHooks(Protocol):
    """`api_server.tracking.RequestTracker`: calls each hook once, when the request ends
    (a stream's last byte included), with the usage it logged."""

    on_finish: list[Callable[[RequestLogRecord], None]]


async def admit_request(
    limiter: RateLimiter | None,
    principal: Principal,
    spec: LimitedModel,
    tracker: FinishHooks,
    model_key: str | None = None,
    *,
    valve: bool = True,
) -> dict[str, str]:
    """429 (RateLimitExceededError, ModelOverloadedError) or the headers for the response.
    `valve` False: the model's max_concurrency is its admission queue's to hold."""
    if limiter is None:
        return {}
    admission = await limiter.admit(principal, spec, model_key, valve=valve)
    tracker.on_finish.append(admission.finish)
    return admission.headers


Result = dict[str, Any] | JsonResult | StreamResult | RelayResult


def with_headers(result: Result, headers: dict[str, str]) -> Result:
    if not headers:
        return result
    if isinstance(result, dict):
        return JsonResult(result, dict(headers))
    result.headers.update(headers)
    return result
