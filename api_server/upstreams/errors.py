"""A hosted upstream's error answer in the gateway's error tree, so a translating front
door renders it in its own client's envelope."""

from __future__ import annotations

from api_server.engines.failures import error_for_status, error_message
from api_server.errors import (
    AuthenticationError,
    EngineOverloadedError,
    EngineUnavailableError,
    InferstackError,
    ModelNotFoundError,
    PermissionDeniedError,
)
from api_server.upstreams.retry import parse_retry_after


def upstream_error(
    label: str, status: int, content: bytes, retry_after: str | None
) -> InferstackError:
    message = error_message(content)
    if status == 401:
        return AuthenticationError(f"Upstream {label} refused the credentials: {message}")
    if status == 403:
        return PermissionDeniedError(f"Upstream {label} refused the request: {message}")
    if status == 404:
        return ModelNotFoundError(f"Upstream {label} answered 404: {message}", param="model")
    if status == 429:
        return EngineOverloadedError(
            f"Upstream {label} is rate limiting: {message}",
            retry_after_s=parse_retry_after(retry_after),
        )
    if status == 529:  # Anthropic's overloaded: unavailable for now (529 again to its clients)
        return EngineUnavailableError(f"Upstream {label} is overloaded: {message}")
    return error_for_status(label, status, content, retry_after)
