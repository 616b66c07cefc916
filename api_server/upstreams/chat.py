"""The shared chat path for a hosted upstream: the conversation goes out in the upstream's
own protocol, its stream comes back as chat events, whatever the client's front door."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import TYPE_CHECKING, Any

import aiohttp
import orjson

from api_server.chat.events import ChatEvent
from api_server.engines.failures import transport_error
from api_server.errors import (
    EngineError,
    EngineResponseError,
)
from api_server.sse import read_sse_events
from api_server.upstreams.credentials import upstream_headers
from api_server.upstreams.endpoints import UPSTREAM_DIALECTS
from api_server.upstreams.errors import upstream_error
from api_server.upstreams.transport import open_upstream

if TYPE_CHECKING:
    from api_server.generation.request import ChatRequest, GenerationObserver


async def generate_upstream_chat(
    request: ChatRequest, observer: GenerationObserver
) -> AsyncGenerator[ChatEvent, None]:
    runtime = request.model
    spec = runtime.spec
    dialect = UPSTREAM_DIALECTS[spec.engine.kind]
    lease = runtime.pool.lease(observer)
    replica = lease.replica
    body = orjson.dumps(dialect.build_body(request, spec.engine))
    headers = upstream_headers(spec.engine, request.client_headers, runtime.upstream_key)
    reader = dialect.new_reader()
    first_token_seen = False
    try:
        response = await open_upstream(
            replica,
            spec,
            f"{replica.url}{dialect.chat_path}",
            body,
            headers,
            on_retry=lambda reason: observer.upstream_retried(replica, reason),
        )
        async with response:
            if response.status != 200:
                raise upstream_error(
                    replica.label,
                    response.status,
                    await response.read(),
                    response.headers.get("Retry-After"),
                )
            lease.answered()
            try:
                async for sse in read_sse_events(response.content):
                    for event in reader.feed(sse.event, _payload(sse.data, replica.label)):
                        if not first_token_seen:
                            first_token_seen = True
                            observer.first_token()
                        yield event
            except (TimeoutError, aiohttp.ClientError) as exc:
                who = f"Upstream {replica.label}"
                raise transport_error(exc, who, spec.timeout_s, answering=True) from exc
            if not reader.ended:
                # A clean end without a finish is a cut-off answer, not a complete "stop".
                raise EngineResponseError(
                    f"Upstream {replica.label} ended its stream before finishing"
                )
    except EngineError as exc:
        lease.failed(exc)
        raise
    finally:
        lease.release()
    finished = reader.finished()
    observer.completed(finished.usage)
    yield finished


def _payload(data: bytes, label: str) -> dict[str, Any]:
    if data == b"[DONE]":
        return {}
    try:
        payload = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise EngineResponseError(f"Upstream {label} sent malformed JSON") from exc
    if not isinstance(payload, dict):
        raise EngineResponseError(f"Upstream {label} sent a non-object event")
    if "error" in payload and payload.get("type") != "error":
        # OpenAI-style mid-stream error objects (Anthropic's are `type: error` events).
        raise EngineResponseError(f"Upstream {label} failed mid-stream: {payload['error']}")
    return payload
