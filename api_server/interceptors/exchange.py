"""`Exchange`: one request and its response as the interceptor middleware saw them.

Frozen: the middleware hands a snapshot to a worker thread, so nothing an interceptor
holds changes under it. At the start event only the request half is filled in.
"""

from __future__ import annotations

from dataclasses import dataclass

Headers = tuple[tuple[str, str], ...]

# Credentials (API keys, JWTs, an admin key, cookies): dropped by the middleware as it
# captures an exchange, so no interceptor ever holds one.
SECRET_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "x-api-key",
        "api-key",
        "x-goog-api-key",
        "cookie",
        "set-cookie",
    }
)


def without_secret_headers(headers: Headers) -> Headers:
    return tuple((name, value) for name, value in headers if name.lower() not in SECRET_HEADERS)


@dataclass(frozen=True)
class BodyChunk:
    offset_ms: float  # since the request arrived, when the app sent this chunk
    data: bytes


@dataclass(frozen=True)
class Exchange:
    method: str
    path: str
    query: str
    request_headers: Headers
    request_body: bytes
    started_at: float  # wall time (time.time()) the request arrived
    request_truncated: bool = False
    # Filled in at the end; `status` is 499 after a client disconnect, 500 after an app error.
    status: int | None = None
    response_headers: Headers = ()
    chunks: tuple[BodyChunk, ...] = ()
    response_truncated: bool = False
    latency_ms: float | None = None
    error: str | None = None

    @property
    def finished(self) -> bool:
        return self.status is not None

    @property
    def response_body(self) -> bytes:
        return b"".join(chunk.data for chunk in self.chunks)

    def request_header(self, name: str) -> str | None:
        return _find(self.request_headers, name)

    def response_header(self, name: str) -> str | None:
        return _find(self.response_headers, name)


def _find(headers: Headers, name: str) -> str | None:
    name = name.lower()
    return next((value for key, value in headers if key.lower() == name), None)
