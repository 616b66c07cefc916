"""`MessageLogger`: every finished exchange as one JSON line (request and response bodies
parsed where they are JSON; a stream as its events plus the text they assemble), in a
rotating file that several gateway workers may share (see shared_file.py). For reading
conversations back, not for re-sending them (see event_recorder).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from api_server.interceptors.exchange import Exchange
from api_server.interceptors.text import (
    is_event_stream,
    parse_json,
    response_text,
    sse_payloads,
)
from api_server.shared_file import SharedAppendFile


class MessageLogger:
    def __init__(self, path: Path, max_bytes: int, backup_count: int) -> None:
        self._file = SharedAppendFile(path, max_bytes, backup_count)

    def on_exchange_start(self, exchange: Exchange) -> None:
        """Only finished exchanges are logged."""

    def on_exchange_end(self, exchange: Exchange) -> None:
        self._file.append(orjson.dumps(message_record(exchange)) + b"\n")

    def close(self) -> None:
        self._file.close()


def message_record(exchange: Exchange) -> dict[str, Any]:
    content_type = exchange.response_header("content-type")
    body = exchange.response_body
    response: dict[str, Any]
    if is_event_stream(content_type):
        response = {"events": sse_payloads(body), "text": response_text(content_type, body)}
    else:
        response = {"body": _body(body)}
    record: dict[str, Any] = {
        "time": datetime.fromtimestamp(exchange.started_at, UTC).isoformat(),
        "request_id": exchange.response_header("x-request-id"),
        "session_id": exchange.response_header("x-session-id"),
        "method": exchange.method,
        "path": exchange.path,
        "status": exchange.status,
        "latency_ms": round(exchange.latency_ms or 0.0, 1),
        "request": _body(exchange.request_body),
        "response": response,
    }
    if exchange.query:
        record["query"] = exchange.query
    if exchange.request_truncated or exchange.response_truncated:
        record["truncated"] = True
    if exchange.error:
        record["error"] = exchange.error
    return record


def _body(body: bytes) -> Any:
    """The parsed JSON, else the text (None for an empty body)."""
    if not body:
        return None
    parsed = parse_json(body)
    return parsed if parsed is not None else body.decode("utf-8", errors="replace")
