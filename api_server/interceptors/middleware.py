"""`InterceptorMiddleware`: show each HTTP exchange to the interceptor chain.

A pure ASGI middleware that keeps copies of what passes through `receive` and `send` and
forwards every message at once: a stream reaches the client exactly as without it. What it
keeps is capped per exchange (beyond, the exchange is marked truncated), so one huge stream
cannot fill memory. Admin routes are never shown to the chain (a key is minted there, its
plaintext in the response), nor are credential headers on any route. The chain gets a
`start` event once the request body is in and an `end` event however the exchange ends: a
client that goes away is recorded as 499, an app error as 500 (and re-raised). An event
stream whose last bytes are its terminator (`data: [DONE]`, `event: message_stop`) was
delivered in full even when the client leaves before the closing empty body message: the
server's disconnect listener cancels the app in that gap, and that is still a 200.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api_server.interceptors.chain import InterceptorChain
from api_server.interceptors.exchange import BodyChunk, Exchange, without_secret_headers

# A trailing "*" matches a prefix; anything else the exact path.
DEFAULT_SKIP_PATHS = ("/health*", "/metrics", "/dashboard*")
# Skipped whatever skip_paths says: API keys are created, listed and revoked here.
ALWAYS_SKIPPED_PREFIXES = ("/v1/admin",)
DEFAULT_MAX_BODY_BYTES = 8 * 1024 * 1024
CLIENT_CLOSED_REQUEST = 499  # nginx's status for a client that left before the response
# The events that end a stream: OpenAI's (and the AI SDK's) sentinel, Anthropic's last event.
STREAM_TERMINATORS = (b"data: [DONE]", b"event: message_stop")
_TAIL_BYTES = 512  # enough to hold the last event, whatever the cap kept


class InterceptorMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        chain: InterceptorChain,
        skip_paths: Sequence[str] = DEFAULT_SKIP_PATHS,
        max_request_bytes: int = DEFAULT_MAX_BODY_BYTES,
        max_response_bytes: int = DEFAULT_MAX_BODY_BYTES,
    ) -> None:
        self.app = app
        self.chain = chain
        self._exact = frozenset(p for p in skip_paths if not p.endswith("*"))
        self._prefixes = (
            *ALWAYS_SKIPPED_PREFIXES,
            *(p[:-1] for p in skip_paths if p.endswith("*")),
        )
        self.max_request_bytes = max_request_bytes
        self.max_response_bytes = max_response_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.chain.active or self._skipped(scope["path"]):
            await self.app(scope, receive, send)
            return
        capture = _Capture.of(scope, self.max_request_bytes, self.max_response_bytes)

        async def receive_and_keep() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                capture.add_request_body(message.get("body", b""))
                if not message.get("more_body", False):
                    self._announce(capture)
            elif message["type"] == "http.disconnect":
                capture.disconnected = True
            return message

        async def send_and_keep(message: Message) -> None:
            if message["type"] == "http.response.start":
                self._announce(capture)  # the app may answer without reading the body
                capture.start_response(message)
            elif message["type"] == "http.response.body":
                capture.add_response_body(message)
            await send(message)

        try:
            await self.app(scope, receive_and_keep, send_and_keep)
        except BaseException as exc:  # cancellation too: the exchange still ends
            capture.fail(exc)
            raise
        finally:
            self._announce(capture)
            self.chain.submit("end", capture.finish())

    def _skipped(self, path: str) -> bool:
        return path in self._exact or path.startswith(self._prefixes)

    def _announce(self, capture: _Capture) -> None:
        if not capture.announced:
            capture.announced = True
            self.chain.submit("start", capture.request())


@dataclass
class _Capture:
    """What the middleware keeps of one exchange while it runs (event loop only)."""

    scope: Scope
    max_request_bytes: int
    max_response_bytes: int
    started_at: float = field(default_factory=time.time)
    started: float = field(default_factory=time.perf_counter)
    request_body: bytearray = field(default_factory=bytearray)
    request_truncated: bool = False
    status: int | None = None
    response_headers: tuple[tuple[str, str], ...] = ()
    chunks: list[BodyChunk] = field(default_factory=list)
    response_bytes: int = 0
    response_truncated: bool = False
    body_tail: bytes = b""
    complete: bool = False
    disconnected: bool = False
    error: str | None = None
    announced: bool = False

    @classmethod
    def of(cls, scope: Scope, max_request_bytes: int, max_response_bytes: int) -> _Capture:
        return cls(scope, max_request_bytes, max_response_bytes)

    def add_request_body(self, body: bytes) -> None:
        room = self.max_request_bytes - len(self.request_body)
        if len(body) > room:
            self.request_truncated = True
        self.request_body += body[: max(room, 0)]

    def start_response(self, message: Message) -> None:
        self.status = message["status"]
        self.response_headers = without_secret_headers(_decode(message.get("headers", ())))

    def add_response_body(self, message: Message) -> None:
        body: bytes = message.get("body", b"")
        if not message.get("more_body", False):
            self.complete = True
        if body:
            self.body_tail = (self.body_tail + body)[-_TAIL_BYTES:]
        room = self.max_response_bytes - self.response_bytes
        if len(body) > room:
            self.response_truncated = True
            body = body[: max(room, 0)]
        if body:
            self.response_bytes += len(body)
            self.chunks.append(BodyChunk(self._elapsed_ms(), bytes(body)))

    def fail(self, exc: BaseException) -> None:
        # The server cancels the app, or the app's send fails, when the client goes away.
        if isinstance(exc, ClientDisconnect | OSError | asyncio.CancelledError):
            self.disconnected = True
        self.error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__

    def stream_ended(self) -> bool:
        """The body sent so far ends with an event stream's terminator."""
        last_event = self.body_tail.rstrip().rpartition(b"\n\n")[2]
        return last_event.lstrip().startswith(STREAM_TERMINATORS)

    def request(self) -> Exchange:
        return Exchange(
            method=self.scope.get("method", "GET"),
            path=self.scope["path"],
            query=bytes(self.scope.get("query_string", b"")).decode("latin-1"),
            request_headers=without_secret_headers(_decode(self.scope.get("headers", ()))),
            request_body=bytes(self.request_body),
            request_truncated=self.request_truncated,
            started_at=self.started_at,
        )

    def finish(self) -> Exchange:
        status, error = self.status, self.error
        if not self.complete and self.disconnected and self.stream_ended():
            error = None  # the client left after the last event, not before it
        elif not self.complete or status is None:
            # A response cut short: by the client leaving, or by the app failing.
            status = CLIENT_CLOSED_REQUEST if self.disconnected else 500
            error = error or ("client disconnected" if self.disconnected else "no response")
        return dataclasses.replace(
            self.request(),
            status=status,
            response_headers=self.response_headers,
            chunks=tuple(self.chunks),
            response_truncated=self.response_truncated,
            latency_ms=self._elapsed_ms(),
            error=error,
        )

    def _elapsed_ms(self) -> float:
        return (time.perf_counter() - self.started) * 1000


def _decode(headers: Sequence[tuple[bytes, bytes]]) -> tuple[tuple[str, str], ...]:
    return tuple((bytes(k).decode("latin-1"), bytes(v).decode("latin-1")) for k, v in headers)
