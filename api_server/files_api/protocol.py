"""The Files API's wire shapes (OpenAI's `FileObject`, its list and deletion answers), and
what the OpenAPI document shows of the multipart upload."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel

from api_server.batchstore.records import FileRecord

UPLOAD_PURPOSES = ("batch",)  # what a client may upload; batches write "batch_output"
LIST_LIMIT_DEFAULT = 10_000  # OpenAI's default and maximum


class FileObject(BaseModel):
    id: str
    object: Literal["file"] = "file"
    bytes: int
    created_at: int
    filename: str
    purpose: str
    status: Literal["processed"] = "processed"
    status_details: str | None = None
    expires_at: int | None = None


class FileList(BaseModel):
    object: Literal["list"] = "list"
    data: list[FileObject]
    first_id: str | None
    last_id: str | None
    has_more: bool


class FileDeleted(BaseModel):
    id: str
    object: Literal["file"] = "file"
    deleted: bool


def file_object(record: FileRecord) -> dict[str, Any]:
    return FileObject(
        id=record.id,
        bytes=record.bytes,
        created_at=int(record.created_at),
        filename=record.filename,
        purpose=record.purpose,
    ).model_dump()


def file_list(records: list[FileRecord], limit: int) -> dict[str, Any]:
    return cursor_page([file_object(record) for record in records[:limit]], len(records) > limit)


def cursor_page(page: list[dict[str, Any]], has_more: bool) -> dict[str, Any]:
    """OpenAI's cursor-paginated list (the SDK asks for the next page `after` last_id)."""
    return {
        "object": "list",
        "data": page,
        "first_id": page[0]["id"] if page else None,
        "last_id": page[-1]["id"] if page else None,
        "has_more": has_more,
    }


UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file", "purpose"],
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "purpose": {"type": "string", "enum": list(UPLOAD_PURPOSES)},
                    },
                }
            }
        },
    }
}
