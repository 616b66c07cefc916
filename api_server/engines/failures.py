"""Engine and upstream failures in the gateway's one error tree: an error answer (its
status and body), or a failure of the connection itself (before or during the answer)."""

from __future__ import annotations

import os
from typing import Any

import aiohttp
import orjson

from api_server.errors import (
    ContextLengthExceededError,
    EngineError,
    EngineOverloadedError,
    EngineResponseError,
    EngineTimeoutError,
    EngineUnavailableError,
    InvalidRequestError,
)

_CONTEXT_ERROR_HINTS = ("context", "too long", "exceed")


def transport_error(
    exc: aiohttp.ClientError | TimeoutError, who: str, timeout_s: float, *, answering: bool
) -> EngineError:
    """A network failure talking to `who` ("Engine llamacpp#0"): before its answer began
    the request may go elsewhere (unavailable, 503) or took too long (504); once it was
    answering, the answer is broken (502)."""
    if isinstance(exc, TimeoutError):
        return EngineTimeoutError(f"{who} did not answer within {timeout_s:g}s")
    if answering:
        return EngineResponseError(f"{who} dropped the stream ({type(exc).__name__})")
    if isinstance(exc, aiohttp.ClientConnectorError):
        # The errno's text ("Connection refused"), not the error's own: asyncio's names the
        # engine's address ("Connect call failed ('10.0.0.5', 8000)").
        number = exc.os_error.errno
        reason = os.strerror(number) if number else type(exc.os_error).__name__
        return EngineUnavailableError(f"{who} is not reachable ({reason})")
    return EngineUnavailableError(f"{who} failed before answering ({type(exc).__name__})")


def error_for_status(
    label: str, status: int, content: bytes, retry_after: str | None
) -> EngineError | InvalidRequestError:
    """An engine's error answer in the gateway's error tree."""
    message = error_message(content)
    if status == 429:
        return EngineOverloadedError(
            f"Engine {label} is overloaded: {message}",
            retry_after_s=_seconds(retry_after),
        )
    if status == 503:
        return EngineUnavailableError(f"Engine {label} is unavailable: {message}")
    if status in (400, 413, 422):
        if any(hint in message.lower() for hint in _CONTEXT_ERROR_HINTS):
            return ContextLengthExceededError(
                f"This model's context window was exceeded: {message}", param="messages"
            )
        return InvalidRequestError(f"The engine rejected the request: {message}")
    if status == 504:
        return EngineTimeoutError(f"Engine {label} timed out: {message}")
    return EngineResponseError(f"Engine {label} answered {status}: {message}")


def error_message(content: bytes) -> str:
    """The message of an error answer: its JSON `error.message`, else its first bytes."""
    return payload_error_message(json_or_none(content)) or content[:300].decode(errors="replace")


def json_or_none(content: bytes) -> Any:
    try:
        return orjson.loads(content)
    except orjson.JSONDecodeError:
        return None


def payload_error_message(payload: Any) -> str:
    if not isinstance(payload, dict):
        return ""
    error = payload.get("error", payload)
    if isinstance(error, dict):
        return str(error.get("message") or error)
    return str(error)


def _seconds(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None
