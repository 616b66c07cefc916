"""Byte-for-byte pass-through for a client speaking its upstream's own protocol: the body
goes up with only `model` rewritten (and the registry's limits checked and filled in: see
`relay_body`), and the answer (status, JSON or event stream, error bodies included) comes
back as it arrives. Usage and timings are read off the way; a stream that ends without
saying it finished is a failure, told to the client in its own error event."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from typing import Any, Protocol

import aiohttp
import orjson

from api_server.chat.streaming import RelayResult
from api_server.errors import (
    EngineError,
    EngineResponseError,
    InferstackError,
)
from api_server.generation.request import GenerationObserver, ModelRuntime
from api_server.upstreams.credentials import upstream_headers
from api_server.upstreams.endpoints import upstream_url
from api_server.upstreams.relay_body import prepare_relay_body
from api_server.upstreams.transport import open_upstream
from api_server.upstreams.usage import UsageSniffer
from api_server.upstreams.usage_strip import StreamUsageStripper

logger = logging.getLogger(__name__)

# Upstream response headers a client of the same API may rely on. The upstream's request
# id is kept under its own name: X-Request-ID is the gateway's.
_RELAYED_HEADER_PREFIXES = ("x-ratelimit-", "anthropic-ratelimit-", "openai-")
_UPSTREAM_REQUEST_ID = ("request-id", "x-request-id")


class RelayObserver(GenerationObserver, Protocol):
    """What a relayed request reports, and to whom it hands its end (the front door's
    `RequestTracker`): a relayed stream finishes its own tracking."""

    @property
    def request_id(self) -> str: ...
    def finish(self, error: BaseException | None) -> None: ...


async def relay(
    runtime: ModelRuntime,
    client_path: str,
    body: dict[str, Any],
    client_headers: dict[str, str],
    tracker: RelayObserver,
    render_error: Callable[[InferstackError], bytes],
) -> RelayResult:
    """`render_error`: the client protocol's stream error event, for a stream the upstream
    drops halfway (an SSE stream ends with an error event; a JSON body cut short aborts the
    connection, so the client sees an incomplete response, never a short "complete" one)."""
    spec = runtime.spec
    plan = prepare_relay_body(body, spec, client_path)
    lease = runtime.pool.lease(tracker)
    replica = lease.replica
    headers = upstream_headers(spec.engine, client_headers, runtime.upstream_key)
    url = upstream_url(replica.url, spec.engine.kind, client_path)
    try:
        response = await open_upstream(
            replica,
            spec,
            url,
            orjson.dumps(body),
            headers,
            on_retry=lambda reason: tracker.upstream_retried(replica, reason),
        )
    except EngineError as exc:
        lease.release()
        lease.failed(exc)
        raise
    except BaseException:
        lease.release()
        raise
    if response.status < 500 and response.status != 429:  # it answered (a 4xx is the request's)
        lease.answered()
    media_type = response.headers.get("Content-Type", "application/json")
    streaming = media_type.startswith("text/event-stream")

    async def chunks() -> AsyncIterator[bytes]:
        sniffer = UsageSniffer(streaming)
        stripper = StreamUsageStripper() if streaming and plan.strip_stream_usage else None
        error: BaseException | None = None
        first = True
        try:
            async with response:
                try:
                    async for piece in response.content.iter_any():
                        if first:
                            first = False
                            tracker.first_token()
                        sniffer.feed(piece)
                        if stripper is not None:
                            piece = stripper.feed(piece)
                        if piece:
                            yield piece
                    if stripper is not None and (rest := stripper.flush()):
                        yield rest
                    if streaming and response.status < 400 and sniffer.failed is not None:
                        # The client has the upstream's error event: the log says failed.
                        error = EngineResponseError(
                            f"Upstream {replica.label} failed mid-stream: {sniffer.failed}"
                        )
                    elif streaming and response.status < 400 and not sniffer.ended:
                        error = EngineResponseError(
                            f"Upstream {replica.label} ended its stream before finishing"
                        )
                        logger.warning("relay %s: %s", tracker.request_id, error.message)
                        lease.failed(error)
                        yield render_error(error)
                except (aiohttp.ClientError, TimeoutError) as exc:
                    error = EngineResponseError(
                        f"Upstream {replica.label} dropped the response ({type(exc).__name__})"
                    )
                    logger.warning("relay %s: %s", tracker.request_id, error.message)
                    lease.failed(error)
                    if not streaming:
                        raise error from exc
                    yield render_error(error)
        except BaseException as exc:
            error = exc
            raise
        finally:
            lease.release()
            if (usage := sniffer.usage()) is not None:
                tracker.completed(usage)
            if error is None and response.status >= 400:
                error = _relayed_status(response.status)
            tracker.finish(error)

    return RelayResult(response.status, media_type, chunks(), _relayed_headers(response))


def _relayed_headers(response: aiohttp.ClientResponse) -> dict[str, str]:
    headers: dict[str, str] = {}
    for name, value in response.headers.items():
        lowered = name.lower()
        if lowered == "retry-after" or lowered.startswith(_RELAYED_HEADER_PREFIXES):
            headers[name] = value
        elif lowered in _UPSTREAM_REQUEST_ID:
            headers["x-upstream-request-id"] = value
    return headers


def _relayed_status(status: int) -> InferstackError:
    """The upstream's own error answer, for the request log's status and error type."""
    error = InferstackError(f"Upstream answered {status}", code=f"upstream_{status}")
    error.status_code = status
    error.error_type = "upstream_error"
    return error
