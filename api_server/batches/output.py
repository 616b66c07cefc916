"""Lines of a batch's output and error files, in OpenAI's format: a request's answer
(`response` with its status, request id and body; `error` null), or a request the batch
never ran (`response` null; `error` with a code and message)."""

from __future__ import annotations

from typing import Any

import orjson

from api_server.batchstore.records import new_batch_request_id

EXPIRED = (
    "batch_expired",
    "This request could not be executed before the completion window expired.",
)
CANCELLED = ("batch_cancelled", "This request was not executed because the batch was cancelled.")


def response_line(custom_id: str, status_code: int, request_id: str, body: Any) -> bytes:
    return _line(
        {
            "id": new_batch_request_id(),
            "custom_id": custom_id,
            "response": {"status_code": status_code, "request_id": request_id, "body": body},
            "error": None,
        }
    )


def unrun_line(custom_id: str, why: tuple[str, str]) -> bytes:
    code, message = why
    return _line(
        {
            "id": new_batch_request_id(),
            "custom_id": custom_id,
            "response": None,
            "error": {"code": code, "message": message},
        }
    )


def _line(item: dict[str, Any]) -> bytes:
    return orjson.dumps(item) + b"\n"
