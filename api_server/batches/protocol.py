"""The Batch API's wire shapes: the create request, and OpenAI's `Batch` object built from
a batch's row."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from api_server.batchstore.records import BatchRecord
from api_server.files_api.protocol import cursor_page
from api_server.validation import LenientModel

# The endpoints a batch may run, each through its own front door (batches/execute.py).
ENDPOINTS = ("/v1/chat/completions", "/v1/completions", "/v1/embeddings")
COMPLETION_WINDOWS_S = {"24h": 24 * 3600}  # OpenAI's only window
LIST_LIMIT_DEFAULT, LIST_LIMIT_MAX = 20, 100
# OpenAI's metadata limits.
METADATA_MAX_KEYS, METADATA_MAX_KEY_CHARS, METADATA_MAX_VALUE_CHARS = 16, 64, 512


class BatchCreateRequest(LenientModel):
    input_file_id: str = Field(min_length=1)
    endpoint: str
    completion_window: str
    metadata: dict[str, str] | None = None


class RequestCounts(BaseModel):
    total: int
    completed: int
    failed: int


class BatchErrorItem(BaseModel):
    code: str | None = None
    message: str | None = None
    param: str | None = None
    line: int | None = None


class BatchErrors(BaseModel):
    object: Literal["list"] = "list"
    data: list[BatchErrorItem]


class BatchObject(BaseModel):
    """OpenAI's `Batch` (what the SDK's `client.batches.*` parse)."""

    id: str
    object: Literal["batch"] = "batch"
    endpoint: str
    model: str | None = None
    errors: BatchErrors | None = None
    input_file_id: str
    completion_window: str
    status: str
    output_file_id: str | None = None
    error_file_id: str | None = None
    created_at: int
    in_progress_at: int | None = None
    expires_at: int | None = None
    finalizing_at: int | None = None
    completed_at: int | None = None
    failed_at: int | None = None
    expired_at: int | None = None
    cancelling_at: int | None = None
    cancelled_at: int | None = None
    request_counts: RequestCounts
    usage: dict[str, Any] | None = None
    metadata: dict[str, str] | None = None


class BatchList(BaseModel):
    object: Literal["list"] = "list"
    data: list[BatchObject]
    first_id: str | None
    last_id: str | None
    has_more: bool


def batch_object(record: BatchRecord) -> dict[str, Any]:
    def unix(value: float | None) -> int | None:
        return None if value is None else int(value)

    return {
        "id": record.id,
        "object": "batch",
        "endpoint": record.endpoint,
        "model": record.model,
        "errors": {"object": "list", "data": record.errors} if record.errors else None,
        "input_file_id": record.input_file_id,
        "completion_window": record.completion_window,
        "status": record.status,
        "output_file_id": record.output_file_id,
        "error_file_id": record.error_file_id,
        "created_at": int(record.created_at),
        "in_progress_at": unix(record.in_progress_at),
        "expires_at": unix(record.expires_at),
        "finalizing_at": unix(record.finalizing_at),
        "completed_at": unix(record.completed_at),
        "failed_at": unix(record.failed_at),
        "expired_at": unix(record.expired_at),
        "cancelling_at": unix(record.cancelling_at),
        "cancelled_at": unix(record.cancelled_at),
        "request_counts": {
            "total": record.total,
            "completed": record.completed,
            "failed": record.failed,
        },
        "usage": {
            "input_tokens": record.input_tokens,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": record.output_tokens,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": record.input_tokens + record.output_tokens,
        },
        "metadata": record.metadata,
    }


def batch_list(records: list[BatchRecord], limit: int) -> dict[str, Any]:
    return cursor_page([batch_object(record) for record in records[:limit]], len(records) > limit)
