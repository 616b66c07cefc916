"""The rows the Files and Batch APIs keep, as the service and the runner see them. Times are
Unix seconds (floats); the repositories turn them into `timestamptz` and back."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from typing import Any, Literal

# Whose files and batches: a caller's tenant, or this for callers without one (auth off),
# who all share it. No tenant is spelled like it ("key:…", "jwt:…", "admin").
ANONYMOUS_OWNER = "anonymous"

BatchStatus = Literal[
    "validating",
    "failed",
    "in_progress",
    "finalizing",
    "completed",
    "expired",
    "cancelling",
    "cancelled",
]
# A runner still has work to do on a batch in these.
ACTIVE_STATUSES: tuple[BatchStatus, ...] = ("validating", "in_progress", "finalizing", "cancelling")
# A batch in these may be cancelled.
CANCELLABLE_STATUSES: tuple[BatchStatus, ...] = ("validating", "in_progress")


# Every id we mint (file-<hex>, batch_<hex>) fits; anything else names nothing we store.
_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")


def plausible_id(value: str) -> bool:
    """Could be one of our ids: an id that cannot is answered as absent without a query."""
    return _ID.fullmatch(value) is not None


def storable(text: str) -> bool:
    """PostgreSQL text takes it: no NUL, no lone surrogate (which UTF-8 cannot encode)."""
    if "\x00" in text:
        return False
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def owner_of(tenant: str | None) -> str:
    return tenant if tenant is not None else ANONYMOUS_OWNER


def tenant_of(owner: str) -> str | None:
    return None if owner == ANONYMOUS_OWNER else owner


def new_file_id() -> str:
    return f"file-{uuid.uuid4().hex}"


def new_batch_id() -> str:
    return f"batch_{uuid.uuid4().hex}"


def new_batch_request_id() -> str:
    """The `id` of one line of a batch's output file."""
    return f"batch_req_{uuid.uuid4().hex}"


@dataclass(frozen=True, slots=True)
class FileRecord:
    id: str
    owner: str
    purpose: str  # batch (uploaded) | batch_output (a batch's output or error file)
    filename: str
    bytes: int
    created_at: float
    object_key: str


@dataclass(frozen=True, slots=True)
class BatchRecord:
    id: str
    owner: str
    endpoint: str
    model: str
    input_file_id: str
    input_object_key: str
    completion_window: str
    status: BatchStatus
    total: int
    created_at: float
    expires_at: float
    api_key_id: str | None = None  # the creator's key, for its lines' request-log rows
    metadata: dict[str, str] | None = None
    completed: int = 0
    failed: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    output_file_id: str | None = None
    error_file_id: str | None = None
    errors: list[dict[str, Any]] | None = None
    in_progress_at: float | None = None
    finalizing_at: float | None = None
    completed_at: float | None = None
    failed_at: float | None = None
    expired_at: float | None = None
    cancelling_at: float | None = None
    cancelled_at: float | None = None


@dataclass(frozen=True, slots=True)
class LineResult:
    """One finished line: its output-file line (`output`, JSON and a newline) and whether
    it goes to the output file (`ok`: a 2xx answer) or the error file."""

    line: int  # 1-based line number in the input file
    custom_id: str
    ok: bool
    output: bytes
    input_tokens: int = 0
    output_tokens: int = 0


@dataclass(frozen=True, slots=True)
class BatchEnd:
    """How a batch ends: its last status, the time it got there, the files it leaves (rows
    to insert with the batch's update, their objects already written) and batch errors."""

    status: BatchStatus
    at: float
    output_file: FileRecord | None = None
    error_file: FileRecord | None = None
    errors: list[dict[str, Any]] = field(default_factory=list)
