"""The recording format shared by the event recorder (writes) and `inferstack replay`
(reads): one `RecordedExchange` per JSONL line. Bodies are text when they are UTF-8, else
base64. Credentials never enter a recording: `exchange.SECRET_HEADERS` are dropped on the way in.
A body cut to the recorder's cap is marked `request_truncated` / `response_truncated`."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ValidationError

from api_server.interceptors.exchange import (
    BodyChunk,
    Exchange,
    Headers,
    without_secret_headers,
)

FORMAT_VERSION = 1

Encoding = Literal["text", "base64"]


class RecordedChunk(BaseModel):
    offset_ms: float
    data: str
    encoding: Encoding = "text"

    @classmethod
    def from_chunk(cls, chunk: BodyChunk) -> RecordedChunk:
        data, encoding = encode_body(chunk.data)
        return cls(offset_ms=round(chunk.offset_ms, 3), data=data, encoding=encoding)

    def raw(self) -> bytes:
        return decode_body(self.data, self.encoding)


class RecordedExchange(BaseModel):
    version: int = FORMAT_VERSION
    time: datetime
    method: str
    path: str
    query: str = ""
    request_headers: list[tuple[str, str]]
    request_body: str = ""
    request_body_encoding: Encoding = "text"
    request_truncated: bool = False
    status: int
    response_headers: list[tuple[str, str]]
    chunks: list[RecordedChunk]
    response_truncated: bool = False
    latency_ms: float
    error: str | None = None

    @classmethod
    def from_exchange(cls, exchange: Exchange) -> RecordedExchange:
        body, encoding = encode_body(exchange.request_body)
        return cls(
            time=datetime.fromtimestamp(exchange.started_at, UTC),
            method=exchange.method,
            path=exchange.path,
            query=exchange.query,
            request_headers=without_secrets(exchange.request_headers),
            request_body=body,
            request_body_encoding=encoding,
            request_truncated=exchange.request_truncated,
            status=exchange.status or 0,
            response_headers=without_secrets(exchange.response_headers),
            chunks=[RecordedChunk.from_chunk(chunk) for chunk in exchange.chunks],
            response_truncated=exchange.response_truncated,
            latency_ms=round(exchange.latency_ms or 0.0, 3),
            error=exchange.error,
        )

    def request_bytes(self) -> bytes:
        return decode_body(self.request_body, self.request_body_encoding)

    def response_bytes(self) -> bytes:
        return b"".join(chunk.raw() for chunk in self.chunks)

    def response_header(self, name: str) -> str | None:
        name = name.lower()
        return next((v for k, v in self.response_headers if k.lower() == name), None)


class RecordingError(ValueError):
    """A recording line that is not a RecordedExchange."""


def read_recording(path: Path) -> Iterator[RecordedExchange]:
    with path.open("rb") as file:
        for number, line in enumerate(file, start=1):
            if not line.strip():
                continue
            try:
                yield RecordedExchange.model_validate_json(line)
            except ValidationError as exc:
                raise RecordingError(f"{path}:{number}: not a recorded exchange: {exc}") from exc


def without_secrets(headers: Headers) -> list[tuple[str, str]]:
    """Again here: a recording is written from exchanges built elsewhere too (tests, tools)."""
    return list(without_secret_headers(headers))


def encode_body(body: bytes) -> tuple[str, Encoding]:
    try:
        return body.decode("utf-8"), "text"
    except UnicodeDecodeError:
        return base64.b64encode(body).decode("ascii"), "base64"


def decode_body(data: str, encoding: Encoding) -> bytes:
    return base64.b64decode(data) if encoding == "base64" else data.encode("utf-8")
