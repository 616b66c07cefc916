"""How the locustfile reads a chat answer off Locust's response: its chunks as they arrive,
and a failure recorded in Locust's stats and returned as the request's `Answer`."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import requests
from locust.clients import ResponseContextManager

from load_tests.request_record import Answer


def arrivals(
    response: ResponseContextManager, received: list[int]
) -> Iterator[tuple[float, bytes]]:
    # chunk_size=None: each HTTP chunk (one SSE event from the gateway) as soon as it arrives.
    for chunk in response.iter_content(chunk_size=None):
        received[0] += len(chunk)
        yield time.perf_counter(), chunk


def failed(response: ResponseContextManager, error: str, timed_out: bool = False) -> Answer:
    response.failure(error)  # type: ignore[no-untyped-call]  # Locust's is unannotated
    return Answer(ok=False, timed_out=timed_out, error=error)


def timed_out(response: ResponseContextManager) -> bool:
    """No HTTP answer because the connect or read timeout passed."""
    return not response.status_code and is_timeout(getattr(response, "error", None))


def is_timeout(error: object) -> bool:
    # A read timeout in the middle of a stream reaches us as a ConnectionError around
    # urllib3's ReadTimeoutError.
    if isinstance(error, requests.Timeout):
        return True
    return isinstance(error, requests.ConnectionError) and "timed out" in str(error)


def http_error(response: ResponseContextManager) -> str:
    if not response.status_code:  # Locust's stand-in response: no HTTP answer at all
        return f"no answer: {getattr(response, 'error', None)!r}"
    try:
        detail = json.loads(response.text or "")["error"]["message"]
    except (ValueError, KeyError, TypeError):
        detail = (response.text or "")[:200]
    return f"HTTP {response.status_code}: {detail}"
