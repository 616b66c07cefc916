"""Opening one request to a hosted upstream: retried per the model's policy, with its
connection failures and timeouts in the gateway's error tree."""

from __future__ import annotations

from collections.abc import Callable

import aiohttp

from api_server.engines.client import EngineReplica
from api_server.engines.failures import transport_error
from api_server.registry import ModelSpec
from api_server.upstreams.retry import send_with_retry


def read_timeout(replica: EngineReplica, spec: ModelSpec) -> aiohttp.ClientTimeout:
    """`timeout_s` bounds each wait for the upstream (its first byte, then every next one)."""
    return aiohttp.ClientTimeout(
        total=None, sock_connect=replica.http.timeout.sock_connect, sock_read=spec.timeout_s
    )


async def open_upstream(
    replica: EngineReplica,
    spec: ModelSpec,
    url: str,
    body: bytes | None,
    headers: dict[str, str],
    on_retry: Callable[[str], None] | None = None,
    method: str = "POST",
) -> aiohttp.ClientResponse:
    """The upstream's response, status not yet looked at (the caller decides what an error
    status means for its client)."""
    timeout = read_timeout(replica, spec)
    try:
        return await send_with_retry(
            lambda: replica.http.request(method, url, data=body, headers=headers, timeout=timeout),
            spec.engine.retry,
            replica.label,
            on_retry=on_retry,
        )
    except (TimeoutError, aiohttp.ClientError) as exc:
        who = f"Upstream {replica.label}"
        raise transport_error(exc, who, spec.timeout_s, answering=False) from exc
