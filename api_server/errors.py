"""The gateway's one error tree. Each front door renders it in its own envelope.

InferstackError                   500 server_error
├── InvalidRequestError           400 invalid_request_error
│   ├── ContextLengthExceededError 400 code=context_length_exceeded
│   ├── UnsupportedFeatureError   400 (e.g. n > 1, images for a text-only model)
│   └── InvalidSchemaError        400 code=invalid_schema (a client's JSON schema refused)
├── AuthenticationError           401 code=invalid_api_key (missing, unknown, revoked, expired)
├── PermissionDeniedError         403 code=model_not_allowed (outside the key's allowlist)
│   └── LogsAccessDeniedError     403 code=logs_access_denied (logs API with auth off)
├── ModelNotFoundError            404 code=model_not_found
├── LogNotFoundError              404 code=not_found (GET /v1/logs/{id})
├── KeyNotFoundError              404 code=not_found (DELETE /v1/admin/keys/{id})
├── StoredFileNotFoundError       404 code=not_found (/v1/files/{id}, or another tenant's)
├── BatchNotFoundError            404 code=not_found (/v1/batches/{id}, or another tenant's)
├── ResponseNotFoundError         404 code=not_found (a stored response: unknown, or another's)
├── RequestTooLargeError          413
├── UnsupportedMediaTypeError     415 (a JSON route's body sent as anything but JSON)
├── RateLimitExceededError        429 (the caller's rpm/tpm; carries x-ratelimit-* headers)
│   └── ModelOverloadedError      429 (the model's max_concurrency in this gateway process)
│       └── QueueFullError        429 code=queue_full (the model's admission queue is full)
├── ClientGoneError               499 (nginx's "client closed request"; sent to nobody)
├── LogsUnavailableError          503 (PostgreSQL down or not configured: logs cannot be read)
├── AuthUnavailableError          503 (a key cannot be checked: PostgreSQL or the JWKS is down)
├── EmbeddingsUnavailableError    503 (no embedding model: extra not installed, or not configured)
├── BatchesUnavailableError       503 (files, batches: PostgreSQL or object store missing/down)
├── ResponsesUnavailableError     503 (PostgreSQL down: stored responses cannot be read or written)
├── QueueTimeoutError             503 code=queue_timeout (waited the longest a request may queue)
└── EngineError                   upstream trouble, never reported as a plain 500
    ├── EngineUnavailableError    503 (connection refused, engine loading, no healthy replica)
    ├── EngineOverloadedError     429 (engine said 429; carries its Retry-After)
    ├── EngineTimeoutError        504
    │   └── RequestTimeoutError   504 code=request_timeout (the whole request, request_timeout_s)
    └── EngineResponseError       502 (engine answered with an error or garbage)
"""

from __future__ import annotations


