"""Snapshots of what clients read: the output and error files' lines and the Batch object,
each also parsed by the official openai SDK's own types."""

from __future__ import annotations

import dataclasses
from typing import Any

import orjson
import pytest
from openai.types import Batch, FileObject

from api_server.batches.output import CANCELLED, EXPIRED, response_line, unrun_line
from api_server.batches.protocol import batch_list, batch_object
from api_server.batchstore.records import BatchRecord, FileRecord
from api_server.files_api.protocol import file_list, file_object


def without_id(line: bytes) -> dict[str, Any]:
    item: dict[str, Any] = orjson.loads(line)
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    assert item.pop("id").startswith("batch_req_")
    return item


def test_an_answer_line() -> None:
    body = {"id": "chatcmpl-1", "object": "chat.completion", "choices": []}
    assert without_id(response_line("req-1", 200, "abc123", body)) == {
        "custom_id": "req-1",
        "response": {"status_code": 200, "request_id": "abc123", "body": body},
        "error": None,
    }


@pytest.mark.parametrize(
    ("why", "code", "message"),
    [
        (
            EXPIRED,
            "batch_expired",
            "This request could not be executed before the completion window expired.",
        ),
        (
            CANCELLED,
            "batch_cancelled",
            "This request was not executed because the batch was cancelled.",
        ),
    ],
)
def test_a_request_never_run(why: tuple[str, str], code: str, message: str) -> None:
    assert without_id(unrun_line("req-9", why)) == {
        "custom_id": "req-9",
        "response": None,
        "error": {"code": code, "message": message},
    }


RECORD = BatchRecord(
    id="batch_1",
    owner="key:k",
    endpoint="/v1/chat/completions",
    model="tiny",
    input_file_id="file-in",
    input_object_key="files/x/file-in",
    completion_window="24h",
    status="completed",
    total=3,
    created_at=1000.9,
    expires_at=87400.9,
    metadata={"job": "nightly"},
    completed=2,
    failed=1,
    input_tokens=30,
    output_tokens=12,
    output_file_id="file-out",
    error_file_id="file-err",
    in_progress_at=1001.2,
    finalizing_at=1050.0,
    completed_at=1051.0,
)


def test_the_batch_object() -> None:
    assert batch_object(RECORD) == {
        "id": "batch_1",
        "object": "batch",
        "endpoint": "/v1/chat/completions",
        "model": "tiny",
        "errors": None,
        "input_file_id": "file-in",
        "completion_window": "24h",
        "status": "completed",
        "output_file_id": "file-out",
        "error_file_id": "file-err",
        "created_at": 1000,
        "in_progress_at": 1001,
        "expires_at": 87400,
        "finalizing_at": 1050,
        "completed_at": 1051,
        "failed_at": None,
        "expired_at": None,
        "cancelling_at": None,
        "cancelled_at": None,
        "request_counts": {"total": 3, "completed": 2, "failed": 1},
        "usage": {
            "input_tokens": 30,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": 12,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": 42,
        },
        "metadata": {"job": "nightly"},
    }
    parsed = Batch.model_validate(batch_object(RECORD))
    assert parsed.request_counts is not None and parsed.request_counts.failed == 1
    assert parsed.usage is not None and parsed.usage.total_tokens == 42


def test_batch_errors_are_a_list_object() -> None:
    problem = {"code": "input_file_missing", "message": "gone", "param": "input_file_id"}
    failed = dataclasses.replace(RECORD, status="failed", errors=[problem])
    parsed = Batch.model_validate(batch_object(failed))
    assert parsed.errors is not None and parsed.errors.data is not None
    assert parsed.errors.data[0].code == "input_file_missing"


def test_lists_say_where_they_end() -> None:
    records = [RECORD, RECORD, RECORD]
    assert {k: v for k, v in batch_list(records, 2).items() if k != "data"} == {
        "object": "list",
        "first_id": "batch_1",
        "last_id": "batch_1",
        "has_more": True,
    }
    assert batch_list([], 20) == {
        "object": "list",
        "data": [],
        "first_id": None,
        "last_id": None,
        "has_more": False,
    }
    file = FileRecord("file-1", "anonymous", "batch", "in.jsonl", 12, 5.5, "files/x/file-1")
    assert file_list([file], 1)["has_more"] is False


def test_the_file_object() -> None:
    file = FileRecord("file-1", "anonymous", "batch", "in.jsonl", 12, 5.5, "files/x/file-1")
    assert file_object(file) == {
        "id": "file-1",
        "object": "file",
        "bytes": 12,
        "created_at": 5,
        "filename": "in.jsonl",
        "purpose": "batch",
        "status": "processed",
        "status_details": None,
        "expires_at": None,
    }
    assert FileObject.model_validate(file_object(file)).purpose == "batch"
