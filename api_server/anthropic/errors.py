"""The gateway's errors in Anthropic's envelope: `{"type": "error", "error": {"type",
"message"}}`, with the status codes Anthropic documents.

| gateway error                     | status | Anthropic type          |
| --------------------------------- | ------ | ----------------------- |
| InvalidRequestError (and kin)     | 400    | invalid_request_error   |
| 401 / 403 (HTTP errors)           | same   | authentication_error / permission_error |
| ModelNotFoundError, unknown route | 404    | not_found_error         |
| RequestTooLargeError              | 413    | request_too_large       |
| EngineOverloadedError             | 429    | rate_limit_error        |
| EngineUnavailableError (503)      | 529    | overloaded_error        |
| QueueTimeoutError (503)           | 529    | overloaded_error        |
| EngineTimeoutError                | 504    | timeout_error           |
| EngineResponseError               | 502    | api_error               |
| anything else                     | 500    | api_error               |

Engine 503 becomes 529: Anthropic documents no 503, and its clients know 529 as "busy, back
off and retry" (the SDK retries it), which is what a loading or unreachable engine means, and
a request that waited its longest in the admission queue.
"""

from __future__ import annotations

from typing import Any

from api_server.errors import EngineUnavailableError, InferstackError, QueueTimeoutError

_TYPES_BY_STATUS = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    504: "timeout_error",
    529: "overloaded_error",
}
OVERLOADED_STATUS = 529


def anthropic_status(error: InferstackError) -> int:
    if isinstance(error, EngineUnavailableError | QueueTimeoutError):
        return OVERLOADED_STATUS
    return error.status_code


def anthropic_error_body(error: InferstackError) -> dict[str, Any]:
    error_type = _TYPES_BY_STATUS.get(anthropic_status(error), "api_error")
    if error.status_code < 500 and error_type == "api_error":
        error_type = "invalid_request_error"  # e.g. 405, 422: still the client's to fix
    return {"type": "error", "error": {"type": error_type, "message": error.message}}


def anthropic_envelope(error: InferstackError) -> tuple[int, dict[str, Any]]:
    """The status and body of an error response (see `api_server.error_handlers.envelope_for`)."""
    return anthropic_status(error), anthropic_error_body(error)