class InferstackError(Exception):
    status_code = 500
    error_type = "server_error"
    code: str | None = None

    def __init__(
        self,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        retry_after_s: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        if code is not None:
            self.code = code
        self.retry_after_s = retry_after_s
        # Response headers the error carries (x-ratelimit-*, X-Session-ID).
        self.headers: dict[str, str] = {}


class InvalidRequestError(InferstackError):
    status_code = 400
    error_type = "invalid_request_error"


class ContextLengthExceededError(InvalidRequestError):
    code = "context_length_exceeded"


class UnsupportedFeatureError(InvalidRequestError):
    code = "unsupported_parameter"


class InvalidSchemaError(InvalidRequestError):
    """A JSON schema the client sent (a tool's parameters) is not a valid JSON Schema, or
    is one the gateway will not run: a reference outside it, a pattern RE2 cannot compile,
    past the size limits."""

    code = "invalid_schema"


class AuthenticationError(InferstackError):
    status_code = 401
    error_type = "authentication_error"
    code = "invalid_api_key"

    def __init__(self, message: str, *, reason: str = "invalid_credentials") -> None:
        super().__init__(message)
        # Why, for the audit log and inferstack_auth_failures_total: one of a few fixed
        # words (missing, malformed_key, unknown_key, invalid_token, unknown_kid, ...).
        self.reason = reason


class PermissionDeniedError(InferstackError):
    status_code = 403
    error_type = "permission_error"
    code = "model_not_allowed"


class LogsAccessDeniedError(PermissionDeniedError):
    """The logs API refuses an anonymous caller unless logs_api_allow_anonymous."""

    code = "logs_access_denied"


class AuthUnavailableError(InferstackError):
    status_code = 503
    error_type = "service_unavailable"
    code = "auth_unavailable"


class ModelNotFoundError(InferstackError):
    status_code = 404
    error_type = "invalid_request_error"
    code = "model_not_found"


class LogsUnavailableError(InferstackError):
    """PostgreSQL is down or not configured: the logs cannot be read right now."""

    status_code = 503
    error_type = "service_unavailable"
    code = "logs_unavailable"


class EmbeddingsUnavailableError(InferstackError):
    status_code = 503
    error_type = "service_unavailable"
    code = "embeddings_unavailable"


class LogNotFoundError(InferstackError):
    status_code = 404
    error_type = "invalid_request_error"
    code = "not_found"


class KeyNotFoundError(InferstackError):
    status_code = 404
    error_type = "invalid_request_error"
    code = "not_found"


class StoredFileNotFoundError(InferstackError):
    status_code = 404
    error_type = "invalid_request_error"
    code = "not_found"


class BatchNotFoundError(InferstackError):
    status_code = 404
    error_type = "invalid_request_error"
    code = "not_found"


class BatchesUnavailableError(InferstackError):
    """The Files and Batch APIs need PostgreSQL and an object store: one is not configured,
    or is down right now."""

    status_code = 503
    error_type = "service_unavailable"
    code = "batches_unavailable"


class ResponseNotFoundError(InferstackError):
    """A stored response (Responses API) that does not exist for this caller: never stored,
    deleted, or another tenant's (404 either way, so ids reveal nothing)."""

    status_code = 404
    error_type = "invalid_request_error"
    code = "not_found"


class ResponsesUnavailableError(InferstackError):
    """PostgreSQL is down: stored responses cannot be read or written right now."""

    status_code = 503
    error_type = "service_unavailable"
    code = "responses_unavailable"


class RequestTooLargeError(InferstackError):
    status_code = 413
    error_type = "invalid_request_error"
    code = "request_too_large"


class UnsupportedMediaTypeError(InferstackError):
    status_code = 415
    error_type = "invalid_request_error"
    code = "unsupported_media_type"


class RateLimitExceededError(InferstackError):
    status_code = 429
    error_type = "rate_limit_error"
    code = "rate_limit_exceeded"

    def __init__(
        self,
        message: str,
        *,
        retry_after_s: float | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message, retry_after_s=retry_after_s)
        self.headers.update(headers or {})


class ModelOverloadedError(RateLimitExceededError):
    code = "model_overloaded"


class QueueFullError(ModelOverloadedError):
    """Every replica of the model is busy and its admission queue holds its maximum of
    waiting requests (api_server/admission)."""

    code = "queue_full"


class QueueTimeoutError(InferstackError):
    """A request waited in the model's admission queue for as long as it may (the queue's
    maximum wait, or what was left of the request's own timeout) without a free slot."""

    status_code = 503
    error_type = "service_unavailable"
    code = "queue_timeout"


class ClientGoneError(InferstackError):
    status_code = 499
    error_type = "client_closed_request"


class EngineError(InferstackError):
    """The inference engine failed us; the client's request may be fine."""

    status_code = 502
    error_type = "engine_error"


class EngineUnavailableError(EngineError):
    status_code = 503
    error_type = "service_unavailable"
    code = "engine_unavailable"


class EngineOverloadedError(EngineError):
    status_code = 429
    error_type = "rate_limit_error"
    code = "engine_overloaded"


class EngineTimeoutError(EngineError):
    status_code = 504
    error_type = "timeout_error"
    code = "engine_timeout"


class RequestTimeoutError(EngineTimeoutError):
    """The whole request outlasted the gateway's `request_timeout_s` (the engine's silence
    between two pieces of output is EngineTimeoutError's own `timeout_s`)."""

    code = "request_timeout"


class EngineResponseError(EngineError):
    status_code = 502
    error_type = "engine_error"
    code = "engine_bad_response"


class ToolCallError(EngineResponseError):
    """The model's tool calls break the model's rules in the registry (`tools:`); a 502, as
    the client asked for nothing wrong. Under EngineResponseError in the tree above."""

    code = "tool_call_invalid"


class ToolCallLimitError(ToolCallError):
    """More calls in one turn than `max_parallel_calls` (or 1, with parallel calls off)."""

    code = "tool_call_limit_exceeded"


class ToolArgumentsError(ToolCallError):
    """`strict_arguments`: a call's arguments are not JSON, or break the tool's schema, or
    the tool was never offered."""

    code = "tool_arguments_invalid"
