"""Rows of the version-5 tables to records and back: times as `timestamptz`, JSON as text."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import asyncpg
import orjson

from api_server.batchstore.records import BatchRecord, FileRecord

FILE_COLUMNS = "id, owner, purpose, filename, bytes, created_at, object_key"
INSERT_FILE = f"INSERT INTO files ({FILE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"


def timestamp(value: float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, UTC)


def seconds(value: datetime | None) -> float | None:
    return None if value is None else value.timestamp()


def file_values(record: FileRecord) -> tuple[Any, ...]:
    return (
        record.id,
        record.owner,
        record.purpose,
        record.filename,
        record.bytes,
        timestamp(record.created_at),
        record.object_key,
    )


def file_record(row: asyncpg.Record) -> FileRecord:
    return FileRecord(
        id=row["id"],
        owner=row["owner"],
        purpose=row["purpose"],
        filename=row["filename"],
        bytes=row["bytes"],
        created_at=row["created_at"].timestamp(),
        object_key=row["object_key"],
    )


def json_text(value: Any) -> str | None:
    return None if value is None else orjson.dumps(value).decode()


def batch_record(row: asyncpg.Record) -> BatchRecord:
    return BatchRecord(
        id=row["id"],
        owner=row["owner"],
        api_key_id=row["api_key_id"],
        endpoint=row["endpoint"],
        model=row["model"],
        input_file_id=row["input_file_id"],
        input_object_key=row["input_object_key"],
        completion_window=row["completion_window"],
        status=row["status"],
        metadata=orjson.loads(row["metadata"]) if row["metadata"] is not None else None,
        total=row["total"],
        completed=row["completed"],
        failed=row["failed"],
        input_tokens=row["input_tokens"],
        output_tokens=row["output_tokens"],
        output_file_id=row["output_file_id"],
        error_file_id=row["error_file_id"],
        errors=orjson.loads(row["errors"]) if row["errors"] is not None else None,
        created_at=row["created_at"].timestamp(),
        expires_at=row["expires_at"].timestamp(),
        in_progress_at=seconds(row["in_progress_at"]),
        finalizing_at=seconds(row["finalizing_at"]),
        completed_at=seconds(row["completed_at"]),
        failed_at=seconds(row["failed_at"]),
        expired_at=seconds(row["expired_at"]),
        cancelling_at=seconds(row["cancelling_at"]),
        cancelled_at=seconds(row["cancelled_at"]),
    )
