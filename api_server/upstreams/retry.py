"""Opening a request to a hosted upstream, retried while nothing reached the client yet.

Retried: 429 (after its Retry-After, when that is within the cap), 502/503/504/529, and
connection failures; with exponential backoff and full jitter between attempts. Never
retried: any other status (a 400 stays a 400), or anything once the response is streaming.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import aiohttp

from api_server.registry import RetrySpec

logger = logging.getLogger(__name__)

# 529: Anthropic's "overloaded, retry later".
RETRIABLE_STATUSES = frozenset({429, 502, 503, 504, 529})


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date); None if absent
    or unreadable."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def retry_delay(
    attempt: int,
    policy: RetrySpec,
    retry_after_s: float | None,
    jitter: Callable[[], float] = random.random,
) -> float | None:
    """How long to wait before attempt `attempt + 1` (attempts count from 0), or None when
    the upstream asks for a longer wait than the cap: then its answer goes to the client."""
    if retry_after_s is not None:
        return retry_after_s if retry_after_s <= policy.retry_after_cap_s else None
    return jitter() * min(policy.max_delay_s, policy.base_delay_s * 2.0**attempt)


async def send_with_retry(
    send: Callable[[], Awaitable[aiohttp.ClientResponse]],
    policy: RetrySpec,
    label: str,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    on_retry: Callable[[str], None] | None = None,
) -> aiohttp.ClientResponse:
    """The first response that is not worth retrying (or the last one); a connection error
    of the last attempt propagates. `on_retry` is told why each retry happens (the status,
    or the connection error's type)."""
    last = policy.max_attempts - 1
    for attempt in range(policy.max_attempts):
        try:
            response = await send()
        except (aiohttp.ClientConnectionError, TimeoutError) as exc:
            if attempt == last:
                raise
            delay = retry_delay(attempt, policy, None)
            logger.info(
                "upstream %s: %s; retry %d in %.2fs",
                label,
                type(exc).__name__,
                attempt + 1,
                delay or 0.0,
            )
            if on_retry is not None:
                on_retry(type(exc).__name__)
            await sleep(delay or 0.0)
            continue
        if response.status not in RETRIABLE_STATUSES or attempt == last:
            return response
        delay = retry_delay(attempt, policy, parse_retry_after(response.headers.get("Retry-After")))
        if delay is None:
            return response
        try:
            await response.read()  # the small error body: the connection goes back to the pool
        finally:
            response.release()
        if on_retry is not None:
            on_retry(str(response.status))
        logger.info(
            "upstream %s answered %d; retry %d in %.2fs", label, response.status, attempt + 1, delay
        )
        await sleep(delay)
    raise AssertionError("unreachable: the last attempt returns or raises")
