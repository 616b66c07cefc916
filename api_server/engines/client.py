"""An async client for one engine replica's OpenAI-style `/v1/completions`.

Streams are relayed chunk by chunk, never buffered; leaving the iterator early (the client
went away) closes the upstream response, so the engine stops generating.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson

from api_server.engines.dialects import build_completion_body, parse_completion_chunk
from api_server.engines.types import CompletionChunk, CompletionRequest
from api_server.errors import (
    ContextLengthExceededError,
    EngineError,
    EngineOverloadedError,
    EngineResponseError,
    EngineTimeoutError,
    EngineUnavailableError,
    InvalidRequestError,
)
from api_server.registry import EngineKind

_CONTEXT_ERROR_HINTS = ("context", "too long", "exceed")


class EngineReplica:
    """One running engine process, e.g. `http://127.0.0.1:8080`."""

    def __init__(self, http: httpx.AsyncClient, kind: EngineKind, served_name: str, url: str):
        self.http = http
        self.kind = kind
        self.served_name = served_name
        self.url = url.rstrip("/")
        self.label = f"{kind}@{self.url}"
        self.in_flight = 0
        # llama-server adds BOS itself when the model asks for it; learnt by `probe()`.
        self.adds_bos = False

    async def stream_completion(
        self, request: CompletionRequest, *, timeout_s: float
    ) -> AsyncIterator[CompletionChunk]:
        body = build_completion_body(
            self.kind, self.served_name, request, engine_adds_bos=self.adds_bos
        )
        headers = {"X-Request-ID": request.request_id}
        timeout = httpx.Timeout(timeout_s, connect=self.http.timeout.connect)
        self.in_flight += 1
        try:
            async with self.http.stream(
                "POST",
                f"{self.url}/v1/completions",
                content=orjson.dumps(body),
                headers={**headers, "Content-Type": "application/json"},
                timeout=timeout,
            ) as response:
                if response.status_code != 200:
                    await response.aread()
                    raise self._error_for_status(response)
                async for chunk in self._read_sse(response):
                    yield chunk
        except httpx.TimeoutException as exc:
            raise EngineTimeoutError(
                f"Engine {self.label} did not answer within {timeout_s:g}s"
            ) from exc
        except httpx.TransportError as exc:
            raise EngineUnavailableError(
                f"Engine {self.label} is not reachable ({type(exc).__name__})"
            ) from exc
        finally:
            self.in_flight -= 1

    async def _read_sse(self, response: httpx.Response) -> AsyncIterator[CompletionChunk]:
        async for line in response.aiter_lines():
            if not line.startswith("data:"):
                continue
            data = line[5:].strip()
            if data == "[DONE]":
                return
            try:
                payload = orjson.loads(data)
            except orjson.JSONDecodeError as exc:
                raise EngineResponseError(f"Engine {self.label} sent malformed JSON") from exc
            if "error" in payload:
                raise EngineResponseError(
                    f"Engine {self.label} failed mid-stream: {_error_message(payload)}"
                )
            chunk = parse_completion_chunk(payload)
            if chunk is not None:
                yield chunk

    def _error_for_status(self, response: httpx.Response) -> EngineError | InvalidRequestError:
        message = _error_message(_json_or_none(response.content)) or response.text[:300]
        status = response.status_code
        if status == 429:
            return EngineOverloadedError(
                f"Engine {self.label} is overloaded: {message}",
                retry_after_s=_retry_after(response),
            )
        if status == 503:
            return EngineUnavailableError(f"Engine {self.label} is unavailable: {message}")
        if status in (400, 413, 422):
            if any(hint in message.lower() for hint in _CONTEXT_ERROR_HINTS):
                return ContextLengthExceededError(
                    f"This model's context window was exceeded: {message}", param="messages"
                )
            return InvalidRequestError(f"The engine rejected the request: {message}")
        if status == 504:
            return EngineTimeoutError(f"Engine {self.label} timed out: {message}")
        return EngineResponseError(f"Engine {self.label} answered {status}: {message}")

    async def probe(self, timeout_s: float) -> bool:
        """True when the replica answers its health check (llama.cpp: 503 while loading)."""
        try:
            response = await self.http.get(f"{self.url}/health", timeout=timeout_s)
        except httpx.HTTPError:
            return False
        healthy = response.status_code == 200
        if healthy and self.kind == "llamacpp":
            self.adds_bos = await self._llamacpp_adds_bos(timeout_s)
        return healthy

    async def _llamacpp_adds_bos(self, timeout_s: float) -> bool:
        try:
            response = await self.http.post(
                f"{self.url}/tokenize",
                json={"content": "", "add_special": True},
                timeout=timeout_s,
            )
            return bool(response.json().get("tokens"))
        except (httpx.HTTPError, ValueError):
            return self.adds_bos


def _json_or_none(content: bytes) -> Any:
    try:
        return orjson.loads(content)
    except orjson.JSONDecodeError:
        return None


def _error_message(payload: Any) -> str:
    if not isinstance(payload, dict):
        return ""
    error = payload.get("error", payload)
    if isinstance(error, dict):
        return str(error.get("message") or error)
    return str(error)


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None
