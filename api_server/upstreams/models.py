"""The model list of a proxy-mode gateway: its upstream's own, fetched for the caller with
the credentials its auth style says (every model name goes there, so only it can tell)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from api_server.generation.request import ModelRuntime
from api_server.upstreams.credentials import upstream_headers
from api_server.upstreams.endpoints import upstream_url
from api_server.upstreams.transport import open_upstream


@dataclass(frozen=True, slots=True)
class UpstreamAnswer:
    status: int
    body: bytes
    media_type: str


async def upstream_model_list(
    runtime: ModelRuntime, client_headers: Mapping[str, str]
) -> UpstreamAnswer:
    spec = runtime.spec
    replica = runtime.pool.pick()
    headers = upstream_headers(spec.engine, client_headers, runtime.upstream_key)
    url = upstream_url(replica.url, spec.engine.kind, "/v1/models")
    response = await open_upstream(replica, spec, url, None, headers, method="GET")
    async with response:
        return UpstreamAnswer(
            response.status,
            await response.read(),
            response.headers.get("Content-Type", "application/json"),
        )
